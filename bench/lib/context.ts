/** What scripts/bench.ts hands every benchmark. */
export interface BenchContext {
  mongoUrl: string;
  natsUrl: string;
  /** Every database, namespace and stream the benchmark creates starts with this; the runner removes them. */
  prefix: string;
  /** Aborted on the overall timeout or Ctrl-C: stop child processes and give up. */
  signal: AbortSignal;
}

export interface Benchmark {
  description: string;
  /**
   * Runs and returns the summary, printed by the runner after clean-up so that its last line
   * (`RESULT <name> <value> <unit> ratio=<relais/floor>`) is the last line of the run.
   */
  run(args: string[], ctx: BenchContext): Promise<string[]>;
}

/** The abort reason of `signal`, as an Error. */
const abortError = (signal: AbortSignal): Error => (signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));

/** Rejects with the abort reason as soon as `signal` is aborted (for Promise.race). */
export function whenAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(abortError(signal));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Positional `key=value` or bare values, in the order given by `names`. */
export function parseArgs<K extends string>(args: string[], defaults: Record<K, number>): Record<K, number> {
  const names = Object.keys(defaults) as K[];
  const out = { ...defaults };
  args.forEach((arg, i) => {
    const [key, value] = arg.includes('=') ? (arg.split('=', 2) as [string, string]) : [names[i], arg];
    if (!names.includes(key as K)) throw new Error(`unknown argument "${arg}" (expected ${names.map((n) => `${n}=<n>`).join(' ')})`);
    const n = Number(value);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${key} must be a positive integer (got "${value}")`);
    out[key as K] = n;
  });
  return out;
}

/** items/s, two decimals. */
export const rate = (items: number, ms: number) => (items / (ms / 1000)).toFixed(2);
