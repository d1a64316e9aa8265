import mongoose from 'mongoose';
import type { Model } from 'mongoose';
import type { Envelope } from './contracts';
import type { DurableEvents, Logger } from './durable';
import { chunks, withTimeout } from '../db';

/**
 * Transactional outbox without transactions: a document is written together with the
 * events it produced (`outbox` field, one atomic single-document write). The events are
 * then published (Nats-Msg-Id = event id, so JetStream drops a second publish of one event)
 * and the documents cleared in one update per outbox length, off the request path. The sweep
 * republishes and clears what a crash left pending. Consumers dedupe by event id.
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

type OutboxDoc = { _id: unknown; outbox: Envelope[] };

const SWEEP_BATCH = 500;

export class Outbox {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private queue: OutboxDoc[] = [];
  private draining: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly opts: OutboxOptions) {}

  /** Publishes the given documents' events, then clears the documents. */
  async flush(docs: readonly OutboxDoc[]): Promise<void> {
    await this.send(docs);
    await this.clear(docs);
  }

  private async send(docs: readonly OutboxDoc[]): Promise<void> {
    const unique = [...new Map(docs.flatMap((d) => d.outbox.map((e) => [e.id, e] as const))).values()];
    if (unique.length > 0) await this.opts.events.publish(unique);
  }

  /**
   * One update per outbox length (nearly always one): a document is cleared only if its outbox still
   * holds as many events as were published, so an event added meanwhile stays for the next flush or sweep.
   */
  private async clear(docs: readonly OutboxDoc[]): Promise<void> {
    const byLength = new Map<number, unknown[]>();
    for (const d of docs) if (d.outbox.length > 0) byLength.set(d.outbox.length, [...(byLength.get(d.outbox.length) ?? []), d._id]);
    for (const [length, ids] of byLength) {
      for (const part of chunks(ids, 500)) {
        await withTimeout(
          this.opts.model
            .updateMany({ _id: { $in: part }, outboxPending: true, outbox: { $size: length } }, { $set: { outbox: [], outboxPending: false } })
            .exec(),
          this.opts.dbTimeoutMs,
          'outbox clear',
        );
      }
    }
  }

  /**
   * Publishes in the background: the write is durable already, so the caller need not wait.
   * What arrives while a publish runs is gathered into the next one. Publishing comes first:
   * published documents are cleared only when nothing waits to be published. A crash before
   * the clear is covered by the sweep (JetStream drops the second publish of an event id).
   */
  publishSoon(docs: readonly OutboxDoc[]): void {
    this.queue.push(...docs.filter((d) => d.outbox.length > 0));
    if (!this.draining && this.queue.length > 0) this.draining = this.drain();
  }

  /** Publishes and clears now, and never throws: what fails stays pending for the sweep (the write is stored either way). */
  async publish(docs: readonly OutboxDoc[]): Promise<void> {
    await this.flush(docs).catch((err) =>
      this.opts.logger?.warn({ error: (err as Error).message }, 'publish deferred to the outbox sweep'),
    );
  }

  private async drain(): Promise<void> {
    const published: OutboxDoc[] = [];
    while (this.queue.length > 0 || published.length > 0) {
      try {
        if (this.queue.length > 0) {
          const docs = this.queue.splice(0, 500);
          await this.send(docs);
          published.push(...docs);
        } else {
          await this.clear(published.splice(0, 500));
        }
      } catch (err) {
        this.opts.logger?.warn({ error: (err as Error).message }, 'publish deferred to the outbox sweep');
      }
    }
    this.draining = null;
  }

  /**
   * Republishes and clears the documents still pending well after their write (a crash between
   * the write and the publish, or a failed publish). Returns how many events were republished.
   */
  async sweep(): Promise<number> {
    const before = new Date(Date.now() - (this.opts.sweepAfterMs ?? 10_000));
    let republished = 0;
    for (;;) {
      const pending = await withTimeout(
        this.opts.model
          .find({ outboxPending: true, outboxAt: { $lt: before } }, { outbox: 1 })
          .limit(SWEEP_BATCH)
          .lean<OutboxDoc[]>()
          .exec(),
        this.opts.dbTimeoutMs,
        'outbox sweep',
      );
      await this.flush(pending);
      republished += pending.reduce((n, d) => n + d.outbox.length, 0);
      // A full batch: more may wait (after an outage); a document the clear skipped has a newer event, whose writer publishes it.
      if (pending.length < SWEEP_BATCH || this.stopped) return republished;
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

/** Schema fields of an outbox-carrying document (spread into its mongoose schema definition). */
export const outboxSchemaFields = {
  outbox: { type: mongoose.Schema.Types.Mixed, default: [] },
  outboxPending: { type: Boolean, required: true },
  outboxAt: { type: Date, required: true },
} as const;
