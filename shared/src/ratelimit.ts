import type { KV, NatsConnection } from 'nats';

interface Waiter {
  units: number;
  perSecond: number;
  signal?: AbortSignal;
  resolve(second: number): void;
  reject(err: Error): void;
}

/**
 * A rate limit shared by every instance of a service: units per second per key (an SMS
 * sender's segments), counted in a JetStream key-value bucket with compare-and-set, so
 * instances never hand out more than the limit in one second between them.
 *
 * Within an instance, the takes of a key wait in one queue and a single compare-and-set serves
 * every waiter that fits: concurrent callers do not race each other for the same entry, and a
 * window's budget costs a round trip or two instead of one per caller (with retries on every
 * conflict).
 */
export class SharedRateLimit {
  private readonly queues = new Map<string, Waiter[]>();

  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, bucket: string): Promise<SharedRateLimit> {
    const kv = await nc.jetstream().views.kv(bucket, { history: 1, ttl: 60_000 });
    return new SharedRateLimit(kv);
  }

  /**
   * Waits until `units` fit in the current one-second window of `key`, then takes them. Takes
   * are served in the order they were asked. A single request larger than the limit is let
   * through alone in an empty window. Returns the second (epoch) whose budget the units were taken from.
   */
  take(key: string, units: number, perSecond: number, signal?: AbortSignal): Promise<number | null> {
    if (perSecond <= 0 || units <= 0) return Promise.resolve(null);
    const k = Buffer.from(key).toString('base64url') || '_';
    return new Promise<number>((resolve, reject) => {
      const queue = this.queues.get(k);
      const waiter = { units, perSecond, signal, resolve, reject };
      if (queue) return void queue.push(waiter);
      this.queues.set(k, [waiter]);
      void this.serve(k);
    });
  }

  /** Serves the queue of a key until it is empty; one runs per key at a time. */
  private async serve(k: string): Promise<void> {
    const queue = this.queues.get(k)!;
    try {
      while (queue.length > 0) {
        for (let i = queue.length - 1; i >= 0; i--) {
          if (queue[i].signal?.aborted) queue.splice(i, 1)[0].reject(new Error('rate limit wait aborted'));
        }
        if (queue.length === 0) break;
        const second = Math.floor(Date.now() / 1000);
        const entry = await this.kv.get(k);
        const current = entry && entry.value.length ? (JSON.parse(Buffer.from(entry.value).toString()) as { s: number; used: number }) : null;
        const used = current && current.s === second ? current.used : 0;
        // The waiters at the head that fit (the first always does in an empty window).
        let units = 0;
        let served = 0;
        for (const w of queue) {
          if (used + units !== 0 && used + units + w.units > queue[0].perSecond) break;
          units += w.units;
          served++;
        }
        if (served === 0) {
          await new Promise((r) => setTimeout(r, (second + 1) * 1000 - Date.now() + 1));
          continue;
        }
        const next = Buffer.from(JSON.stringify({ s: second, used: used + units }));
        try {
          if (entry) await this.kv.update(k, next, entry.revision);
          else await this.kv.create(k, next);
        } catch {
          continue; // another instance took units first: read again
        }
        for (const w of queue.splice(0, served)) w.resolve(second);
      }
    } catch (err) {
      // The bucket is unreachable: every waiter hears of it, none is left hanging.
      for (const w of queue.splice(0)) w.reject(err as Error);
    } finally {
      this.queues.delete(k);
    }
  }
}
