import mongoose from 'mongoose';
import type { Model } from 'mongoose';
import type { Envelope } from './contracts';
import type { DurableEvents, Logger } from './durable';
import { chunks, insertManyIgnoringDuplicates, withTimeout } from '../db';

/**
 * Transactional outbox without transactions: a document is written together with the
 * events it produced (`outbox` field, one atomic single-document write). The events are
 * then published and their publication recorded with an insert (`outbox_published`,
 * keyed by event id) — no update on the hot path, since updates are what FerretDB does
 * slowest. The sweep republishes the events of pending documents that have no mark
 * (a crash between write and publish) and clears documents whose events are all marked.
 * Consumers dedupe by event id.
 */
export interface OutboxFields {
  outbox: Envelope[];
  outboxPending: boolean;
  /** When the pending events were written: the sweep only takes what its writer should long have published. */
  outboxAt: Date;
}

export interface OutboxOptions {
  events: DurableEvents;
  model: Model<any>;
  dbTimeoutMs: number;
  /** Documents still pending after this long are republished by the sweep. */
  sweepAfterMs?: number;
  logger?: Logger;
}

/** Index serving the sweep: `{ outboxPending: true, outboxAt < t }`. Add it to every outbox-carrying schema. */
export const OUTBOX_INDEX = { outboxPending: 1, outboxAt: 1 } as const;

interface PublishedMark {
  _id: string;
  at: Date;
}
const publishedSchema = new mongoose.Schema<PublishedMark>(
  { _id: String, at: { type: Date, required: true } },
  { versionKey: false, collection: 'outbox_published' },
);
// Serves the removal of old marks: { at < cut-off }.
publishedSchema.index({ at: 1 });

export class Outbox {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private queue: { _id: unknown; outbox: Envelope[] }[] = [];
  private draining: Promise<void> | null = null;

  private readonly published: Model<PublishedMark>;
  private prunedAt = 0;

  constructor(private readonly opts: OutboxOptions) {
    const db = opts.model.db;
    this.published = (db.models.OutboxPublished as Model<PublishedMark>) ?? db.model<PublishedMark>('OutboxPublished', publishedSchema);
  }

  /** Creates the marks' index (call once at start). */
  async init(): Promise<void> {
    await this.published.createIndexes();
  }

  /** Publishes the given documents' events and records them as published. */
  async flush(docs: readonly { _id: unknown; outbox: Envelope[] }[]): Promise<void> {
    const unique = [...new Map(docs.flatMap((d) => d.outbox.map((e) => [e.id, e] as const))).values()];
    if (unique.length === 0) return;
    await this.opts.events.publish(unique);
    const at = new Date();
    await withTimeout(
      insertManyIgnoringDuplicates(this.published, unique.map((e) => ({ _id: e.id, at }))),
      this.opts.dbTimeoutMs,
      'outbox publication marks',
    );
  }

  /**
   * Publishes in the background: the write is durable already, so the caller need not wait.
   * What arrives while a flush runs is gathered into the next one; a crash is covered by the sweep.
   */
  publishSoon(docs: readonly { _id: unknown; outbox: Envelope[] }[]): void {
    this.queue.push(...docs.filter((d) => d.outbox.length > 0));
    if (!this.draining && this.queue.length > 0) this.draining = this.drain();
  }

  /** Publishes now and never throws: what fails stays pending for the sweep (the write is stored either way). */
  async publish(docs: readonly { _id: unknown; outbox: Envelope[] }[]): Promise<void> {
    await this.flush(docs).catch((err) =>
      this.opts.logger?.warn({ error: (err as Error).message }, 'publish deferred to the outbox sweep'),
    );
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.publish(this.queue.splice(0, 500));
    this.draining = null;
  }

  /**
   * Republishes events a crash left unpublished, then clears the documents whose events are
   * all published (only if their outbox still holds exactly those: a newer event stays).
   * Returns how many events were republished.
   */
  async sweep(): Promise<number> {
    if (Date.now() - this.prunedAt > 3600_000) {
      // Marks are needed only until the sweep clears their document: a day is ample.
      this.prunedAt = Date.now();
      await this.published.deleteMany({ at: { $lt: new Date(Date.now() - 24 * 3600_000) } }).exec();
    }
    const before = new Date(Date.now() - (this.opts.sweepAfterMs ?? 10_000));
    const pending = await withTimeout(
      this.opts.model
        .find({ outboxPending: true, outboxAt: { $lt: before } }, { outbox: 1 })
        .limit(200)
        .lean<{ _id: unknown; outbox: Envelope[] }[]>()
        .exec(),
      this.opts.dbTimeoutMs,
      'outbox sweep',
    );
    if (pending.length === 0) return 0;
    const ids = [...new Set(pending.flatMap((d) => d.outbox.map((e) => e.id)))];
    const marked = new Set<string>();
    for (const part of chunks(ids, 500)) {
      const found = await this.published.find({ _id: { $in: part } }, { _id: 1 }).lean<{ _id: string }[]>().exec();
      for (const m of found) marked.add(m._id);
    }
    const lost = pending.map((d) => ({ _id: d._id, outbox: d.outbox.filter((e) => !marked.has(e.id)) }));
    await this.flush(lost);
    for (const d of pending) {
      await withTimeout(
        this.opts.model
          .updateOne({ _id: d._id, outbox: { $size: d.outbox.length } }, { $set: { outbox: [], outboxPending: false } })
          .exec(),
        this.opts.dbTimeoutMs,
        'outbox clear',
      );
    }
    return lost.reduce((n, d) => n + d.outbox.length, 0);
  }

  start(intervalMs = 5_000): void {
    this.timer = setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = this.sweep()
        .then((n) => {
          if (n > 0) this.opts.logger?.warn({ republished: n }, 'outbox sweep republished events');
        })
        .catch((err) => this.opts.logger?.error({ error: (err as Error).message }, 'outbox sweep failed'))
        .finally(() => {
          this.sweeping = null;
        });
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.draining;
    await this.sweeping;
  }
}

/** Schema fields of an outbox-carrying document (spread into its mongoose schema definition). */
export const outboxSchemaFields = {
  outbox: { type: mongoose.Schema.Types.Mixed, default: [] },
  outboxPending: { type: Boolean, required: true },
  outboxAt: { type: Date, required: true },
} as const;
