/**
 * Group commit: concurrent callers' items are written together in one database
 * command (FerretDB and MongoDB both pay per round trip). Each caller gets its
 * own item's outcome. A batch is written when it is full or after `maxWaitMs`.
 *
 * Callers are isolated: when a batch's write fails as a whole, each of its items is written
 * again alone, so one caller's bad item fails that caller only and never the others'.
 * `write` must therefore be idempotent per item (a retried item that the failed command did
 * store resolves as stored), which every Relais write is (unique ids, dedupe keys).
 */
const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

export class Batcher<I, R> {
  private pending: { item: I; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;

  constructor(
    /** Writes a batch; returns one outcome (a result or an Error) per item, in order. */
    private readonly write: (items: I[]) => Promise<(R | Error)[]>,
    private readonly opts: { maxItems: number; maxWaitMs: number; maxConcurrent?: number },
  ) {}

  add(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.opts.maxItems) this.flushSoon(0);
      else this.flushSoon(this.opts.maxWaitMs);
    });
  }

  private flushSoon(ms: number): void {
    if (this.timer && ms > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    // While the database is busy, let items gather into the next, larger batch.
    if (this.inFlight >= (this.opts.maxConcurrent ?? 2)) {
      this.flushSoon(this.opts.maxWaitMs);
      return;
    }
    const batch = this.pending.splice(0, this.opts.maxItems);
    this.inFlight++;
    try {
      const outcomes = await this.write(batch.map((b) => b.item)).catch(async (err: unknown) => {
        if (batch.length === 1) return [asError(err)];
        // One at a time: the failure may be the database's load, not an item.
        const alone: (R | Error)[] = [];
        for (const b of batch) {
          alone.push(await this.write([b.item]).then((o) => o[0], asError));
        }
        return alone;
      });
      batch.forEach((b, i) => {
        const o = outcomes[i];
        if (o instanceof Error) b.reject(o);
        else b.resolve(o);
      });
    } catch (err) {
      for (const b of batch) b.reject(err);
    } finally {
      this.inFlight--;
      if (this.pending.length > 0) this.flushSoon(this.pending.length >= this.opts.maxItems ? 0 : this.opts.maxWaitMs);
    }
  }
}
