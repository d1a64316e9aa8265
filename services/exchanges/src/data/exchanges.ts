import mongoose, { type Connection } from 'mongoose';
import { TenantRepository, insertEach, modelOf, outboxSchemaFields, type Envelope, type OutboxFields } from '@relais/shared';
import { EXCHANGE_DIRECTIONS, EXCHANGE_ORIGINS, EXCHANGE_VISIBILITIES, type EmailStatus, type ExchangeDoc } from '../domain/exchanges';

type StoredExchange = ExchangeDoc & Partial<OutboxFields>;

const schema = new mongoose.Schema<StoredExchange>(
  {
    _id: String,
    orgId: { type: String, required: true },
    requestId: { type: String, required: true },
    direction: { type: String, enum: EXCHANGE_DIRECTIONS, required: true },
    type: { type: String, required: true },
    sentBy: { type: mongoose.Schema.Types.Mixed, required: true },
    receivedBy: { type: mongoose.Schema.Types.Mixed, required: true },
    email: { type: String, default: null },
    subject: { type: String, default: null },
    detail: { type: String, required: true },
    occurredAt: { type: Date, required: true },
    origin: { type: String, enum: EXCHANGE_ORIGINS, required: true },
    visibility: { type: String, enum: EXCHANGE_VISIBILITIES, required: true },
    createdBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
    edits: { type: mongoose.Schema.Types.Mixed, default: [] },
    emailDelivery: { type: mongoose.Schema.Types.Mixed, default: null },
    inboundMessageId: { type: String, default: null },
    attachments: { type: mongoose.Schema.Types.Mixed, default: [] },
    deleted: { type: mongoose.Schema.Types.Mixed, default: null },
    ...outboxSchemaFields,
  },
  { versionKey: false, collection: 'exchanges', minimize: false },
);
// Serves a request's exchanges (its history, its summary's recount): { orgId, requestId }.
schema.index({ orgId: 1, requestId: 1 });
// Serves the hand-over sweep: e-mails still sending, the oldest first.
schema.index({ 'emailDelivery.status': 1, createdAt: 1 });

/** A request's exchanges, tombstones included: the history shows what was deleted, by whom, when. */
export class Exchanges extends TenantRepository<StoredExchange> {
  static open(db: Connection): Exchanges {
    return new Exchanges(modelOf<StoredExchange>(db, 'Exchange', schema));
  }

  init = () => this.model.createIndexes();

  /** The model, for the outbox that publishes what its writes applied. */
  get raw() {
    return this.model;
  }

  /**
   * Stores an exchange with the event that tells of it, unless its id exists (the same request
   * again, the same e-mail relayed twice): the stored exchange, and whether it is the new one.
   */
  async insertNew(doc: ExchangeDoc, event: Envelope): Promise<{ doc: ExchangeDoc; created: boolean }> {
    const [inserted] = await insertEach(this.model, [{ ...doc, eventIds: [event.id] }]);
    if (inserted) return { doc, created: true };
    const stored = await this.get(doc.orgId, doc._id);
    if (!stored) throw new Error(`exchange ${doc._id} is neither new nor stored`);
    return { doc: stored, created: false };
  }

  async get(orgId: string, id: string): Promise<ExchangeDoc | null> {
    const doc = await this.findOne(orgId, { _id: id });
    return doc && withoutOutbox(doc);
  }

  /** A request's exchanges, oldest first (the order they took place in). */
  async ofRequest(orgId: string, requestId: string): Promise<ExchangeDoc[]> {
    const docs = (await this.find(orgId, { requestId }).exec()).map(withoutOutbox);
    return docs.sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime() || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
  }

  /**
   * Writes an edit or a deletion (see domain/exchanges.ts edited and tombstone), only over the
   * version it was decided on: false when the exchange changed meanwhile (decide again).
   */
  async replace(before: ExchangeDoc, after: ExchangeDoc): Promise<boolean> {
    const res = await this.model
      .updateOne(this.scoped(before.orgId, { _id: before._id, edits: { $size: before.edits.length }, deleted: null }), {
        $set: { subject: after.subject, detail: after.detail, type: after.type, visibility: after.visibility, edits: after.edits, deleted: after.deleted },
      })
      .exec();
    return res.modifiedCount > 0;
  }

  /**
   * E-mails of every org still `sending` that were recorded before `before`, the oldest first: the
   * sweep hands them over again (a maintenance read across orgs, as the outbox's sweep is).
   */
  async stillSending(before: Date, limit: number): Promise<ExchangeDoc[]> {
    const docs = await this.model
      .find({ 'emailDelivery.status': 'sending', createdAt: { $lt: before } })
      .sort({ createdAt: 1 })
      .limit(limit)
      .lean<StoredExchange[]>()
      .exec();
    return docs.map(withoutOutbox);
  }

  /**
   * Moves a sent e-mail's status forward: sending -> sent -> bounced, or sending -> failed; a
   * status that arrives late (a repeated or reordered event) finds the exchange past it and changes
   * nothing. True when it moved.
   */
  async setEmailStatus(orgId: string, id: string, status: Exclude<EmailStatus, 'sending'>, at: Date, error?: string): Promise<boolean> {
    const from: EmailStatus[] = status === 'bounced' ? ['sending', 'sent'] : ['sending'];
    const res = await this.model
      .updateOne(this.scoped(orgId, { _id: id, 'emailDelivery.status': { $in: from } }), {
        $set: { 'emailDelivery.status': status, 'emailDelivery.updatedAt': at, ...(error ? { 'emailDelivery.error': error } : {}) },
      })
      .exec();
    return res.modifiedCount > 0;
  }
}

/** The exchange without the outbox's bookkeeping. */
function withoutOutbox(doc: StoredExchange): ExchangeDoc {
  const { eventIds: _eventIds, ...exchange } = doc;
  return exchange;
}
