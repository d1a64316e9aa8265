/**
 * Asset-freeze screening for the rest of the contacts service (issue 15): the register's index,
 * built once per publication per process, and the one way to screen a subject and log it.
 *
 *   // screen and log, never refuse (the on-demand button)
 *   const check = await deps.screening.check({ orgId, subject, input, trigger: 'onDemand', by: auth.userId });
 *   // at save: refuses a potential match (409 naming the candidates) unless a manager/admin overrides it
 *   const saved = await deps.screening.guard({ orgId, subject, input, auth, override }, () => save());
 *
 * `subject` is { kind: 'party', id: partyId, partyId } or { kind: 'clientContact', id: contactId, partyId: clientId };
 * `input` is a ScreeningInput (nature, name, birth date and nationality when known).
 */
import { randomUUID } from 'node:crypto';
import { AppError, conflict, forbidden, requireRole, unavailable, type AuthContext, type Logger } from '@relais/shared';
import { SCREENING_DECIDERS, type ReviewDecision, type ScreeningOverride, type ScreeningTrigger } from './contract/screening';
import type { Register } from './data/register';
import type { RescreenJobs, ScreeningLog } from './data/screening';
import { buildIndex, screen, type RegisterEntry, type RegisterIndex, type ScreeningInput } from './domain/screening';
import {
  decisionProblem,
  newCheck,
  overridden,
  refusalMessage,
  reviewDecision,
  statusOf,
  type ScreeningCheckDoc,
  type ScreeningSubject,
} from './domain/screeningChecks';

/** How often the current publication is looked up at most: an import reaches every instance within this. */
export const REGISTER_REFRESH_MS = 5_000;

/** The current publication, ready to screen against. */
export interface LoadedRegister {
  hash: string;
  publishedAt: Date;
  entryCount: number;
  index: RegisterIndex;
  entry: (id: string) => RegisterEntry | undefined;
}

/**
 * The screening index of the current publication, per process: building it reads every entry,
 * so it is built once per publication and kept; the publication document (one small read) is
 * looked up at most every `refreshMs`, and a new hash rebuilds the index. Callers at the same
 * moment share one lookup.
 */
export class RegisterIndexCache {
  private loaded: LoadedRegister | null = null;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private pending: Promise<LoadedRegister | null> | null = null;

  constructor(
    private readonly register: Register,
    private readonly refreshMs = REGISTER_REFRESH_MS,
    private readonly logger?: Logger,
    private readonly now = () => Date.now(),
  ) {}

  /** The current publication's index, or null before the first import. */
  current(): Promise<LoadedRegister | null> {
    if (this.now() - this.checkedAt < this.refreshMs) return Promise.resolve(this.loaded);
    this.pending ??= this.refresh().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  /** Forgets when it last looked: the next call reads the publication again (tests, after an import). */
  expire(): void {
    this.checkedAt = Number.NEGATIVE_INFINITY;
  }

  private async refresh(): Promise<LoadedRegister | null> {
    try {
      const current = await this.register.current();
      if (!current) this.loaded = null;
      else if (current.contentHash !== this.loaded?.hash) {
        this.loaded = await this.load();
        if (this.loaded)
          this.logger?.info({ publishedAt: this.loaded.publishedAt.toISOString(), entries: this.loaded.entryCount }, 'screening: register index built');
      }
      this.checkedAt = this.now();
      return this.loaded;
    } catch (err) {
      // A register that cannot be read: the index in hand (a few seconds old) is better than no screening.
      if (!this.loaded) throw unavailable('The asset-freeze register cannot be read right now; nothing was saved. Retry shortly.');
      this.logger?.warn(
        { err: (err as Error).message, publishedAt: this.loaded.publishedAt.toISOString() },
        'screening: the register could not be read, the publication in hand is kept',
      );
      this.checkedAt = this.now();
      return this.loaded;
    }
  }

  /** Reads the publication and its entries again as one: it may have changed since it was looked up. */
  private async load(): Promise<LoadedRegister | null> {
    const read = await this.register.readCurrent();
    if (!read) return null;
    const { current, publication } = read;
    const byId = new Map(publication.entries.map((e) => [e.id, e]));
    return {
      hash: current.contentHash,
      publishedAt: current.publishedAt,
      entryCount: current.entryCount,
      index: buildIndex(publication),
      entry: (id) => byId.get(id),
    };
  }
}

export interface CheckRequest {
  orgId: string;
  subject: ScreeningSubject;
  input: ScreeningInput;
  trigger: Exclude<ScreeningTrigger, 'rescreen'>;
  /** The user who saved or asked. */
  by: string;
  /** The check's id (derived from an Idempotency-Key); random by default. */
  id?: string;
}

export interface GuardRequest {
  orgId: string;
  subject: ScreeningSubject;
  input: ScreeningInput;
  auth: AuthContext;
  override?: ScreeningOverride | null;
}

/** 403 for an override given by another role than manager or admin, whatever the screening finds. */
export function requireOverrideRole(auth: AuthContext, override: ScreeningOverride | null | undefined): void {
  if (!override) return;
  if (!SCREENING_DECIDERS.includes(auth.role)) {
    throw forbidden(`Only a manager or an admin may save despite a potential asset-freeze match (screeningOverride); your role is ${auth.role}.`);
  }
}

/** Screens subjects against the current publication and logs every check, negative or not. */
export class Screening {
  constructor(
    readonly log: ScreeningLog,
    readonly jobs: RescreenJobs,
    readonly cache: RegisterIndexCache,
    private readonly clock = () => new Date(),
  ) {}

  /** Screens the input now (notScreened before the first import), without logging it. */
  async evaluate(c: Omit<CheckRequest, 'id'> & { id: string }): Promise<ScreeningCheckDoc> {
    const loaded = await this.cache.current();
    return newCheck({
      id: c.id,
      orgId: c.orgId,
      subject: c.subject,
      input: c.input,
      trigger: c.trigger,
      by: c.by,
      at: this.clock(),
      screened: loaded ? { publishedAt: loaded.publishedAt, hash: loaded.hash, result: screen(c.input, loaded.index), entry: loaded.entry } : null,
    });
  }

  /** Screens and logs; never refuses. A retry with the same id answers the check first logged. */
  async check(c: CheckRequest): Promise<ScreeningCheckDoc> {
    const doc = await this.evaluate({ ...c, id: c.id ?? randomUUID() });
    if (!(await this.log.insert(doc))) {
      const first = await this.log.byId(c.orgId, doc._id);
      if (first) return first;
    }
    if (doc.outcome !== 'notScreened') await this.log.saveStatuses([statusOf(doc)]);
    return doc;
  }

  /**
   * Screening at save: logs the check, then runs `save` unless the subject is a potential match.
   * A potential match is refused (409 naming the candidates, nothing saved) unless the request
   * carries an override from a manager or admin (403 for others), logged as the decision
   * `overridden`. Before the first import the save goes on, logged as notScreened. The subject's
   * status is recorded once `save` succeeded.
   */
  async guard<T>(g: GuardRequest, save: () => Promise<T>): Promise<T> {
    requireOverrideRole(g.auth, g.override);
    let doc = await this.evaluate({ orgId: g.orgId, subject: g.subject, input: g.input, trigger: 'save', by: g.auth.userId, id: randomUUID() });
    if (doc.outcome === 'potential') {
      if (g.override) doc = overridden(doc, g.override.reason, g.auth.userId, doc.at);
      else {
        doc = { ...doc, saveRefused: true };
        await this.log.insert(doc);
        throw conflict(refusalMessage(doc));
      }
    }
    await this.log.insert(doc);
    const saved = await save();
    if (doc.outcome !== 'notScreened') await this.log.saveStatuses([statusOf(doc)]);
    return saved;
  }

  /**
   * Records a manager's or admin's decision on a potential-match check of the party (404 for a
   * check of another party or org, 409 for a check without a potential match).
   */
  async decide(auth: AuthContext, partyId: string, checkId: string, decision: ReviewDecision, reason: string): Promise<ScreeningCheckDoc> {
    requireRole(auth, SCREENING_DECIDERS);
    const check = await this.log.byId(auth.orgId, checkId);
    if (!check || check.subject.partyId !== partyId) throw new AppError('Screening check was not found', 404, 'NOT_FOUND');
    const problem = decisionProblem(check);
    if (problem) throw conflict(problem);
    const record = reviewDecision(check, decision, reason, auth.userId, this.clock());
    if (!record) return check;
    return (await this.log.addDecision(auth.orgId, checkId, record)) ?? check;
  }
}
