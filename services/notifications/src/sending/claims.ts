import mongoose, { type Connection, type Model } from 'mongoose';
import { chunks, insertEach, modelOf } from '@relais/shared';

/**
 * Claims: which instance handles a slot, a reminder, a send lot or the reopening of a lot. A unique
 * insert is the only claim that holds under concurrency on every database Relais runs on
 * (FerretDB's conditional updates are not atomic between clients). Keys name what they claim and
 * its round or lease (`send:<lot>:<round>`, `slot:<org>:<slot>:<lease>`), so a claim is never
 * released: a new round or lease is a new key.
 */
interface ClaimDoc {
  _id: string;
  owner: string;
  at: Date;
}
const schema = new mongoose.Schema<ClaimDoc>(
  { _id: String, owner: { type: String, required: true }, at: { type: Date, required: true } },
  { versionKey: false, collection: 'claims' },
);
// Serves the removal of old claims: { at < cut-off }.
schema.index({ at: 1 });

export class Claims {
  private constructor(private readonly model: Model<ClaimDoc>) {}

  static open(db: Connection): Claims {
    return new Claims(modelOf<ClaimDoc>(db, 'Claim', schema));
  }

  init = () => this.model.createIndexes();

  /** Claims each key for `owner`; returns the keys this call won. */
  async claim(keys: string[], owner: string, at: Date): Promise<Set<string>> {
    const won = new Set<string>();
    for (const part of chunks(keys, 500)) {
      const inserted = await insertEach(
        this.model,
        part.map((k) => ({ _id: k, owner, at })),
      );
      part.forEach((k, i) => inserted[i] && won.add(k));
    }
    return won;
  }

  /** Those of `keys` claimed before `before`. */
  async claimedBefore(keys: string[], before: Date): Promise<Set<string>> {
    const out = new Set<string>();
    for (const part of chunks(keys, 500)) {
      for (const c of await this.model
        .find({ _id: { $in: part }, at: { $lt: before } }, { _id: 1 })
        .lean<ClaimDoc[]>()
        .exec())
        out.add(c._id);
    }
    return out;
  }

  prune(before: Date) {
    return this.model.deleteMany({ at: { $lt: before } }).exec();
  }
}
