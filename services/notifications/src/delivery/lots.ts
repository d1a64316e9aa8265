import mongoose, { type Connection, type Model } from 'mongoose';
import { chunks, insertManyIgnoringDuplicates } from '@relais/shared';
import type { LotDoc, SendItem } from './lot';

const schema = new mongoose.Schema<LotDoc>(
  {
    _id: String,
    orgId: { type: String, required: true },
    dueAt: { type: Date, required: true },
    attempt: { type: Number, required: true },
    round: { type: Number, required: true },
    recover: { type: Boolean, required: true },
    checkedAt: { type: Date, required: true },
    state: { type: String, enum: ['ready', 'done'], required: true },
    createdAt: { type: Date, required: true },
    doneAt: { type: Date, default: null },
    payload: { type: String, default: null },
  },
  { versionKey: false, collection: 'send_lots' },
);
// Serves the sender (ready lots due, oldest first) and the reconciler (ready lots overdue): { state, dueAt }.
schema.index({ state: 1, dueAt: 1 });
// Serves the removal of lots sent long ago: { state: 'done', doneAt < cut-off }.
schema.index({ doneAt: 1 });

/** Send lots: the unit the sender claims (one claim, one consent re-check, set-wise outcome writes). */
export class SendLots {
  private constructor(private readonly model: Model<LotDoc>) {}

  static open(db: Connection): SendLots {
    return new SendLots(db.model<LotDoc>('SendLot', schema));
  }

  init = () => this.model.createIndexes();

  /** Creates lots that do not exist yet (ids are deterministic: a slot processed twice adds nothing). */
  async insertNew(lots: LotDoc[]): Promise<number> {
    let created = 0;
    for (const part of chunks(lots, 500)) created += await insertManyIgnoringDuplicates(this.model, part as unknown as Record<string, unknown>[]);
    return created;
  }

  /** Ready lots due by `now`, oldest first, without their payload (most are claimed by another instance). */
  ready(now: Date, limit: number): Promise<LotDoc[]> {
    return this.model
      .find({ state: 'ready', dueAt: { $lte: now } }, { payload: 0 })
      .sort({ dueAt: 1 })
      .limit(limit)
      .lean<LotDoc[]>()
      .exec();
  }

  /** The deliveries a lot's first round sends, when the scheduler wrote them with it and nothing dropped them since. */
  async payload(id: string): Promise<SendItem[] | null> {
    const lot = await this.model.findById(id, { payload: 1 }).lean<Pick<LotDoc, 'payload'>>().exec();
    return lot?.payload ? (JSON.parse(lot.payload) as SendItem[]) : null;
  }

  /** Whether the lot still has its payload (none was dropped since it was read). */
  async payloadKept(id: string): Promise<boolean> {
    return (await this.model.exists({ _id: id, payload: { $ne: null } }).exec()) !== null;
  }

  /** Drops the payload of these lots: their deliveries are read from the rows (one of them is being closed). */
  async dropPayloads(ids: string[]): Promise<void> {
    for (const part of chunks(ids, 500)) await this.model.updateMany({ _id: { $in: part }, payload: { $ne: null } }, { $set: { payload: null } }).exec();
  }

  /** Ready lots due before `before`: a backlog, or lots whose sender died. */
  overdue(before: Date, limit: number): Promise<LotDoc[]> {
    return this.model
      .find({ state: 'ready', dueAt: { $lt: before } })
      .limit(limit)
      .lean<LotDoc[]>()
      .exec();
  }

  async byIds(ids: string[]): Promise<Map<string, LotDoc>> {
    const out = new Map<string, LotDoc>();
    for (const part of chunks(ids, 500)) {
      for (const lot of await this.model
        .find({ _id: { $in: part } })
        .lean<LotDoc[]>()
        .exec())
        out.set(lot._id, lot);
    }
    return out;
  }

  /** Closes a lot once its outcomes are recorded; a lot reopened meanwhile (another round) stays open. */
  async done(lot: Pick<LotDoc, '_id' | 'round'>, at: Date): Promise<void> {
    await this.model.updateOne({ _id: lot._id, round: lot.round }, { $set: { state: 'done', doneAt: at, payload: null } }).exec();
  }

  /**
   * Opens the lot again as a new round whose deliveries are looked up at the provider before they
   * are sent. The caller holds the claim that makes it the only one reopening this round.
   */
  async reopen(lot: Pick<LotDoc, '_id' | 'round'>): Promise<void> {
    await this.model
      .updateOne({ _id: lot._id, round: lot.round }, { $set: { state: 'ready', recover: true, round: lot.round + 1, doneAt: null, payload: null } })
      .exec();
  }

  prune(before: Date) {
    return this.model.deleteMany({ state: 'done', doneAt: { $lt: before } }).exec();
  }
}
