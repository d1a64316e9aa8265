/**
 * The re-screen of every subject of every org after a new publication of the register (issue 15),
 * in the background of the contacts service.
 *
 * Trigger: each instance polls the publication (the index cache's own lookup, at most every few
 * seconds); a publication without a job gets one, created by a unique insert (the claim: one
 * instance wins). Work goes in pages in _id order, each page's checks inserted under ids derived
 * from (publication, subject) and the job's position and counts updated after it, so a page redone
 * after a crash writes nothing twice. A job whose instance stopped (no heartbeat for `leaseMs`) is
 * taken over by another instance through a unique claim of its next lease, and resumed from its
 * last id. A newer publication supersedes a running job: the new one re-screens everyone anyway.
 */
import type { Model } from 'mongoose';
import type { Logger } from '@relais/shared';
import { RESCREEN_LEASE_MS, type RescreenJobDoc, type RescreenJobs, type ScreeningLog } from './data/screening';
import type { ClientContactDoc, StoredContact } from './domain/clientContacts';
import type { CompanyDoc } from './domain/companies';
import type { PartyBase } from './domain/parties';
import type { PersonDoc } from './domain/people';
import { screen, type ScreeningInput } from './domain/screening';
import {
  RESCREEN_USER,
  contactScreeningInput,
  isNewHit,
  newCheck,
  partyScreeningInput,
  rescreenCheckId,
  statusKey,
  statusOf,
  subjectOfParty,
  type ScreeningSubject,
} from './domain/screeningChecks';
import type { LoadedRegister, RegisterIndexCache } from './screening';

/** One subject to re-screen. */
export interface SourceItem {
  /** Its _id in its collection: the page order and the position recorded in the job. */
  key: string;
  orgId: string;
  subject: ScreeningSubject;
  input: ScreeningInput;
}

/** A collection of subjects, read across every org in _id order (parties; client contacts may follow). */
export interface SubjectSource {
  name: string;
  count(): Promise<number>;
  page(afterKey: string | null, limit: number): Promise<SourceItem[]>;
}

const PARTY_FIELDS = { _id: 1, orgId: 1, kind: 1, firstName: 1, lastName: 1, usageName: 1, birthDate: 1, companyName: 1 } as const;

/** Every party of every org: a system read across orgs, the re-screen's only one. */
export function partySource(parties: Model<PartyBase>): SubjectSource {
  return {
    name: 'parties',
    count: () => parties.countDocuments({}).exec(),
    async page(afterKey, limit) {
      const docs = await parties
        .find(afterKey === null ? {} : { _id: { $gt: afterKey } }, PARTY_FIELDS)
        .sort({ _id: 1 })
        .limit(limit)
        .lean<(PersonDoc | CompanyDoc)[]>()
        .exec();
      return docs.map((d) => ({ key: d._id, orgId: d.orgId, subject: subjectOfParty(d._id), input: partyScreeningInput(d) }));
    },
  };
}

/**
 * Every live client contact of every org but the clients themselves (screened as parties), on its
 * name as at save (contacts hold no birth date). Both filters are equalities on fields always present.
 */
export function clientContactSource(contacts: Model<StoredContact>): SubjectSource {
  const live = { deletedAt: null, self: false };
  return {
    name: 'clientContacts',
    count: () => contacts.countDocuments(live).exec(),
    async page(afterKey, limit) {
      const docs = await contacts
        .find(afterKey === null ? live : { ...live, _id: { $gt: afterKey } }, { _id: 1, orgId: 1, partyId: 1, name: 1 })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<Pick<ClientContactDoc, '_id' | 'orgId' | 'partyId' | 'name'>[]>()
        .exec();
      return docs.map((d) => ({
        key: d._id,
        orgId: d.orgId,
        subject: { kind: 'clientContact' as const, id: d._id, partyId: d.partyId },
        input: contactScreeningInput(d.name),
      }));
    },
  };
}

export interface RescreenOptions {
  /** How often an instance looks for a job to start or resume. */
  pollMs: number;
  /** A job without a heartbeat for this long is taken over. Pages must take well under it. */
  leaseMs: number;
  pageSize: number;
}

// Pages of 200: on FerretDB every page's two reads (parties after the last id, their statuses)
// scan their collections, so fewer, larger pages cost less; a page still takes seconds, well under the lease.
export const RESCREEN_DEFAULTS: RescreenOptions = { pollMs: 5_000, leaseMs: RESCREEN_LEASE_MS, pageSize: 200 };

export class Rescreen {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private ticking: Promise<void> | null = null;
  private stopping = false;

  constructor(
    private readonly deps: { jobs: RescreenJobs; log: ScreeningLog; cache: RegisterIndexCache; sources: SubjectSource[] },
    /** This instance: random per process, so a restarted process resumes its job like any other instance. */
    readonly owner: string,
    readonly options: RescreenOptions = RESCREEN_DEFAULTS,
    private readonly logger?: Logger,
    private readonly clock = () => new Date(),
  ) {}

  start(): void {
    this.stopping = false;
    const tick = () => {
      this.ticking ??= this.tick()
        .catch((err: unknown) => this.logger?.warn({ err: (err as Error).message }, 'rescreen: poll failed, retried at the next one'))
        .finally(() => {
          this.ticking = null;
        });
    };
    this.timer = setInterval(tick, this.options.pollMs);
    this.timer.unref();
    tick();
  }

  /** Stops polling and waits for the page in progress: the job stays where it is, for any instance to resume. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
    await this.running;
  }

  /** Starts or resumes the current publication's job when it is this instance's to do; resolves once it is started. */
  async tick(): Promise<void> {
    if (this.running || this.stopping) return;
    const loaded = await this.deps.cache.current();
    if (!loaded) return;
    let job = await this.deps.jobs.byId(loaded.hash);
    const now = this.clock();
    if (!job) {
      job = await this.create(loaded, now);
      if (!job) return;
    } else if (job.finishedAt) {
      return;
    } else if (job.owner !== this.owner) {
      if (now.getTime() - job.heartbeatAt.getTime() < this.options.leaseMs) return;
      job = await this.takeOver(job, now);
      if (!job) return;
    } else {
      // This instance's own job, stopped by an error: its counts may lack the page it was on.
      const counts = await this.deps.log.countRescreen(job._id);
      if (!(await this.deps.jobs.takeOver(job._id, job.lease, job.lease, this.owner, now, counts))) return;
      job = { ...job, heartbeatAt: now, ...counts };
    }
    const claimed = job;
    this.running = this.run(claimed)
      .catch((err: unknown) =>
        this.logger?.warn({ err: (err as Error).message, jobId: claimed._id }, 'rescreen: stopped by an error, resumed at the next poll'),
      )
      .finally(() => {
        this.running = null;
      });
  }

  /** Waits for the job in progress, if any (tests). */
  async settled(): Promise<void> {
    await this.ticking;
    await this.running;
  }

  private async create(loaded: LoadedRegister, now: Date): Promise<RescreenJobDoc | null> {
    let total = 0;
    for (const source of this.deps.sources) total += await source.count();
    const job: RescreenJobDoc = {
      _id: loaded.hash,
      publishedAt: loaded.publishedAt,
      entryCount: loaded.entryCount,
      startedAt: now,
      owner: this.owner,
      lease: 1,
      heartbeatAt: now,
      sourceIndex: 0,
      lastId: null,
      done: 0,
      total,
      newHits: 0,
      finishedAt: null,
    };
    if (!(await this.deps.jobs.create(job))) return null;
    await this.deps.jobs.supersedeOthers(job._id, now);
    this.logger?.info({ jobId: job._id, publishedAt: job.publishedAt.toISOString(), total }, 'rescreen: started for a new register publication');
    return job;
  }

  /**
   * Claims the next lease of a job whose instance stopped. A claim whose winner never took the
   * job over (it stopped in between) is itself stale after `leaseMs`: the one after it is tried.
   */
  private async takeOver(job: RescreenJobDoc, now: Date): Promise<RescreenJobDoc | null> {
    for (let lease = job.lease + 1; lease <= job.lease + 5; lease++) {
      if (await this.deps.jobs.claim(job._id, lease, this.owner, now)) {
        const counts = await this.deps.log.countRescreen(job._id);
        if (!(await this.deps.jobs.takeOver(job._id, job.lease, lease, this.owner, now, counts))) return null;
        this.logger?.info({ jobId: job._id, lease, done: counts.done }, 'rescreen: resumed a job whose instance stopped');
        return { ...job, lease, owner: this.owner, heartbeatAt: now, ...counts };
      }
      const claim = await this.deps.jobs.claimOf(job._id, lease);
      if (claim && now.getTime() - claim.at.getTime() < this.options.leaseMs) return null;
    }
    return null;
  }

  private async run(job: RescreenJobDoc): Promise<void> {
    let { sourceIndex, lastId } = job;
    while (!this.stopping) {
      const current = await this.deps.cache.current();
      // A newer publication: its own job re-screens everyone (and marks this one superseded).
      if (!current || current.hash !== job._id) return;
      const source = this.deps.sources[sourceIndex];
      if (!source) {
        await this.deps.jobs.finish(job._id, job.lease, this.clock());
        this.logger?.info({ jobId: job._id }, 'rescreen: finished');
        return;
      }
      const items = await source.page(lastId, this.options.pageSize);
      let counts = { done: 0, newHits: 0 };
      if (items.length === 0) [sourceIndex, lastId] = [sourceIndex + 1, null];
      else {
        counts = await this.screenPage(job, current, items);
        lastId = items[items.length - 1].key;
      }
      if (!(await this.deps.jobs.progress(job._id, job.lease, { sourceIndex, lastId }, counts, this.clock()))) {
        this.logger?.info({ jobId: job._id }, 'rescreen: another instance took the job over');
        return;
      }
    }
  }

  /** Screens one page, logs its checks and statuses; counts only the checks this attempt inserted. */
  private async screenPage(job: RescreenJobDoc, loaded: LoadedRegister, items: SourceItem[]): Promise<{ done: number; newHits: number }> {
    const at = this.clock();
    const statuses = await this.deps.log.statusesOf(items.map((i) => statusKey(i.orgId, i.subject)));
    const docs = items.map((item) => {
      const doc = newCheck({
        id: rescreenCheckId(job._id, item.orgId, item.subject),
        orgId: item.orgId,
        subject: item.subject,
        input: item.input,
        trigger: 'rescreen',
        by: RESCREEN_USER,
        at,
        screened: { publishedAt: loaded.publishedAt, hash: loaded.hash, result: screen(item.input, loaded.index), entry: loaded.entry },
      });
      const hit = isNewHit(statuses.get(statusKey(item.orgId, item.subject)), doc);
      return { ...doc, jobId: job._id, ...(hit ? { hit: true, review: 'open' as const } : {}) };
    });
    const inserted = await this.deps.log.insertMany(docs);
    await this.deps.log.saveStatuses(docs.map(statusOf));
    return {
      done: inserted.filter(Boolean).length,
      newHits: docs.filter((d, i) => inserted[i] && d.hit).length,
    };
  }
}
