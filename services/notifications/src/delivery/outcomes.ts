import { createHash } from 'node:crypto';
import { makeEnvelope, type Envelope, type EventData } from '@relais/shared';
import type { DeliveryStatus } from '../contract/vocabulary';
import type { DeliveryDoc } from './status';

type OutcomeError = NonNullable<EventData<'delivery.outcome'>['error']>;

/** What `delivery.outcome` says of a delivery: read from its row. */
export type OutcomeSubject = Pick<DeliveryDoc, '_id' | 'orgId' | 'personId' | 'type' | 'ref' | 'to' | 'channel'>;

/** The error of a final failure as the row records it: the provider's code, and whether a retry could succeed. */
export interface FinalError {
  code?: string | null;
  transient?: boolean;
}

/**
 * Provider codes saying the number cannot take SMS (Twilio's, which the test providers use too):
 * 21614 "'To' number is not a valid mobile number" at send time, 30006 "landline or unreachable
 * carrier" in a delivery report.
 */
const NOT_A_MOBILE = new Set(['21614', '30006']);

/**
 * Delivery-report codes of failures that may not happen again: 30001 queue overflow, 30003 handset
 * switched off or out of reach, 30008 unknown carrier error. Relais records reported failures as
 * permanent otherwise (the provider gave up on the message).
 */
const TRANSIENT_REPORTS = new Set(['30001', '30003', '30008']);

/**
 * SMTP replies refusing the recipient for good (RFC 5321): 550 mailbox unavailable (unknown user),
 * 551 user not local, 553 mailbox name not allowed. 552 (mailbox full) and every 4xx may pass later.
 */
const HARD_BOUNCES = new Set(['550', '551', '553']);

/**
 * A final failure's error as `delivery.outcome` reports it: `notAMobile` (permanent) for the codes
 * above, an e-mail's `hardBounce` (permanent) or `softBounce` from its SMTP reply, else `other`,
 * permanent unless the error was transient (retries exhausted, or a report above). A failure
 * without a recorded error says nothing for sure: not permanent. Pure.
 */
export function outcomeError(error: FinalError | undefined, medium: 'sms' | 'email' = 'sms'): OutcomeError {
  const code = error?.code ?? null;
  if (medium === 'email' && code !== null && /^[245]\d\d$/.test(code)) {
    if (HARD_BOUNCES.has(code) && error?.transient !== true) return { code, kind: 'hardBounce', permanent: true };
    return { code, kind: 'softBounce', permanent: false };
  }
  if (medium === 'sms' && code !== null && NOT_A_MOBILE.has(code)) return { code, kind: 'notAMobile', permanent: true };
  const transient = !error || error.transient === true || (code !== null && TRANSIENT_REPORTS.has(code));
  return { code, kind: 'other', permanent: !transient };
}

/** The event's status for a delivery status, or null when it is not a final provider status (skipped and cancelled are not). Pure. */
export function outcomeStatus(status: DeliveryStatus | undefined): 'delivered' | 'failed' | null {
  if (status === 'delivered') return 'delivered';
  return status === 'failed' || status === 'undelivered' ? 'failed' : null;
}

/**
 * The id of a delivery's `delivery.outcome`, derived from the delivery: it has one final status, so
 * one event, and two writers that both believed they moved it (conditional updates are not atomic
 * between clients on FerretDB) publish the same id, which JetStream and the consumers drop the
 * second time. Formatted as a version 8 (custom) UUID, like other ids. Pure.
 */
export function outcomeEventId(deliveryId: string): string {
  const h = createHash('sha256').update(`delivery.outcome\n${deliveryId}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * `delivery.outcome` for a delivery reaching `status` (`doc` as the row is once that is written),
 * or null when the status is not final or nothing was ever sent. `ref` is the contact action of a
 * contact SMS or e-mail, null for the others. Pure.
 */
export function outcomeEvent(
  doc: OutcomeSubject,
  status: DeliveryStatus | undefined,
  error: FinalError | undefined,
  at: Date,
): Envelope<'delivery.outcome'> | null {
  const final = outcomeStatus(status);
  if (!final || !doc.to) return null;
  const medium = doc.channel;
  return makeEnvelope(
    'delivery.outcome',
    doc.orgId,
    {
      deliveryId: doc._id,
      personId: doc.personId,
      medium,
      to: doc.to,
      type: doc.type,
      ref: doc.ref ?? null,
      status: final,
      error: final === 'failed' ? outcomeError(error, medium) : null,
      occurredAt: at.toISOString(),
    },
    { id: outcomeEventId(doc._id), occurredAt: at },
  );
}
