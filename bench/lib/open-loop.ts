import { readFileSync } from 'node:fs';
import { quantile } from './http';

/**
 * An open-loop load: request i is due at start + i / rate, and is sent then whatever the earlier
 * answers (none is waited for). Its latency counts from when it was due, not from when it left,
 * so a sender held up by a busy event loop, or requests queued behind slow ones, show in the
 * figures instead of silently lowering the rate (no coordinated omission).
 *
 * A contender that cannot keep up makes the queue grow without end: once more than `maxInFlight`
 * requests await their answer, no more are sent, the run is marked overloaded and ends when the
 * requests sent have been answered (or have failed).
 */
export interface Sample {
  route: string;
  /** Due time to answer, ms. */
  ms: number;
  /** When it was due, ms from the first request's due time. */
  at: number;
  status: number;
  /** A size of the answer to compare contenders (items of a list, defaults of a file), -1 if none. */
  size: number;
}

export interface LoadRun {
  /** One per request sent, in the order they were due (the unsent ones of an overloaded run are absent). */
  samples: Sample[];
  /** Requests that failed without an answer (connection error, timeout), with their messages. */
  failures: string[];
  /** How late the sender was at worst in sending a request, ms (a sign the load generator itself was short of CPU). */
  maxSendLag: number;
  /** From the first due time to the last answer, ms. */
  ms: number;
  /** When more than maxInFlight were awaiting an answer: the index of the first request not sent. */
  overloadedAt: number | null;
  /** The most requests awaiting their answer at once. */
  maxInFlight: number;
}

export interface Shot {
  route: string;
  send: () => Promise<{ status: number; size: number }>;
}

export async function openLoop(count: number, rate: number, shot: (i: number) => Shot, opts: { signal: AbortSignal; maxInFlight: number }): Promise<LoadRun> {
  const interval = 1000 / rate;
  const samples: Sample[] = [];
  const failures: string[] = [];
  const inFlight: Promise<void>[] = [];
  let pending = 0;
  let maxInFlight = 0;
  let maxSendLag = 0;
  let overloadedAt: number | null = null;
  const t0 = performance.now() + 20;
  for (let i = 0; i < count; i++) {
    if (opts.signal.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error(String(opts.signal.reason));
    const due = t0 + i * interval;
    const wait = due - performance.now();
    // setTimeout fires a millisecond or so late at best: requests due meanwhile leave at once.
    if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
    if (pending >= opts.maxInFlight) {
      overloadedAt = i;
      break;
    }
    maxSendLag = Math.max(maxSendLag, performance.now() - due);
    const { route, send } = shot(i);
    const at = samples.length;
    samples.push({ route, ms: NaN, at: due - t0, status: -1, size: -1 });
    pending++;
    maxInFlight = Math.max(maxInFlight, pending);
    inFlight.push(
      send()
        .then(
          ({ status, size }) => void (samples[at] = { route, ms: performance.now() - due, at: due - t0, status, size }),
          (err: Error) => {
            samples[at] = { route, ms: performance.now() - due, at: due - t0, status: 0, size: -1 };
            failures.push(`${route}: ${err.message}`);
          },
        )
        .finally(() => pending--),
    );
  }
  await Promise.all(inFlight);
  return { samples, failures, maxSendLag, ms: performance.now() - t0, overloadedAt, maxInFlight };
}

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
  /** Answers other than 200 (0 = no answer). */
  errors: number;
}

export function stats(samples: readonly Sample[]): Stats {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  return {
    n: ms.length,
    p50: quantile(ms, 0.5),
    p99: quantile(ms, 0.99),
    max: ms[ms.length - 1] ?? NaN,
    errors: samples.filter((s) => s.status !== 200).length,
  };
}

/** Per route (in the order given), then "all". */
export function statsByRoute(samples: readonly Sample[], routes: readonly string[]): Map<string, Stats> {
  const out = new Map<string, Stats>();
  for (const r of routes) out.set(r, stats(samples.filter((s) => s.route === r)));
  out.set('all', stats(samples));
  return out;
}

/** A small seeded generator (mulberry32): every contender replays the same requests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The i-th pick of a smooth weighted round robin (nginx's): with weights 1,1,1,1 the routes in
 * turn; with 3,1 a, a, b, a, a, a, b, a...: each route spread evenly over the sequence.
 */
export function weightedCycle(weights: readonly number[], n: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const current = weights.map(() => 0);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let best = -1;
    for (let k = 0; k < weights.length; k++) {
      if (weights[k] <= 0) continue;
      current[k] += weights[k];
      if (best < 0 || current[k] > current[best]) best = k;
    }
    current[best] -= total;
    out.push(best);
  }
  return out;
}

/** CPU the given processes used over `ms`, in cores (1 = one core busy); null without /proc. */
export async function processesBusy(pids: readonly number[], ms: number): Promise<number | null> {
  const ticks = () => {
    let sum = 0;
    for (const pid of pids) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        sum += Number(fields[11]) + Number(fields[12]);
      } catch {
        // exited
      }
    }
    return sum;
  };
  if (pids.length === 0) return null;
  const a = ticks();
  const t = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  // USER_HZ is 100 on Linux.
  return (ticks() - a) / 100 / ((performance.now() - t) / 1000);
}
