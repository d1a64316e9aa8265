import mongoose, { type Connection, type Model } from 'mongoose';
import { chunks, modelOf, upsertNewer } from '@relais/shared';
import { emptySummary, summaryOf, type ExchangeDoc, type Summary } from '../domain/exchanges';

/** The summary of one request, as stored: `<orgId>:<requestId>`, recounted after each write to its exchanges. */
interface SummaryDoc extends Summary {
  _id: string;
  orgId: string;
  requestId: string;
  /** When it was recounted: a recount that read fewer exchanges never overwrites a later one. */
  changedAt: Date;
}

const schema = new mongoose.Schema<SummaryDoc>(
  {
    _id: String,
    orgId: { type: String, required: true },
    requestId: { type: String, required: true },
    count: { type: Number, required: true },
    reminders: { type: Number, required: true },
    shown: { type: Number, default: 0 },
    latest: { type: mongoose.Schema.Types.Mixed, default: [] },
    changedAt: { type: Date, required: true },
  },
  // No secondary index: summaries are read by _id (the org and request ids), up to 1,000 at once.
  { versionKey: false, collection: 'exchange_summaries', minimize: false },
);

const key = (orgId: string, requestId: string) => `${orgId}:${requestId}`;

/**
 * Most summaries read per query: a list's whole page (the API takes 1,000). FerretDB answers a find
 * in about the same time for 500 ids as for 1,000 (measured: ~300 ms either way for 1,000 summaries
 * on 2 cores), so one query, not two, is what keeps a page at the floor's cost.
 */
const READ_CHUNK = 1000;

/** Per request, how many exchanges it has, whether one is a reminder, and the latest: the read model behind lists. */
export class Summaries {
  private constructor(
    private readonly model: Model<SummaryDoc>,
    private readonly updateBatch: number,
  ) {}

  static open(db: Connection, updateBatch: number): Summaries {
    return new Summaries(modelOf<SummaryDoc>(db, 'ExchangeSummary', schema), updateBatch);
  }

  init = () => this.model.createIndexes();

  /**
   * Stores the recount of a request's exchanges as read at `readAt`. Two recounts at once: the one
   * read later saw the other's exchange too, and the earlier one does not overwrite it.
   */
  async recount(orgId: string, requestId: string, exchanges: readonly ExchangeDoc[], readAt: Date): Promise<void> {
    await upsertNewer(this.updateBatch, this.model, [{ _id: key(orgId, requestId), orgId, requestId, ...summaryOf(exchanges), changedAt: readAt }]);
  }

  /** The summaries of these requests of the org, in their order; a request without exchanges has an empty one. */
  async of(orgId: string, requestIds: readonly string[]): Promise<{ requestId: string; summary: Summary }[]> {
    const found = new Map<string, Summary>();
    for (const part of chunks([...new Set(requestIds)], READ_CHUNK)) {
      const docs = await this.model
        .find({ orgId, _id: { $in: part.map((id) => key(orgId, id)) } }, { requestId: 1, count: 1, reminders: 1, shown: 1, latest: 1 })
        .lean<SummaryDoc[]>()
        .exec();
      for (const d of docs) found.set(d.requestId, { count: d.count, reminders: d.reminders, shown: d.shown ?? 0, latest: d.latest });
    }
    return requestIds.map((requestId) => ({ requestId, summary: found.get(requestId) ?? emptySummary() }));
  }
}
