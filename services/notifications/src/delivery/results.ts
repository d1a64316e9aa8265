import mongoose, { type Connection, type Model } from 'mongoose';
import { insertManyIgnoringDuplicates, modelOf } from '@relais/shared';
import type { Attempt, FinalOutcome } from './status';

/**
 * The final outcomes of one attempt of a lot, recorded in one insert when the attempt ends and
 * applied to the deliveries afterwards (then removed). A delivery's status is its row with these
 * outcomes applied: every read that decides or shows a status takes them into account.
 *
 * Why apart from the rows: applying a lot's outcomes is an update per delivery, which on some
 * backends (FerretDB: a PostgreSQL round trip per updated document) costs several times the
 * insert of the row itself. Recording them in one document lets the next lot go out at once;
 * the rows catch up when the sender has nothing to send.
 */
interface LotResultDoc {
  /** `<lot>#<round>`: an attempt is recorded once. */
  _id: string;
  orgId: string;
  lot: string;
  /** The instance that recorded it applies it first; others take it over after a delay. */
  owner: string;
  attempt: number;
  startedAt: Date;
  at: Date;
  /** The outcomes as one JSON string: the database keeps it opaque instead of converting 500 nested documents. */
  outcomes: string;
}

const schema = new mongoose.Schema<LotResultDoc>(
  {
    _id: String,
    orgId: { type: String, required: true },
    lot: { type: String, required: true },
    owner: { type: String, required: true },
    attempt: { type: Number, required: true },
    startedAt: { type: Date, required: true },
    at: { type: Date, required: true },
    outcomes: { type: String, required: true },
  },
  { versionKey: false, collection: 'lot_results' },
);
// Serves the reads of an org's deliveries, which apply its pending results: { orgId }.
schema.index({ orgId: 1 });
// Serves the sender loading a lot again (its pending results leave out what they settled): { lot }.
schema.index({ lot: 1 });
// Serves applying the results, oldest first: { at }.
schema.index({ at: 1 });
// Serves the sender counting its own results and applying its oldest ones first: { owner }, by at.
schema.index({ owner: 1, at: 1 });

/** A recorded attempt, its outcomes parsed. */
export interface LotResult extends Attempt {
  id: string;
  orgId: string;
  owner: string;
  at: Date;
  outcomes: FinalOutcome[];
}

const parse = (d: LotResultDoc): LotResult => ({
  id: d._id,
  orgId: d.orgId,
  lot: d.lot,
  owner: d.owner,
  attempt: d.attempt,
  startedAt: d.startedAt,
  at: d.at,
  outcomes: JSON.parse(d.outcomes) as FinalOutcome[],
});

export class LotResults {
  private constructor(private readonly model: Model<LotResultDoc>) {}

  static open(db: Connection): LotResults {
    return new LotResults(modelOf<LotResultDoc>(db, 'LotResult', schema));
  }

  init = () => this.model.createIndexes();

  /** Records an attempt's final outcomes; recording the same attempt again changes nothing. */
  async insert(r: Omit<LotResult, 'id'> & { round: number }): Promise<void> {
    const doc: LotResultDoc = {
      _id: `${r.lot}#${r.round}`,
      orgId: r.orgId,
      lot: r.lot,
      owner: r.owner,
      attempt: r.attempt,
      startedAt: r.startedAt,
      at: r.at,
      outcomes: JSON.stringify(r.outcomes),
    };
    await insertManyIgnoringDuplicates(this.model, [doc as unknown as Record<string, unknown>]);
  }

  async forOrg(orgId: string): Promise<LotResult[]> {
    return (await this.model.find({ orgId }).lean<LotResultDoc[]>().exec()).map(parse);
  }

  async forLot(lot: string): Promise<LotResult[]> {
    return (await this.model.find({ lot }).lean<LotResultDoc[]>().exec()).map(parse);
  }

  /** The pending results of these lots: one equality each, which the lot index serves. */
  async forLots(lots: readonly string[]): Promise<LotResult[]> {
    return (await Promise.all(lots.map((lot) => this.forLot(lot)))).flat();
  }

  /** Every pending result (few: they are applied as soon as the sender is idle). */
  async all(): Promise<LotResult[]> {
    return (await this.model.find({}).lean<LotResultDoc[]>().exec()).map(parse);
  }

  countOf(owner: string): Promise<number> {
    return this.model.countDocuments({ owner }).exec();
  }

  /** The oldest results to apply: this instance's own, and those of others recorded before `othersBefore`. */
  async due(owner: string, othersBefore: Date, limit: number): Promise<LotResult[]> {
    const docs = await this.model
      .find({ $or: [{ owner }, { at: { $lt: othersBefore } }] })
      .sort({ at: 1 })
      .limit(limit)
      .lean<LotResultDoc[]>()
      .exec();
    return docs.map(parse);
  }

  async remove(id: string): Promise<void> {
    await this.model.deleteOne({ _id: id }).exec();
  }
}
