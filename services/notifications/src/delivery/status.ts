import type { OutboxFields } from '@relais/shared';
import type { DeliveryChannel, DeliveryKind, DeliveryStatus } from '../contract/vocabulary';
import type { Encoding } from './sms';

/*
 * The pure rules of a delivery's status: the row, what a provider attempt comes to (an outcome),
 * and what an outcome changes in the row. Providers map their statuses onto this vocabulary; the
 * ledger (ledger.ts) applies it.
 */

/** What ties an e-mail to a conversation: its Message-ID and where replies and bounces go (seed 004's threading). */
export interface MailThreading {
  messageId?: string;
  replyTo?: string;
  inReplyTo?: string;
}

/** Provider-side statuses Relais tracks, in the order they can only move forward. */
export type ProviderStatus = 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed';

/** How far along each status is (DELIVERY_STATUSES only moves forward); the final ones rank alike. */
export const STATUS_RANK: Record<DeliveryStatus, number> = {
  pending: 0,
  sending: 1,
  queued: 2,
  sent: 3,
  delivered: 4,
  undelivered: 4,
  failed: 4,
  cancelled: 4,
  skipped: 4,
};

/**
 * A provider's status as a delivery status. The provider's 'sending' (handed to the carrier)
 * is our 'queued': our 'sending' means a provider call is in flight. Pure.
 */
export const fromProviderStatus = (s: ProviderStatus): DeliveryStatus => (s === 'sending' ? 'queued' : s);

/**
 * What a provider's answer to a send records: a failure reported at once still arrives as a final
 * status later. An e-mail the SMTP server accepted is delivered: that acceptance is the last status
 * SMTP reports (a refused recipient fails the send itself). Pure.
 */
export const acceptedStatus = (s: ProviderStatus, channel: DeliveryChannel): 'queued' | 'sent' | 'delivered' => {
  if (channel === 'email') return 'delivered';
  return s === 'sent' || s === 'delivered' ? s : 'queued';
};

export interface StatusEvent {
  status: DeliveryStatus;
  at: Date;
  detail?: string;
}

/**
 * A delivery row. `eventIds`: the id of the `delivery.outcome` its final status write applied (the
 * outbox's proof of that write); absent until then, so a slot's rows are inserted without it.
 */
export interface DeliveryDoc extends Partial<OutboxFields> {
  /**
   * The dedupe key: `digest:<personId>:<slot>:<kind>`, `reminder:<personId>:<endDate>` or
   * `contact:<orgId>:<ref>`. Unique, so written once.
   */
  _id: string;
  orgId: string;
  personId: string;
  type: DeliveryKind;
  /** The requester's reference: the contact action a contact SMS or e-mail was sent for. Absent from the others. */
  ref?: string;
  channel: DeliveryChannel;
  /** E.164 number, or e-mail address. */
  to: string | null;
  /** SMS sender id; for an e-mail, null: the service's EMAIL_FROM. */
  from: string | null;
  /** An e-mail's subject. */
  subject?: string;
  /** An e-mail's threading: the Message-ID it goes with and the address replies (and bounces) go to, when the requester set them. */
  mail?: MailThreading;
  content: string | null;
  encoding: Encoding | null;
  segments: number;
  /** Mail digest: how many items the SMS announces. */
  count?: number;
  status: DeliveryStatus;
  statusRank: number;
  events: StatusEvent[];
  /** Why it was cancelled or skipped. */
  reason?: string;
  error?: { code?: string; message: string; transient: boolean };
  provider?: string;
  /** When it is meant to go out (the slot, or the reminder time). */
  dueAt: Date;
  /** The send lot it goes out with (see lot.ts); null once closed without a provider call. */
  lot?: string | null;
  attempts: number;
  /** Set after a transient provider error: when to try again. */
  retryAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * What one provider attempt came to, per delivery of the lot. An accepted or failed one names the
 * number it went to (`to`) when that is not the row's: a new consent number applied at send time.
 */
export type Outcome =
  | { id: string; kind: 'accepted'; status: ReturnType<typeof acceptedStatus>; provider: string; providerId: string; to?: string }
  | { id: string; kind: 'failed'; error: { code?: string; message: string; transient: boolean }; to?: string }
  /** A transient provider error: tried again with the lot `toLot` at `retryAt`. */
  | { id: string; kind: 'retry'; retryAt: Date; error: { code?: string; message: string; transient: true }; toLot: string }
  | { id: string; kind: 'closed'; status: 'skipped' | 'cancelled'; reason: string }
  /** The call's fate is unknown: moved to `toLot`, which asks the provider before any new attempt. */
  | { id: string; kind: 'unknown'; toLot: string }
  /** Not called (the lot ran out of time): moved to `toLot`, due now. */
  | { id: string; kind: 'deferred'; toLot: string };

/** The outcomes that end a delivery's attempt where it is (the others move it to another lot). */
export type FinalOutcome = Extract<Outcome, { kind: 'accepted' | 'failed' | 'closed' }>;

export const isFinal = (o: Outcome): o is FinalOutcome => o.kind === 'accepted' || o.kind === 'failed' || o.kind === 'closed';

/** One provider attempt of a lot's deliveries. */
export interface Attempt {
  lot: string;
  attempt: number;
  startedAt: Date;
}

/** What a final outcome changes in its delivery, unless the delivery is already at `below` or beyond. */
export interface FinalChange {
  below: DeliveryStatus;
  set: Partial<Pick<DeliveryDoc, 'status' | 'statusRank' | 'provider' | 'attempts' | 'retryAt' | 'error' | 'reason' | 'to'>>;
  events: StatusEvent[];
}

/** A status event, with its detail when there is one. Pure. */
export const statusEvent = (status: DeliveryStatus, at: Date, detail?: string): StatusEvent => ({ status, at, ...(detail ? { detail } : {}) });

/** The change a final outcome of attempt `a`, recorded at `at`, makes to its delivery. Pure. */
export function finalChange(o: FinalOutcome, a: Pick<Attempt, 'attempt' | 'startedAt'>, at: Date): FinalChange {
  const tried = statusEvent('sending', a.startedAt, `attempt ${a.attempt}`);
  switch (o.kind) {
    case 'accepted':
      return {
        below: o.status,
        set: { status: o.status, statusRank: STATUS_RANK[o.status], provider: o.provider, attempts: a.attempt, retryAt: null, ...(o.to ? { to: o.to } : {}) },
        events: [tried, statusEvent(o.status, at)],
      };
    case 'failed':
      return {
        below: 'failed',
        set: { status: 'failed', statusRank: STATUS_RANK.failed, error: o.error, attempts: a.attempt, retryAt: null, ...(o.to ? { to: o.to } : {}) },
        events: [tried, statusEvent('failed', at, o.error.message)],
      };
    case 'closed':
      return { below: o.status, set: { status: o.status, statusRank: STATUS_RANK[o.status], reason: o.reason }, events: [statusEvent(o.status, at, o.reason)] };
  }
}

/** The delivery as it is once `change` is applied (as the database applies it: only below its status). Pure. */
export function withChange(doc: DeliveryDoc, change: FinalChange, at: Date): DeliveryDoc {
  if (doc.statusRank >= STATUS_RANK[change.below]) return doc;
  return { ...doc, ...change.set, updatedAt: at, events: [...doc.events, ...change.events] };
}

/** Closes a delivery without a provider call. Pure. */
export function closed(doc: DeliveryDoc, status: 'cancelled' | 'skipped', reason: string, at: Date): DeliveryDoc {
  return { ...doc, status, statusRank: STATUS_RANK[status], reason, events: [{ status, at, detail: reason }], updatedAt: at };
}
