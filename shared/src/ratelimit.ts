import type { KV, NatsConnection } from 'nats';

interface Waiter {
  units: number;
  perSecond: number;
  signal?: AbortSignal;
  resolve(turn: number): void;
  reject(err: Error): void;
}

/** How far ahead of its turn a take may be let through: the only burst allowed (2% of a second). */
const TOLERANCE_MS = 20;

/**
 * A rate limit shared by every instance of a service: units per second per key (an SMS
 * sender's segments). Each unit has its turn, 1/perSecond after the one before (a generic cell
 * rate algorithm): the key's entry in a JetStream key-value bucket holds when the next turn
 * comes, moved by compare-and-set, so instances never hand out more than the limit between them,
 * over any span (not only within calendar seconds, where two bursts could meet at a boundary).
 *
 * Within an instance, the takes of a key wait in one queue, served in order, and one
 * compare-and-set serves every waiter whose turn has come: concurrent callers do not race each
 * other for the entry.
 */
export class SharedRateLimit {
  private readonly queues = new Map<string, Waiter[]>();

  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, bucket: string): Promise<SharedRateLimit> {
    const kv = await nc.jetstream().views.kv(bucket, { history: 1, ttl: 60_000 });
    return new SharedRateLimit(kv);
  }

  /**
   * Waits for the turn of `units` on `key`, then takes it. Takes are served in the order they
   * were asked; one larger than a second's budget goes when its turn comes, and those after it
   * wait for its share. Returns when the turn came (epoch ms).
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
        const entry = await this.kv.get(k);
        const stored = entry && entry.value.length ? (JSON.parse(Buffer.from(entry.value).toString()) as { next?: number }) : null;
        const now = Date.now();
        const first = Math.max(stored?.next ?? 0, now);
        // The waiters at the head whose turn has come.
        const turns: number[] = [];
        let next = first;
        while (turns.length < queue.length && next - now <= TOLERANCE_MS) {
          turns.push(next);
          next += (queue[turns.length - 1].units * 1000) / queue[turns.length - 1].perSecond;
        }
        if (turns.length === 0) {
          await new Promise((r) => setTimeout(r, first - now - TOLERANCE_MS));
          continue;
        }
        const value = Buffer.from(JSON.stringify({ next }));
        try {
          if (entry) await this.kv.update(k, value, entry.revision);
          else await this.kv.create(k, value);
        } catch {
          continue; // another instance took a turn first: read again
        }
        queue.splice(0, turns.length).forEach((w, i) => w.resolve(turns[i]));
      }
    } catch (err) {
      // The bucket is unreachable: every waiter hears of it, none is left hanging.
      for (const w of queue.splice(0)) w.reject(err as Error);
    } finally {
      this.queues.delete(k);
    }
  }
}
