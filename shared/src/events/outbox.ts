import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import type { Connection, Model } from 'mongoose';
import type { Envelope } from './contracts';
import type { DurableEvents, Logger } from './durable';
import { chunks } from '../db';
import { withTimeout } from '../timeout';

/**
 * Transactional outbox without transactions, and without touching a document after its write.
 *
 * 1. The events a write will produce are recorded first, in one small document of the outbox
 *    collection (an intent: the events and the ids of the documents the write touches).
 * 2. The write itself stores, in each document it changes, the ids of the events it applied
 *    (`eventIds`), in the same single-document write as the change.
 * 3. The applied events are published (Nats-Msg-Id = event id), then the intent is deleted.
 *
 * A crash or a failed publish leaves the intent: the sweep takes intents older than `sweepAfterMs`,
 * publishes those of their events that some document holds (the write happened) and drops the rest
 * (it did not). Consumers dedupe by event id, and JetStream drops a second publish of an id.
 *
 * Why not flags on the documents, cleared after the publish: that clear is one more update per
 * document, which costs as much as the write itself on FerretDB (a PostgreSQL round trip per updated
 * document); an intent costs one insert and one delete per batch of writes, whatever its size.
 */

/** How many event ids a document keeps (newest last): far more than it can gain while an intent waits for the sweep. */
export const OUTBOX_KEEP = 50;

/** The fields an outbox-carrying document has. */
export interface OutboxFields {
  /** Ids of the events its writes produced, newest last (the last OUTBOX_KEEP). */
  eventIds: string[];
}

/** Schema fields of an outbox-carrying document (spread into its mongoose schema definition). */
export const outboxSchemaFields = {
  eventIds: { type: [String], default: () => [] },
};

/** The update part recording that a write applied these events (goes in the same update as the change). */
export function eventIdsPush(events: readonly Envelope[]) {
  return { eventIds: { $each: events.map((e) => e.id), $slice: -OUTBOX_KEEP } };
}

/** What a write reports back: its result, and which of the recorded events it applied. */
export interface Written<T> {
  result: T;
  applied: readonly Envelope[];
}

/** What the outbox uses of the model of the collection the writes go to: its name, connection and a find. */
export interface WrittenCollection {
  collection: { collectionName: string };
  db: Connection;
  find(filter: object, projection: object): { lean<R>(): { exec(): Promise<R> } };
}

export interface OutboxOptions {
  events: DurableEvents;
  /** The collection the writes go to: the intents live next to it, in `<collection>_outbox`. */
  model: WrittenCollection;
  dbTimeoutMs: number;
  /**
   * Intents older than this are the sweep's. It must be well beyond the longest a write can take,
   * so that the sweep never decides on a write still under way (default: 60 s, at least 4 database timeouts).
   */
  sweepAfterMs?: number;
  logger?: Logger;
}

interface Intent {
  _id: string;
  docIds: string[];
  /**
   * The envelopes as one JSON string: the database keeps it opaque, where nested documents are
   * converted field by field (on FerretDB, 12 ms to insert 100 envelopes nested, 4.6 ms as a string).
   */
  events: string;
  at: Date;
}

const intentSchema = new mongoose.Schema<Intent>(
  {
    _id: { type: String, required: true },
    docIds: { type: [String], required: true },
    events: { type: String, required: true },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
// Serves the sweep: intents written before a cut-off, oldest first.
intentSchema.index({ at: 1 });

const SWEEP_BATCH = 100;
const PUBLISH_BATCH = 500;

export class Outbox {
  private readonly intents: Model<Intent>;
  private readonly sweepAfterMs: number;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private queue: { intentId: string; events: readonly Envelope[] }[] = [];
  private draining: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly opts: OutboxOptions) {
    const name = `${opts.model.collection.collectionName}_outbox`;
    const db = opts.model.db;
    this.intents = (db.models[name] as Model<Intent>) ?? db.model<Intent>(name, intentSchema, name);
    this.sweepAfterMs = opts.sweepAfterMs ?? Math.max(60_000, 4 * opts.dbTimeoutMs);
  }

  async init(): Promise<void> {
    await this.intents.createIndexes();
  }

  /**
   * Records `events` for the documents `docIds`, makes the write, and publishes the events it applied
   * before returning. A failed publish is not the caller's error: the write is stored and the sweep
   * publishes its events later. A failed write throws, its intent left to the sweep to settle.
   */
  async write<T>(events: readonly Envelope[], docIds: readonly string[], write: () => Promise<Written<T>>): Promise<T> {
    const { intentId, written } = await this.record(events, docIds, write);
    if (intentId) {
      await this.settle([{ intentId, events: written.applied }]).catch((err) =>
        this.opts.logger?.warn({ error: (err as Error).message }, 'publish deferred to the outbox sweep'),
      );
    }
    return written.result;
  }

  /** As `write`, but publishes in the background: the caller answers as soon as the write is stored. */
  async writeSoon<T>(events: readonly Envelope[], docIds: readonly string[], write: () => Promise<Written<T>>): Promise<T> {
    const { intentId, written } = await this.record(events, docIds, write);
    if (intentId) {
      this.queue.push({ intentId, events: written.applied });
      this.draining ??= this.drain();
    }
    return written.result;
  }

  private async record<T>(
    events: readonly Envelope[],
    docIds: readonly string[],
    write: () => Promise<Written<T>>,
  ): Promise<{ intentId: string | null; written: Written<T> }> {
    if (events.length === 0) return { intentId: null, written: await write() };
    const intent: Intent = { _id: randomUUID(), docIds: [...new Set(docIds)], events: JSON.stringify(events), at: new Date() };
    await withTimeout(this.intents.insertMany([intent], { lean: true }), this.opts.dbTimeoutMs, 'outbox intent');
    return { intentId: intent._id, written: await write() };
  }

  /** Publishes the events, then deletes their intents (one delete for all). */
  private async settle(done: readonly { intentId: string; events: readonly Envelope[] }[]): Promise<void> {
    const unique = [...new Map(done.flatMap((d) => d.events.map((e) => [e.id, e] as const))).values()];
    for (const part of chunks(unique, PUBLISH_BATCH)) await this.opts.events.publish(part);
    const ids = done.map((d) => d.intentId);
    await withTimeout(this.intents.deleteMany({ _id: { $in: ids } }).exec(), this.opts.dbTimeoutMs, 'outbox intent delete');
  }

  /** What arrives while a publish runs is gathered into the next one. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch: typeof this.queue = [];
      let size = 0;
      while (this.queue.length > 0 && size < PUBLISH_BATCH) {
        const next = this.queue.shift()!;
        batch.push(next);
        size += next.events.length;
      }
      await this.settle(batch).catch((err) => this.opts.logger?.warn({ error: (err as Error).message }, 'publish deferred to the outbox sweep'));
    }
    this.draining = null;
  }

  /**
   * Settles the intents older than `sweepAfterMs` (a crash between the write and the publish, a failed
   * publish or write): publishes the events some document holds, drops the others, deletes the intents.
   * Returns how many events were republished.
   */
  async sweep(): Promise<number> {
    const before = new Date(Date.now() - this.sweepAfterMs);
    let republished = 0;
    for (;;) {
      const stale = await withTimeout(
        this.intents
          .find({ at: { $lt: before } })
          .sort({ at: 1 })
          .limit(SWEEP_BATCH)
          .lean<Intent[]>()
          .exec(),
        this.opts.dbTimeoutMs,
        'outbox sweep',
      );
      if (stale.length === 0) return republished;
      const recorded = stale.map((i) => ({ intentId: i._id, events: JSON.parse(i.events) as Envelope[] }));
      const docIds = [...new Set(stale.flatMap((i) => i.docIds))];
      const eventIds = recorded.flatMap((r) => r.events.map((e) => e.id));
      const written = new Set<string>();
      for (const part of chunks(docIds, 500)) {
        const docs = await withTimeout(
          this.opts.model
            .find({ _id: { $in: part }, eventIds: { $in: eventIds } }, { eventIds: 1 })
            .lean<{ eventIds: string[] }[]>()
            .exec(),
          this.opts.dbTimeoutMs,
          'outbox sweep lookup',
        );
        for (const d of docs) for (const id of d.eventIds) written.add(id);
      }
      const done = recorded.map((r) => ({ intentId: r.intentId, events: r.events.filter((e) => written.has(e.id)) }));
      await this.settle(done);
      republished += done.reduce((n, d) => n + d.events.length, 0);
      if (stale.length < SWEEP_BATCH || this.stopped) return republished;
    }
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
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.draining;
    await this.sweeping;
  }
}
