import type { NotificationsConfig } from '../config';

/*
 * The sender's knobs, each with its reason: those set from the config, those derived from it, and
 * the constants. Crash safety rests on a few of them together: a lot stops starting calls after
 * `maxBatchMs` (a third of STUCK_AFTER_MS), well before the reconciler takes a lot whose claim is
 * older than STUCK_AFTER_MS for a dead sender's.
 */

export interface SenderOptions {
  owner: string;
  /** Provider calls in flight at once per instance. */
  concurrency: number;
  /** Segments per second per sender id, shared by all instances (0: no limit). */
  ratePerSecond: number;
  retryBaseMs: number;
  maxAttempts: number;
  /**
   * A lot stops starting provider calls this long after it was claimed (a wait behind the lot before
   * it, or rate-limit waits, can stretch it); the rest goes to a new lot due at once, well before the
   * reconciler would take the lot for a crash.
   */
  maxBatchMs: number;
  /** A provider call left without an answer is asked about after this long. */
  stuckAfterMs: number;
  /**
   * Recorded outcomes are applied to the rows once nothing was sent for this long: not between the
   * lots of a slot still being written, where the updates would hold up the next lot.
   */
  applyAfterIdleMs: number;
  /**
   * Recorded results of this instance left pending at most, however long a backlog keeps it busy:
   * past it, the oldest are applied between passes (every status read goes through the pending ones).
   */
  maxPendingResults: number;
}

/** Transport errors after which the provider may or may not have accepted the message. */
export const AMBIGUOUS = new Set(['timeout', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/** Consent changes applied this long before a lot's recipients were read are applied again (clock skew between instances). */
export const RECHECK_MARGIN_MS = 60_000;

/** Ready lots read per pass: enough for an instance to find one that others have not claimed. */
export const LOTS_PER_PASS = 8;

/**
 * Lots taken in one pass at most, offered ones included: a pass ends between lots now and then, so
 * the cap on pending results is checked even while a long slot keeps offering lots.
 */
export const MAX_LOTS_PER_PASS = 20;

/** Lots offered by this instance's scheduler kept until the next pass at most (the rest are found as ready lots). */
export const MAX_OFFERED = 100;

/** Recorded results applied per idle pass: a pass stays short, so a lot that comes due waits little. */
export const RESULTS_PER_PASS = 2;

/** The sender's options for `owner` from the service's config. */
export function senderOptions(config: NotificationsConfig, owner: string): SenderOptions {
  return {
    owner,
    stuckAfterMs: config.STUCK_AFTER_MS,
    concurrency: config.SEND_CONCURRENCY,
    ratePerSecond: config.SMS_RATE_LIMIT,
    retryBaseMs: config.RETRY_BASE_MS,
    maxAttempts: config.MAX_ATTEMPTS,
    // A third of the delay after which the reconciler reopens a lot: a live sender is done long before.
    maxBatchMs: Math.max(1_000, config.STUCK_AFTER_MS / 3),
    // Two send intervals without a lot: the slot is over, not between two of its lots.
    applyAfterIdleMs: Math.max(1_000, 2 * config.SEND_INTERVAL_MS),
    // A slot of 150,000 at the default lot size leaves 300: a slot's rows catch up after it, not
    // between its lots; a longer backlog is applied as it goes.
    maxPendingResults: 300,
  };
}
