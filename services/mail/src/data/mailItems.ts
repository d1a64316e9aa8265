import mongoose, { type Connection, type Model } from 'mongoose';
import { MAIL_KINDS, eventIdsPush, outboxSchemaFields, TenantRepository, insertEach } from '@relais/shared';
import type { Envelope } from '@relais/shared';
import type { HandOver, MailItemDoc } from '../domain/mail';

const schema = new mongoose.Schema<MailItemDoc>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    personId: { type: String, required: true },
    kind: { type: String, enum: MAIL_KINDS, required: true },
    quantity: { type: Number, required: true },
    sender: String,
    note: String,
    status: { type: String, enum: ['pending', 'handedOver'], required: true },
    registeredAt: { type: Date, required: true },
    registeredBy: { type: String, required: true },
    idempotencyKey: { type: String, required: true },
    handOver: {
      type: new mongoose.Schema({ at: Date, by: String, to: { type: String, enum: ['person', 'proxy'] }, proxyName: String }, { _id: false }),
      required: false,
    },
    ...outboxSchemaFields,
    createdAt: { type: Date, required: true },
  },
  { versionKey: false, collection: 'mail_items' },
);
// Serves a person's mail list and pending counts: { orgId, personId } sorted by registeredAt.
schema.index({ orgId: 1, personId: 1, registeredAt: -1 });
// Serves an org's registrations of a day: { orgId, registeredAt in [start, end) }.
schema.index({ orgId: 1, registeredAt: 1 });
// Serves retried requests: one item per (org, Idempotency-Key).
schema.index({ orgId: 1, idempotencyKey: 1 }, { unique: true });

export class MailItems extends TenantRepository<MailItemDoc> {
  static open(db: Connection): MailItems {
    return new MailItems(db.model<MailItemDoc>('MailItem', schema));
  }

  get raw(): Model<MailItemDoc> {
    return this.model;
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  /**
   * Inserts new items in one command. An item whose Idempotency-Key was already
   * used in its org resolves to the stored item instead (no second registration).
   * Throws when the database cannot prove every item's outcome (see insertEach).
   */
  async insertBatch(docs: MailItemDoc[]): Promise<{ doc: MailItemDoc; created: boolean }[]> {
    const inserted = await insertEach(this.model, docs as unknown as Record<string, unknown>[]);
    const out: { doc: MailItemDoc; created: boolean }[] = [];
    for (const [i, doc] of docs.entries()) {
      if (inserted[i]) {
        out.push({ doc, created: true });
        continue;
      }
      const existing = await this.findOne(doc.orgId, { idempotencyKey: doc.idempotencyKey });
      if (!existing) throw new Error('mail item insert conflicted but no item holds its key');
      // The same item stored by an earlier command that then failed as a whole (the group commit
      // writes it again alone): it is this registration's own, and its event is still to publish.
      out.push({ doc: existing, created: existing._id === doc._id });
    }
    return out;
  }

  /** The items already registered under these Idempotency-Keys, by key. */
  async byIdempotencyKeys(orgId: string, keys: string[]): Promise<Map<string, MailItemDoc>> {
    const docs = await this.find(orgId, { idempotencyKey: { $in: keys } }).exec();
    return new Map(docs.map((d) => [d.idempotencyKey, d]));
  }

  pendingForPerson(orgId: string, personId: string) {
    return this.find(orgId, { personId, status: 'pending' }).limit(5000).exec();
  }

  /**
   * Marks items handed over, each group with its event id in the same single-document writes.
   * Only items still pending change; the others are left as they are. Returns the events of
   * the groups that changed at least one item.
   */
  async markHandedOver(orgId: string, groups: { ids: string[]; event: Envelope }[], handOver: HandOver): Promise<Envelope[]> {
    const applied: Envelope[] = [];
    for (const g of groups) {
      const res = await this.model
        .updateMany(this.scoped(orgId, { _id: { $in: g.ids }, status: 'pending' }), {
          $set: { status: 'handedOver', handOver },
          $push: eventIdsPush([g.event]),
        })
        .exec();
      if (res.modifiedCount > 0) applied.push(g.event);
    }
    return applied;
  }

  byIds(orgId: string, ids: string[]) {
    return this.find(orgId, { _id: { $in: ids } }).exec();
  }

  registeredBetween(orgId: string, from: Date, to: Date) {
    return this.find(orgId, { registeredAt: { $gte: from, $lt: to } })
      .sort({ registeredAt: 1 })
      .limit(10_000)
      .exec();
  }

  forPerson(orgId: string, personId: string) {
    return this.find(orgId, { personId }).sort({ registeredAt: -1 }).limit(1000).exec();
  }
}
