import mongoose, { type Connection } from 'mongoose';
import { TenantRepository, insertEach, modelOf } from '@relais/shared';

/** An e-mail whose text was started and kept for later (seed 004: "conserver un brouillon"); its author's own. */
export interface DraftDoc {
  _id: string;
  orgId: string;
  requestId: string;
  userId: string;
  receivedBy: number | null;
  to: string | null;
  subject: string | null;
  detail: string;
  createdAt: Date;
  updatedAt: Date;
}

const schema = new mongoose.Schema<DraftDoc>(
  {
    _id: String,
    orgId: { type: String, required: true },
    requestId: { type: String, required: true },
    userId: { type: String, required: true },
    receivedBy: { type: Number, default: null },
    to: { type: String, default: null },
    subject: { type: String, default: null },
    detail: { type: String, default: '' },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'exchange_drafts' },
);
// Serves a user's drafts, the latest first: { orgId, userId } sorted by updatedAt.
schema.index({ orgId: 1, userId: 1, updatedAt: -1 });
// Serves a user's drafts on one request: { orgId, requestId, userId }.
schema.index({ orgId: 1, requestId: 1, userId: 1 });

/** Drafts of e-mails, per user: nobody else reads, sends or discards them. */
export class Drafts extends TenantRepository<DraftDoc> {
  static open(db: Connection): Drafts {
    return new Drafts(modelOf<DraftDoc>(db, 'ExchangeDraft', schema));
  }

  init = () => this.model.createIndexes();

  /** Stores a new draft unless its id exists (a retried save); the stored one either way. */
  async insertNew(doc: DraftDoc): Promise<DraftDoc> {
    const [inserted] = await insertEach(this.model, [doc as unknown as Record<string, unknown>]);
    return inserted ? doc : ((await this.mine(doc.orgId, doc.userId, doc._id)) ?? doc);
  }

  mine(orgId: string, userId: string, id: string): Promise<DraftDoc | null> {
    return this.findOne(orgId, { _id: id, userId });
  }

  ofUser(orgId: string, userId: string, requestId?: string): Promise<DraftDoc[]> {
    return this.find(orgId, { userId, ...(requestId ? { requestId } : {}) })
      .sort({ updatedAt: -1 })
      .limit(500)
      .exec();
  }

  async save(doc: DraftDoc): Promise<void> {
    const { _id, orgId, userId, ...fields } = doc;
    await this.model.updateOne(this.scoped(orgId, { _id, userId }), { $set: fields }).exec();
  }

  /** Removes a draft; true when it was there (a second discard finds nothing). */
  async remove(orgId: string, userId: string, id: string): Promise<boolean> {
    const res = await this.model.deleteOne(this.scoped(orgId, { _id: id, userId })).exec();
    return res.deletedCount > 0;
  }
}
