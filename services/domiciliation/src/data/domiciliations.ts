import mongoose, { type Connection, type Model } from 'mongoose';
import {
  DOMICILIATION_STATUSES,
  Outbox,
  TenantRepository,
  eventIdsPush,
  isDuplicateKey,
  outboxSchemaFields,
  withTimeout,
  type Envelope,
  type OutboxOptions,
  type Written,
} from '@relais/shared';
import type { Change, DomiciliationDoc } from '../domain/domiciliation';

const period = new mongoose.Schema({ startDate: { type: String, required: true }, endDate: { type: String, required: true } }, { _id: false });

const historyEntry = new mongoose.Schema(
  {
    at: { type: Date, required: true },
    by: { type: String, required: true },
    action: { type: String, required: true },
    field: { type: String, required: true },
    // string (status, dates, reason, E.164), boolean (consent) or null
    from: { type: mongoose.Schema.Types.Mixed, default: null },
    to: { type: mongoose.Schema.Types.Mixed, default: null },
  },
  { _id: false },
);

const smsConsent = new mongoose.Schema(
  {
    consent: { type: Boolean, required: true },
    phoneE164: { type: String, default: null },
    phoneRaw: { type: String, default: null },
    region: { type: String, default: null },
    changedAt: { type: Date, default: null },
    changedBy: { type: String, default: null },
  },
  { _id: false },
);

const schema = new mongoose.Schema<DomiciliationDoc>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    personId: { type: String, required: true },
    status: { type: String, enum: DOMICILIATION_STATUSES, required: true },
    periods: { type: [period], default: [] },
    refusalReason: { type: String, default: null },
    smsConsent: { type: smsConsent, required: true },
    history: { type: [historyEntry], default: [] },
    version: { type: Number, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    ...outboxSchemaFields,
  },
  { versionKey: false, collection: 'domiciliations' },
);
// Serves every read and write of a person's domiciliation ({ orgId, personId }) and keeps one per person.
schema.index({ orgId: 1, personId: 1 }, { unique: true });

/** Writes that lose a race are decided again on the fresh document this many times. */
const ATTEMPTS = 3;

/** A write decided on a version that someone else changed meanwhile, too many times in a row. */
export class ConcurrentChangeError extends Error {
  override name = 'ConcurrentChangeError';
}

/**
 * What a write decides on the person's current domiciliation (null: none yet): a new one with its
 * events, or a change of it (null: nothing to change). A refusal throws.
 */
export type Decision = { create: { doc: DomiciliationDoc; events: Envelope[] } } | { change: Change | null };

export class Domiciliations extends TenantRepository<DomiciliationDoc> {
  /**
   * Publishes the events of every write (intents in `domiciliations_outbox`); its sweep and stop are
   * the service's. Null: no events (tests of the repository alone).
   */
  readonly outbox: Outbox | null;

  constructor(
    model: Model<DomiciliationDoc>,
    private readonly dbTimeoutMs: number,
    publish?: Omit<OutboxOptions, 'model'>,
  ) {
    super(model);
    this.outbox = publish ? new Outbox({ ...publish, model }) : null;
  }

  /** `publish`: where the events of `write` go (see `outbox`). */
  static open(db: Connection, dbTimeoutMs: number, publish?: Omit<OutboxOptions, 'model'>): Domiciliations {
    return new Domiciliations(db.model<DomiciliationDoc>('Domiciliation', schema), dbTimeoutMs, publish);
  }

  get raw(): Model<DomiciliationDoc> {
    return this.model;
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
    await this.outbox?.init();
  }

  /**
   * One equality lookup per person ({ orgId, personId }, the unique index), run together: each is one
   * index probe whatever the org's size (on FerretDB through the GIN twin its PostgreSQL side gets, 2-3 ms
   * over 40,000). A `personId: { $in }` list is evaluated by FerretDB itself against every document of the
   * org (measured over 10,000: 4.9 s for 10 ids).
   */
  async forPeople(orgId: string, personIds: string[]): Promise<DomiciliationDoc[]> {
    const docs = await withTimeout(
      Promise.all([...new Set(personIds)].map((personId) => this.findOne(orgId, { personId }))),
      this.dbTimeoutMs,
      'domiciliations lookup',
    );
    return docs.filter((d): d is DomiciliationDoc => d !== null);
  }

  forPerson(orgId: string, personId: string): Promise<DomiciliationDoc | null> {
    return withTimeout(this.findOne(orgId, { personId }), this.dbTimeoutMs, 'domiciliation lookup');
  }

  /** Inserts a new domiciliation with its event ids; false when the person already has one. */
  async insert(doc: DomiciliationDoc): Promise<boolean> {
    try {
      await withTimeout(this.model.create(doc), this.dbTimeoutMs, 'domiciliation insert');
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  /**
   * Applies a change and appends its history and events in one single-document write,
   * only if the document is still at the version the change was decided on.
   * Returns the updated document, or null when someone changed it meanwhile.
   */
  apply(doc: Pick<DomiciliationDoc, '_id' | 'orgId' | 'version'>, change: Change, at: Date): Promise<DomiciliationDoc | null> {
    return withTimeout(
      this.model
        .findOneAndUpdate(
          this.scoped(doc.orgId, { _id: doc._id, version: doc.version }),
          {
            $set: { ...change.set, updatedAt: at },
            $inc: { version: 1 },
            $push: { history: { $each: change.history }, ...eventIdsPush(change.events) },
          },
          { returnDocument: 'after' },
        )
        .lean<DomiciliationDoc>()
        .exec(),
      this.dbTimeoutMs,
      'domiciliation update',
    );
  }

  /**
   * Reads the person's domiciliation, decides the write on it, applies it only if the
   * document did not change meanwhile (else decides again), and publishes its events.
   * Returns the document as written, the stored one when the decision changes nothing.
   */
  async write(orgId: string, personId: string, decide: (doc: DomiciliationDoc | null, at: Date) => Decision): Promise<DomiciliationDoc> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const doc = await this.forPerson(orgId, personId);
      const at = new Date();
      const decision = decide(doc, at);
      if ('create' in decision) {
        const { doc: created, events } = decision.create;
        const inserted = await this.throughOutbox(events, [created._id], async () => {
          const ok = await this.insert(created);
          return { result: ok, applied: ok ? events : [] };
        });
        if (inserted) return created;
        continue;
      }
      const change = decision.change;
      if (!change) return doc!;
      const saved = await this.throughOutbox(change.events, [doc!._id], async () => {
        const after = await this.apply(doc!, change, at);
        return { result: after, applied: after ? change.events : [] };
      });
      if (saved) return saved;
    }
    throw new ConcurrentChangeError(`domiciliation of ${personId} kept changing during the write`);
  }

  /** A write through the outbox: its events recorded first, those it applied published after it. */
  private throughOutbox<T>(events: Envelope[], docIds: string[], write: () => Promise<Written<T>>): Promise<T> {
    if (!this.outbox) return write().then((w) => w.result);
    return this.outbox.write(events, docIds, write);
  }
}
