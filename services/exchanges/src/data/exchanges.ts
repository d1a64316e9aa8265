import mongoose, { type Connection } from 'mongoose';
import { TenantRepository, insertEach, modelOf } from '@relais/shared';
import { EXCHANGE_DIRECTIONS, EXCHANGE_ORIGINS, EXCHANGE_VISIBILITIES, type ExchangeDoc } from '../domain/exchanges';

const schema = new mongoose.Schema<ExchangeDoc>(
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
    deleted: { type: mongoose.Schema.Types.Mixed, default: null },
  },
  { versionKey: false, collection: 'exchanges', minimize: false },
);
// Serves a request's exchanges (its history, its summary's recount): { orgId, requestId }.
schema.index({ orgId: 1, requestId: 1 });

/** A request's exchanges, tombstones included: the history shows what was deleted, by whom, when. */
export class Exchanges extends TenantRepository<ExchangeDoc> {
  static open(db: Connection): Exchanges {
    return new Exchanges(modelOf<ExchangeDoc>(db, 'Exchange', schema));
  }

  init = () => this.model.createIndexes();

  /** Stores an exchange unless its id exists (the same request again); true when it was new. */
  async insertNew(doc: ExchangeDoc): Promise<boolean> {
    const [inserted] = await insertEach(this.model, [doc as unknown as Record<string, unknown>]);
    return inserted;
  }

  get(orgId: string, id: string): Promise<ExchangeDoc | null> {
    return this.findOne(orgId, { _id: id });
  }

  /** A request's exchanges, oldest first (the order they took place in). */
  async ofRequest(orgId: string, requestId: string): Promise<ExchangeDoc[]> {
    const docs = await this.find(orgId, { requestId }).exec();
    return docs.sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime() || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
  }

  /**
   * Writes an edit or a deletion (see domain/exchanges.ts edited and tombstone), only over the
   * version it was decided on: false when the exchange changed meanwhile (decide again).
   */
  async replace(before: ExchangeDoc, after: ExchangeDoc): Promise<boolean> {
    const res = await this.model
      .updateOne(this.scoped(before.orgId, { _id: before._id, edits: { $size: before.edits.length }, deleted: null }), {
        $set: { subject: after.subject, detail: after.detail, edits: after.edits, deleted: after.deleted },
      })
      .exec();
    return res.modifiedCount > 0;
  }
}
