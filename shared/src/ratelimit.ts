import type { KV, NatsConnection } from 'nats';

/**
 * A rate limit shared by every instance of a service: units per second per key (an SMS
 * sender's segments), counted in a JetStream key-value bucket with compare-and-set, so
 * instances never hand out more than the limit in one second between them.
 */
export class SharedRateLimit {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, bucket: string): Promise<SharedRateLimit> {
    const kv = await nc.jetstream().views.kv(bucket, { history: 1, ttl: 60_000 });
    return new SharedRateLimit(kv);
  }

  /**
   * Waits until `units` fit in the current one-second window of `key`, then takes them.
   * A single request larger than the limit is let through alone in an empty window.
   * Returns the second (epoch) whose budget the units were taken from.
   */
  async take(key: string, units: number, perSecond: number, signal?: AbortSignal): Promise<number | null> {
    if (perSecond <= 0 || units <= 0) return null;
    const k = Buffer.from(key).toString('base64url') || '_';
    for (;;) {
      if (signal?.aborted) throw new Error('rate limit wait aborted');
      const second = Math.floor(Date.now() / 1000);
      const entry = await this.kv.get(k);
      const current = entry && entry.value.length ? (JSON.parse(Buffer.from(entry.value).toString()) as { s: number; used: number }) : null;
      const used = current && current.s === second ? current.used : 0;
      if (used === 0 || used + units <= perSecond) {
        const next = Buffer.from(JSON.stringify({ s: second, used: used + units }));
        try {
          if (entry) await this.kv.update(k, next, entry.revision);
          else await this.kv.create(k, next);
          return second;
        } catch {
          continue; // another instance took units first: read again
        }
      }
      await new Promise((r) => setTimeout(r, (second + 1) * 1000 - Date.now() + 1));
    }
  }
}
