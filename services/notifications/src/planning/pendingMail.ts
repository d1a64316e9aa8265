import mongoose, { type Connection, type Model } from 'mongoose';
import { MAIL_KINDS, chunks, insertManyIgnoringDuplicates, type Envelope, type MailKind } from '@relais/shared';

/**
 * The notifications service's own view of mail items (read model fed by mail events).
 * One row per mail item, keyed by its id, so applying an event twice changes nothing.
 * Hand-over may arrive before registration (separate consumers): both writes are
 * order-independent.
 */
export interface PendingMailRow {
  _id: string;
  orgId: string;
  personId: string;
  kind?: MailKind;
  quantity?: number;
  registeredAt?: Date;
  handedOverAt: Date | null;
}

const schema = new mongoose.Schema<PendingMailRow>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    personId: { type: String, required: true },
    kind: { type: String, enum: MAIL_KINDS },
    quantity: Number,
    registeredAt: Date,
    handedOverAt: { type: Date, default: null },
  },
  { versionKey: false, collection: 'pending_mail' },
);
// Serves a person's counts: { orgId, personId, handedOverAt: null } grouped by kind.
schema.index({ orgId: 1, personId: 1, handedOverAt: 1 });
// Serves a digest slot: mail of an org registered in (previous cut-off, slot].
schema.index({ orgId: 1, registeredAt: 1 });

export class PendingMail {
  private constructor(
    private readonly model: Model<PendingMailRow>,
    private readonly updateBatch: number,
  ) {}

  static open(db: Connection, updateBatch: number): PendingMail {
    return new PendingMail(db.model<PendingMailRow>('PendingMail', schema), updateBatch);
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  async applyRegistered(events: Envelope<'mail.registered'>[]): Promise<void> {
    const rows = events.map((e) => ({
      _id: e.data.mailItemId,
      orgId: e.orgId,
      personId: e.data.personId,
      kind: e.data.kind,
      quantity: e.data.quantity,
      registeredAt: new Date(e.data.registeredAt),
      handedOverAt: null,
    }));
    const inserted = await insertManyIgnoringDuplicates(this.model, rows);
    if (inserted === rows.length) return;
    // Some rows exist: a redelivery (same values) or a hand-over seen first. Fill in the registration.
    for (const part of chunks(rows, this.updateBatch)) {
      await this.model.bulkWrite(
        part.map((r) => ({
          updateOne: {
            filter: { _id: r._id, orgId: r.orgId },
            update: { $set: { kind: r.kind, quantity: r.quantity, registeredAt: r.registeredAt } },
          },
        })),
        { ordered: false },
      );
    }
  }

  async applyHandedOver(events: Envelope<'mail.handedOver'>[]): Promise<void> {
    const ops = events.flatMap((e) =>
      e.data.mailItemIds.map((id) => ({
        updateOne: {
          filter: { _id: id, orgId: e.orgId },
          update: { $set: { handedOverAt: new Date(e.data.handedOverAt) }, $setOnInsert: { personId: e.data.personId } },
          upsert: true,
        },
      })),
    );
    for (const part of chunks(ops, this.updateBatch)) await this.model.bulkWrite(part, { ordered: false });
  }

  /** Mail of an org registered in (from, to]: the window of a digest slot. `onRow` sees each row as it is read. */
  async window(orgId: string, from: Date, to: Date, onRow?: (row: PendingMailRow) => void): Promise<PendingMailRow[]> {
    const rows: PendingMailRow[] = [];
    const cursor = this.model
      .find({ orgId, registeredAt: { $gt: from, $lte: to } }, { personId: 1, kind: 1, quantity: 1, handedOverAt: 1 })
      .lean<PendingMailRow>()
      .cursor({ batchSize: 5000 });
    for await (const row of cursor) {
      rows.push(row);
      onRow?.(row);
    }
    return rows;
  }

  /** Quantities not handed over, per kind. */
  async counts(orgId: string, personId: string): Promise<Record<MailKind, number>> {
    const groups = await this.model
      .aggregate<{ _id: MailKind; count: number }>([
        { $match: { orgId, personId, handedOverAt: null } },
        { $group: { _id: '$kind', count: { $sum: '$quantity' } } },
      ])
      .exec();
    const counts = Object.fromEntries(MAIL_KINDS.map((k) => [k, 0])) as Record<MailKind, number>;
    for (const g of groups) if (g._id) counts[g._id] = g.count;
    return counts;
  }
}
