import mongoose, { type Connection, type Model } from 'mongoose';
import { chunks, insertEach, insertManyIgnoringDuplicates } from '@relais/shared';
import { DELIVERY_STATUSES, STATUS_RANK, fromProviderStatus, type acceptedStatus, type DeliveryDoc, type DeliveryStatus, type StatusEvent } from '../domain/deliveries';
import type { ProviderStatus } from '../providers/provider';
import { SMS_KINDS, type SmsKind } from '../domain/templates';

const schema = new mongoose.Schema<DeliveryDoc>(
  {
    _id: String,
    orgId: { type: String, required: true },
    personId: { type: String, required: true },
    type: { type: String, enum: SMS_KINDS, required: true },
    channel: { type: String, required: true },
    to: { type: String, default: null },
    from: { type: String, default: null },
    content: { type: String, default: null },
    encoding: { type: String, default: null },
    segments: { type: Number, required: true },
    count: Number,
    status: { type: String, enum: DELIVERY_STATUSES, required: true },
    statusRank: { type: Number, required: true },
    events: { type: mongoose.Schema.Types.Mixed, default: [] },
    reason: String,
    error: { type: mongoose.Schema.Types.Mixed },
    provider: String,
    dueAt: { type: Date, required: true },
    lot: { type: String, default: null },
    attempts: { type: Number, required: true },
    retryAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'deliveries' },
);
// Serves a person's SMS history: { orgId, personId } newest first.
schema.index({ orgId: 1, personId: 1, dueAt: -1 });
// Serves the ops list and its counts: { orgId, dueAt in range, status?, type? }.
schema.index({ orgId: 1, dueAt: -1 });
// Serves the sender loading a lot and the set-wise writes of its outcomes: { lot }.
schema.index({ lot: 1 });
// Serves the reconciler: deliveries not sent (rank < queued) long after their last change, and accepted ones
// (rank queued or sent) without a final status since a cut-off: { statusRank, updatedAt }.
schema.index({ statusRank: 1, updatedAt: 1 });

/** Which delivery a provider message id belongs to: written once per accepted message, read by callbacks and the reconciler. */
interface ProviderMessageDoc {
  _id: string;
  deliveryId: string;
  provider: string;
  at: Date;
}
const providerMessageSchema = new mongoose.Schema<ProviderMessageDoc>(
  {
    _id: String,
    deliveryId: { type: String, required: true },
    provider: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false, collection: 'provider_messages' },
);
// Serves the reconciler asking the provider about accepted deliveries: { deliveryId in [...] }.
providerMessageSchema.index({ deliveryId: 1 });

export type Outcome =
  | { id: string; kind: 'accepted'; status: ReturnType<typeof acceptedStatus>; provider: string; providerId: string }
  | { id: string; kind: 'failed'; error: { code?: string; message: string; transient: boolean } }
  /** A transient provider error: tried again with the lot `toLot` at `retryAt`. */
  | { id: string; kind: 'retry'; retryAt: Date; error: { code?: string; message: string; transient: true }; toLot: string }
  | { id: string; kind: 'closed'; status: 'skipped' | 'cancelled'; reason: string }
  /** The call's fate is unknown: moved to `toLot`, which asks the provider before any new attempt. */
  | { id: string; kind: 'unknown'; toLot: string }
  /** Not called (the lot ran out of time): moved to `toLot`, due now. */
  | { id: string; kind: 'deferred'; toLot: string };

/** One provider attempt of a lot's deliveries, as its outcomes are recorded. */
export interface Attempt {
  lot: string;
  attempt: number;
  startedAt: Date;
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  type?: SmsKind;
  from?: Date;
  to?: Date;
}

/** Updates a lot's outcome group is split into, run at once. */
const PARALLEL_WRITES = 4;

const event = (status: DeliveryStatus, at: Date, detail?: string): StatusEvent => ({ status, at, ...(detail ? { detail } : {}) });

export class Deliveries {
  private constructor(
    private readonly model: Model<DeliveryDoc>,
    private readonly messages: Model<ProviderMessageDoc>,
  ) {}

  static open(db: Connection): Deliveries {
    return new Deliveries(db.model<DeliveryDoc>('Delivery', schema), db.model<ProviderMessageDoc>('ProviderMessage', providerMessageSchema));
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
    await this.messages.createIndexes();
  }

  /** Inserts deliveries that do not exist yet (the id is the dedupe key); returns how many were new. */
  async insertNew(docs: DeliveryDoc[]): Promise<number> {
    let created = 0;
    for (const part of chunks(docs, 500)) {
      created += (await insertEach(this.model, part as unknown as Record<string, unknown>[])).filter(Boolean).length;
    }
    return created;
  }

  /** The lot's deliveries still to send: a delivery moved to another lot or closed meanwhile is not among them. */
  inLot(lot: string): Promise<DeliveryDoc[]> {
    return this.model.find({ lot, statusRank: { $lt: STATUS_RANK.queued } }).lean<DeliveryDoc[]>().exec();
  }

  /**
   * Records what one attempt of a lot came to, with one update per outcome group (all of a lot's
   * accepted messages in one write) rather than one per delivery. Every write is filtered on the
   * lot and on the status rank, so recording twice, or after the delivery moved on, changes nothing.
   */
  async recordLot(a: Attempt, outcomes: Outcome[], at: Date): Promise<void> {
    const tried = event('sending', a.startedAt, `attempt ${a.attempt}`);
    // A few updates in parallel: on some backends an update costs a round trip per document.
    const write = async (group: Outcome[], below: DeliveryStatus, set: Record<string, unknown>, events: StatusEvent[]) => {
      const parts = chunks(group, Math.max(50, Math.ceil(group.length / PARALLEL_WRITES)));
      await Promise.all(
        parts.map((part) =>
          this.model
            .updateMany(
              { lot: a.lot, _id: { $in: part.map((o) => o.id) }, statusRank: { $lt: STATUS_RANK[below] } },
              { $set: { ...set, updatedAt: at }, $push: { events: { $each: events } } },
            )
            .exec(),
        ),
      );
    };
    const of = <K extends Outcome['kind']>(kind: K) => outcomes.filter((o): o is Extract<Outcome, { kind: K }> => o.kind === kind);

    const accepted = of('accepted');
    // The message ids first: a callback that arrives before the status write below still finds its delivery.
    if (accepted.length) {
      await insertManyIgnoringDuplicates(this.messages, accepted.map((o) => ({ _id: o.providerId, deliveryId: o.id, provider: o.provider, at })));
    }
    for (const group of Map.groupBy(accepted, (o) => `${o.status}|${o.provider}`).values()) {
      const { status } = group[0];
      await write(group, status, { status, statusRank: STATUS_RANK[status], provider: group[0].provider, attempts: a.attempt, retryAt: null }, [tried, event(status, at)]);
    }
    for (const group of Map.groupBy(of('failed'), (o) => `${o.error.code ?? ''}|${o.error.message}`).values()) {
      const { error } = group[0];
      await write(group, 'failed', { status: 'failed', statusRank: STATUS_RANK.failed, error, attempts: a.attempt, retryAt: null }, [tried, event('failed', at, error.message)]);
    }
    for (const group of Map.groupBy(of('retry'), (o) => `${o.toLot}|${o.error.code ?? ''}|${o.error.message}`).values()) {
      const { error, retryAt, toLot } = group[0];
      const detail = `transient error, retry at ${retryAt.toISOString()}: ${error.message}`;
      await write(group, 'queued', { status: 'sending', statusRank: STATUS_RANK.sending, lot: toLot, error, retryAt, attempts: a.attempt }, [tried, event('sending', at, detail)]);
    }
    for (const group of Map.groupBy(of('unknown'), (o) => o.toLot).values()) {
      const detail = `attempt ${a.attempt}: no answer from the provider; asked again before any new attempt`;
      await write(group, 'queued', { status: 'sending', statusRank: STATUS_RANK.sending, lot: group[0].toLot, attempts: a.attempt }, [event('sending', a.startedAt, detail)]);
    }
    for (const group of Map.groupBy(of('deferred'), (o) => o.toLot).values()) await write(group, 'queued', { lot: group[0].toLot }, []);
    for (const group of Map.groupBy(of('closed'), (o) => `${o.status}|${o.reason}`).values()) {
      const { status, reason } = group[0];
      await write(group, status, { status, statusRank: STATUS_RANK[status], reason }, [event(status, at, reason)]);
    }
  }

  /**
   * A status reported by the provider (callback or reconciler); ignored unless it moves the status
   * forward. An error code is kept with a final failure.
   */
  async providerStatus(providerId: string, reported: ProviderStatus, at: Date, errorCode?: string, errorMessage?: string): Promise<boolean> {
    const message = await this.messages.findById(providerId).lean<ProviderMessageDoc>().exec();
    if (!message) return false;
    const status = fromProviderStatus(reported);
    const failed = status === 'failed' || status === 'undelivered';
    const error = failed && errorCode ? { code: errorCode, message: errorMessage ?? `provider error ${errorCode}` } : undefined;
    const res = await this.model
      .updateOne(
        { _id: message.deliveryId, statusRank: { $lt: STATUS_RANK[status] } },
        {
          $set: { status, statusRank: STATUS_RANK[status], updatedAt: at, ...(error ? { error: { ...error, transient: false } } : {}) },
          $push: { events: event(status, at, error?.message) },
        },
      )
      .exec();
    return res.modifiedCount > 0;
  }

  /** The provider message id of each accepted delivery among `ids`. */
  async providerIds(ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const part of chunks(ids, 500)) {
      for (const m of await this.messages.find({ deliveryId: { $in: part } }).lean<ProviderMessageDoc[]>().exec()) out.set(m.deliveryId, m._id);
    }
    return out;
  }

  /** Deliveries still to send whose last change is older than `before`: their lot is checked by the reconciler. */
  unsent(before: Date, limit: number) {
    return this.model
      .find({ statusRank: { $lt: STATUS_RANK.queued }, updatedAt: { $lt: before } }, { _id: 1, orgId: 1, lot: 1, attempts: 1 })
      .limit(limit)
      .lean<Pick<DeliveryDoc, '_id' | 'orgId' | 'lot' | 'attempts'>[]>()
      .exec();
  }

  /** Moves deliveries without a lot into `lot` (rows written before lots existed). */
  async moveUnlotted(ids: string[], lot: string, at: Date): Promise<void> {
    for (const part of chunks(ids, 500)) {
      await this.model.updateMany({ _id: { $in: part }, lot: null, statusRank: { $lt: STATUS_RANK.queued } }, { $set: { lot, updatedAt: at } }).exec();
    }
  }

  /** Accepted by the provider but without a final status since `before`. */
  unfinished(before: Date, limit: number) {
    return this.model
      .find({ statusRank: { $in: [STATUS_RANK.queued, STATUS_RANK.sent] }, updatedAt: { $lt: before } })
      .limit(limit)
      .lean<DeliveryDoc[]>()
      .exec();
  }

  /** Reminders of a person not sent yet, after their domiciliation ended or moved: cancelled, with the reason. */
  async cancelPendingReminders(orgId: string, personId: string, reason: string, at: Date): Promise<void> {
    await this.model
      .updateMany(
        { orgId, personId, type: 'domiciliation.reminder', statusRank: { $lt: STATUS_RANK.queued } },
        { $set: { status: 'cancelled', statusRank: STATUS_RANK.cancelled, reason, updatedAt: at }, $push: { events: event('cancelled', at, reason) } },
      )
      .exec();
  }

  history(orgId: string, personId: string, limit: number) {
    return this.model.find({ orgId, personId }).sort({ dueAt: -1 }).limit(limit).lean<DeliveryDoc[]>().exec();
  }

  private filter(orgId: string, f: DeliveryFilter) {
    return {
      orgId,
      ...(f.status ? { status: f.status } : {}),
      ...(f.type ? { type: f.type } : {}),
      ...(f.from || f.to ? { dueAt: { ...(f.from ? { $gte: f.from } : {}), ...(f.to ? { $lt: f.to } : {}) } } : {}),
    };
  }

  list(orgId: string, f: DeliveryFilter, limit: number, before?: { dueAt: Date; id: string }) {
    const page = before ? { $or: [{ dueAt: { $lt: before.dueAt } }, { dueAt: before.dueAt, _id: { $lt: before.id } }] } : {};
    return this.model
      .find({ ...this.filter(orgId, f), ...page })
      .sort({ dueAt: -1, _id: -1 })
      .limit(limit)
      .lean<DeliveryDoc[]>()
      .exec();
  }

  async counts(orgId: string, f: DeliveryFilter): Promise<Record<string, number>> {
    const groups = await this.model
      .aggregate<{ _id: string; n: number }>([{ $match: this.filter(orgId, f) }, { $group: { _id: '$status', n: { $sum: 1 } } }])
      .exec();
    return Object.fromEntries(groups.map((g) => [g._id, g.n]));
  }
}
