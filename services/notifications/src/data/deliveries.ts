import mongoose, { type Connection, type Model } from 'mongoose';
import { chunks, insertEach } from '@relais/shared';
import { DELIVERY_STATUSES, STATUS_RANK, fromProviderStatus, type DeliveryDoc, type DeliveryStatus, type StatusEvent } from '../domain/deliveries';
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
    providerId: String,
    dueAt: { type: Date, required: true },
    attempts: { type: Number, required: true },
    retryAt: { type: Date, default: null },
    attemptStartedAt: { type: Date, default: null },
    calledAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'deliveries' },
);
// Serves a person's SMS history: { orgId, personId } newest first.
schema.index({ orgId: 1, personId: 1, dueAt: -1 });
// Serves the ops list and its counts: { orgId, dueAt in range, status?, type? }.
schema.index({ orgId: 1, dueAt: -1 });
// Serves the sender (pending deliveries due) and the reconciler (stuck or unfinished ones): { status, dueAt }.
schema.index({ status: 1, dueAt: 1 });
// Serves provider status callbacks and reconciliation by provider id.
schema.index({ providerId: 1 });

export type Outcome =
  | { id: string; kind: 'accepted'; status: 'queued' | 'sending' | 'sent' | 'delivered'; provider: string; providerId: string }
  | { id: string; kind: 'failed'; error: { code?: string; message: string; transient: boolean } }
  | { id: string; kind: 'retry'; retryAt: Date; error: { code?: string; message: string; transient: true } }
  | { id: string; kind: 'closed'; status: 'skipped' | 'cancelled'; reason: string }
  /** The call's fate is unknown: nothing is recorded, the reconciler settles it. */
  | { id: string; kind: 'unknown' };

export interface DeliveryFilter {
  status?: DeliveryStatus;
  type?: SmsKind;
  from?: Date;
  to?: Date;
}

const event = (status: DeliveryStatus, at: Date, detail?: string): StatusEvent => ({ status, at, ...(detail ? { detail } : {}) });

export class Deliveries {
  private constructor(
    private readonly model: Model<DeliveryDoc>,
    private readonly updateBatch: number,
  ) {}

  static open(db: Connection, updateBatch: number): Deliveries {
    return new Deliveries(db.model<DeliveryDoc>('Delivery', schema), updateBatch);
  }

  init = () => this.model.createIndexes();

  /** Inserts deliveries that do not exist yet (the id is the dedupe key); returns how many were new. */
  async insertNew(docs: DeliveryDoc[]): Promise<number> {
    let created = 0;
    for (const part of chunks(docs, 500)) {
      created += (await insertEach(this.model, part as unknown as Record<string, unknown>[])).filter(Boolean).length;
    }
    return created;
  }

  /** Deliveries ready for a provider call: pending and due, or waiting for a retry that is due. System-wide. */
  async ready(now: Date, limit: number): Promise<DeliveryDoc[]> {
    const pending = await this.model
      .find({ status: 'pending', dueAt: { $lte: now } })
      .sort({ dueAt: 1 })
      .limit(limit)
      .lean<DeliveryDoc[]>()
      .exec();
    if (pending.length >= limit) return pending;
    const retries = await this.model
      .find({ status: 'sending', retryAt: { $lte: now } })
      .limit(limit - pending.length)
      .lean<DeliveryDoc[]>()
      .exec();
    return [...pending, ...retries];
  }

  /** Records that a provider call is about to start: a crash from here on is resolved by the reconciler. */
  async markSending(docs: DeliveryDoc[], at: Date): Promise<void> {
    await this.bulk(
      docs.map((d) => ({
        updateOne: {
          filter: { _id: d._id, statusRank: { $lte: STATUS_RANK.sending } },
          update: {
            $set: {
              status: 'sending',
              statusRank: STATUS_RANK.sending,
              attemptStartedAt: at,
              calledAt: new Date(),
              retryAt: null,
              updatedAt: at,
              to: d.to,
              from: d.from,
            },
            $inc: { attempts: 1 },
            $push: { events: event('sending', at, `attempt ${d.attempts + 1}`) },
          },
        },
      })),
    );
  }

  async record(outcomes: Outcome[], at: Date): Promise<void> {
    await this.bulk(
      outcomes.filter((o) => o.kind !== 'unknown').map((o) => {
        switch (o.kind) {
          case 'accepted':
            return this.forward(o.id, o.status, at, { provider: o.provider, providerId: o.providerId, attemptStartedAt: null });
          case 'closed':
            return this.forward(o.id, o.status, at, { reason: o.reason, attemptStartedAt: null }, o.reason);
          case 'failed':
            return this.forward(o.id, 'failed', at, { error: o.error, attemptStartedAt: null }, o.error.message);
          case 'retry':
            return {
              updateOne: {
                filter: { _id: o.id, status: 'sending' },
                update: {
                  $set: { retryAt: o.retryAt, attemptStartedAt: null, error: o.error, updatedAt: at },
                  $push: { events: event('sending', at, `transient error, retry at ${o.retryAt.toISOString()}: ${o.error.message}`) },
                },
              },
            };
        }
      }),
    );
  }

  /**
   * A status reported by the provider (callback or reconciler); ignored unless it moves the status
   * forward. An error code is kept with a final failure.
   */
  async providerStatus(providerId: string, reported: ProviderStatus, at: Date, errorCode?: string, errorMessage?: string): Promise<boolean> {
    const status = fromProviderStatus(reported);
    const failed = status === 'failed' || status === 'undelivered';
    const error = failed && errorCode ? { code: errorCode, message: errorMessage ?? `provider error ${errorCode}` } : undefined;
    const res = await this.model
      .updateOne(
        { providerId, statusRank: { $lt: STATUS_RANK[status] } },
        {
          $set: { status, statusRank: STATUS_RANK[status], updatedAt: at, ...(error ? { error: { ...error, transient: false } } : {}) },
          $push: { events: event(status, at, error?.message) },
        },
      )
      .exec();
    return res.modifiedCount > 0;
  }

  private forward(id: string, status: DeliveryStatus, at: Date, set: Record<string, unknown>, detail?: string) {
    return {
      updateOne: {
        filter: { _id: id, statusRank: { $lt: STATUS_RANK[status] } },
        update: { $set: { status, statusRank: STATUS_RANK[status], updatedAt: at, ...set }, $push: { events: event(status, at, detail) } },
      },
    };
  }

  private async bulk(ops: object[]): Promise<void> {
    for (const part of chunks(ops, this.updateBatch)) await this.model.bulkWrite(part as never, { ordered: false });
  }

  /** Provider calls that started before `before` and never got an answer recorded (a crash mid-call). */
  stuck(before: Date, limit: number) {
    return this.model
      .find({ status: 'sending', retryAt: null, attemptStartedAt: { $lt: before } })
      .limit(limit)
      .lean<DeliveryDoc[]>()
      .exec();
  }

  /** Ready to send since before `before` and still not sent: backlog, or claimed by an instance that died. */
  overdue(before: Date, limit: number) {
    return this.model
      .find({ $or: [{ status: 'pending', dueAt: { $lt: before } }, { status: 'sending', retryAt: { $lt: before } }] }, { _id: 1, attempts: 1 })
      .limit(limit)
      .lean<Pick<DeliveryDoc, '_id' | 'attempts'>[]>()
      .exec();
  }

  /** Accepted by the provider but without a final status since `before`. */
  unfinished(before: Date, limit: number) {
    return this.model
      .find({ status: { $in: ['queued', 'sent'] }, updatedAt: { $lt: before } })
      .limit(limit)
      .lean<DeliveryDoc[]>()
      .exec();
  }

  /** Pending reminders of a person whose domiciliation ended or moved: cancelled, with the reason. */
  async cancelPendingReminders(orgId: string, personId: string, reason: string, at: Date): Promise<void> {
    const ids = (
      await this.model.find({ orgId, personId, type: 'domiciliation.reminder', status: 'pending' }, { _id: 1 }).lean<{ _id: string }[]>().exec()
    ).map((d) => d._id);
    await this.bulk(ids.map((id) => this.forward(id, 'cancelled', at, { reason }, reason)));
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
