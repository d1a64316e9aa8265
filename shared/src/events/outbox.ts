import mongoose from 'mongoose';
import type { Model } from 'mongoose';
import type { Envelope } from './contracts';
import type { DurableEvents, Logger } from './durable';
import { chunks, withTimeout } from '../db';

/**
 * Transactional outbox without transactions: a document is written together with
 * the events it produced (`outbox` field, one atomic single-document write), then
 * the events are published and the field cleared. A sweeper republishes what a
 * crash left behind; consumers dedupe by event id.
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
  updateBatch: number;
  dbTimeoutMs: number;
  /** Documents still pending after this long are republished by the sweep. */
  sweepAfterMs?: number;
  logger?: Logger;
}

/** Index serving the sweep: `{ outboxPending: true, outboxAt < t }`. Add it to every outbox-carrying schema. */
export const OUTBOX_INDEX = { outboxPending: 1, outboxAt: 1 } as const;

export class Outbox {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private queue: { _id: unknown; outbox: Envelope[] }[] = [];
  private draining: Promise<void> | null = null;

  constructor(private readonly opts: OutboxOptions) {}

  /**
   * Publishes the given documents' events and clears them. A document is cleared only
   * if its outbox still holds exactly what was published ($size): an event added
   * meanwhile keeps it pending for the sweep instead of being wiped unpublished.
   */
  async flush(docs: readonly { _id: unknown; outbox: Envelope[] }[]): Promise<void> {
    const withEvents = docs.filter((d) => d.outbox.length > 0);
    if (withEvents.length === 0) return;
    const unique = new Map(withEvents.flatMap((d) => d.outbox.map((e) => [e.id, e] as const)));
    await this.opts.events.publish([...unique.values()]);
    const bySize = new Map<number, unknown[]>();
    for (const d of withEvents) bySize.set(d.outbox.length, [...(bySize.get(d.outbox.length) ?? []), d._id]);
    for (const [size, ids] of bySize) {
      for (const part of chunks(ids, this.opts.updateBatch)) {
        await withTimeout(
          this.opts.model
            .updateMany({ _id: { $in: part }, outbox: { $size: size } }, { $set: { outbox: [], outboxPending: false } })
            .exec(),
          this.opts.dbTimeoutMs,
          'outbox clear',
        );
      }
    }
  }

  /**
   * Publishes in the background: the write is durable already, so the caller need not wait.
   * What arrives while a flush runs is gathered into the next one; a crash is covered by the sweep.
   */
  publishSoon(docs: readonly { _id: unknown; outbox: Envelope[] }[]): void {
    this.queue.push(...docs.filter((d) => d.outbox.length > 0));
    if (!this.draining && this.queue.length > 0) this.draining = this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, 500);
      await this.flush(batch).catch((err) =>
        this.opts.logger?.warn({ error: (err as Error).message }, 'publish deferred to the outbox sweep'),
      );
    }
    this.draining = null;
  }

  /** Republishes events left pending by a crash between write and publish. */
  async sweep(): Promise<number> {
    const before = new Date(Date.now() - (this.opts.sweepAfterMs ?? 10_000));
    const pending = await withTimeout(
      this.opts.model
        .find({ outboxPending: true, outboxAt: { $lt: before } }, { outbox: 1 })
        .limit(500)
        .lean<{ _id: unknown; outbox: Envelope[] }[]>()
        .exec(),
      this.opts.dbTimeoutMs,
      'outbox sweep',
    );
    await this.flush(pending);
    return pending.length;
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
