import type { DomiciliationStatus, MailKind } from '@relais/shared';
import { contactDeliveryId } from '../api';
import type { DeliveryKind } from '../contract/vocabulary';
import { closed, type DeliveryDoc, type MailThreading } from '../delivery/status';
import { isTooLate } from './slots';
import { smsSize } from '../delivery/sms';
import { SMS_KIND_LABELS, mailSmsKind, type SmsKind } from '../settings/templates';

// The kinds, channels and statuses are the contract's (api.ts describes them); re-exported for the domain's callers.
export { DELIVERY_CHANNELS, DELIVERY_KINDS, DELIVERY_STATUSES, type DeliveryChannel, type DeliveryKind, type DeliveryStatus } from '../contract/vocabulary';

/** Labels of the history's "Type de SMS" column. */
export const DELIVERY_KIND_LABELS: Record<DeliveryKind, string> = {
  ...SMS_KIND_LABELS,
  'contact.sms': 'SMS envoyé depuis le dossier',
  'contact.email': 'E-mail envoyé depuis le dossier',
  'staff.email': 'Notification à un collaborateur',
};

export interface MailRow {
  personId: string;
  kind?: MailKind;
  quantity?: number;
  handedOverAt: Date | null;
}

/**
 * Per person and kind: mail registered in the slot's window, and how much of it was not
 * handed over by the slot. Hand-overs after the slot do not lower what the slot announces. Pure.
 */
export function digestCounts(rows: readonly MailRow[], slotAt: Date): Map<string, Map<MailKind, number>> {
  const out = new Map<string, Map<MailKind, number>>();
  for (const row of rows) {
    if (!row.kind) continue; // a hand-over seen before its registration
    const pending = row.handedOverAt === null || row.handedOverAt.getTime() > slotAt.getTime();
    const perKind = out.get(row.personId) ?? new Map<MailKind, number>();
    perKind.set(row.kind, (perKind.get(row.kind) ?? 0) + (pending ? (row.quantity ?? 1) : 0));
    out.set(row.personId, perKind);
  }
  return out;
}

export interface Recipient {
  consent: boolean;
  phoneE164: string | null;
}

export interface Sending {
  smsEnabled: boolean;
  senderId: string | null;
  render: (type: SmsKind, vars: Record<string, unknown>) => string;
  signature: string | null;
  now: Date;
  maxLatenessMs: number;
}

function base(orgId: string, personId: string, id: string, type: DeliveryKind, dueAt: Date, now: Date): DeliveryDoc {
  return {
    _id: id,
    orgId,
    personId,
    type,
    channel: 'sms',
    to: null,
    from: null,
    content: null,
    encoding: null,
    segments: 0,
    status: 'pending',
    statusRank: 0,
    events: [],
    dueAt,
    attempts: 0,
    retryAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * Whether a delivery goes to the person's SMS-consent number as it is at send time (consent withdrawn:
 * skipped; a new number: used). The notifications Relais sends do; a contact SMS goes to the number
 * the staff member chose on the file, and only the org's switch is re-checked. Absent (payloads
 * written before kinds were carried): a notification. Pure.
 */
export const followsConsent = (type: DeliveryKind | undefined): boolean => type !== 'contact.sms' && type !== 'contact.email';

/** Why an SMS cannot go to this person now, or null when it can. Re-checked again right before sending. */
export function blocker(recipient: Recipient | undefined, s: Pick<Sending, 'smsEnabled' | 'senderId'>): string | null {
  if (!s.smsEnabled || !s.senderId) return 'SMS are switched off for the organisation';
  if (!recipient?.consent) return 'the person has not accepted SMS notifications';
  if (!recipient.phoneE164) return 'no mobile number';
  return null;
}

/** A person's domiciliation as notifications knows it from `domiciliation.changed`. */
export interface DomiciliationFacts {
  status: DomiciliationStatus;
  /** The current period's last day (YYYY-MM-DD, the org's calendar), included. */
  endDate: string | null;
}

/**
 * Why a person gets no mail digest at a slot falling on `slotDay` (YYYY-MM-DD, the org's calendar):
 * the domiciliation has ended (or its end date has passed), was refused or never activated. The person
 * no longer collects mail here, so mail still pending is not announced either. A person whose
 * domiciliation is not known here is not held back: the mail service registers mail only for
 * domiciled people. Pure.
 */
export function notDomiciled(d: DomiciliationFacts | undefined, slotDay: string): string | null {
  if (!d) return null;
  switch (d.status) {
    case 'active':
      return d.endDate !== null && d.endDate < slotDay ? `the domiciliation ended on ${d.endDate}` : null;
    case 'ended':
      return 'the domiciliation has ended';
    case 'refused':
      return 'the domiciliation was refused';
    case 'requested':
      return 'the domiciliation has not been activated';
  }
}

function ready(doc: DeliveryDoc, kind: SmsKind, recipient: Recipient, s: Sending, vars: Record<string, unknown>): DeliveryDoc {
  const content = s.render(kind, { ...vars, signature: s.signature ?? '' });
  const size = smsSize(content);
  return {
    ...doc,
    to: recipient.phoneE164,
    from: s.senderId,
    content,
    encoding: size.encoding,
    segments: size.segments,
    events: [{ status: 'pending', at: s.now }],
  };
}

/**
 * One SMS per person and mail kind with mail in the slot's window (seed 001: 3 letters + 2 parcels -> 2 SMS);
 * skipped for the people of `notDomiciledWhy` (person -> reason, see notDomiciled). Pure.
 */
export function digestDeliveries(
  orgId: string,
  slotAt: Date,
  counts: Map<string, Map<MailKind, number>>,
  recipients: Map<string, Recipient>,
  s: Sending,
  notDomiciledWhy: ReadonlyMap<string, string> = new Map(),
): DeliveryDoc[] {
  const late = isTooLate(slotAt, s.now, s.maxLatenessMs);
  const out: DeliveryDoc[] = [];
  for (const [personId, perKind] of counts) {
    for (const [kind, count] of perKind) {
      const type = mailSmsKind(kind);
      const doc = { ...base(orgId, personId, `digest:${personId}:${slotAt.toISOString()}:${kind}`, type, slotAt, s.now), count };
      const recipient = recipients.get(personId);
      const why =
        count === 0
          ? 'all of this mail was handed over before the slot'
          : (notDomiciledWhy.get(personId) ??
            (late ? `the slot was missed by more than the allowed lateness (${Math.round(s.maxLatenessMs / 60_000)} min)` : blocker(recipient, s)));
      out.push(why ? closed(doc, count === 0 ? 'cancelled' : 'skipped', why, s.now) : ready(doc, type, recipient!, s, { count }));
    }
  }
  return out;
}

/** The end-of-domiciliation reminder of one person. Pure. */
export function reminderDelivery(orgId: string, personId: string, endDate: string, dueAt: Date, recipient: Recipient | undefined, s: Sending): DeliveryDoc {
  const doc = base(orgId, personId, `reminder:${personId}:${endDate}`, 'domiciliation.reminder', dueAt, s.now);
  const why = isTooLate(dueAt, s.now, s.maxLatenessMs)
    ? `the reminder was missed by more than the allowed lateness (${Math.round(s.maxLatenessMs / 60_000)} min)`
    : blocker(recipient, s);
  const [y, m, d] = endDate.split('-');
  return why ? closed(doc, 'skipped', why, s.now) : ready(doc, 'domiciliation.reminder', recipient!, s, { endDate: `${d}/${m}/${y}` });
}

/** What a staff member sends from a file: to whom, the number, the text, and the contact action's id. */
export interface ContactSms {
  personId: string;
  to: string;
  text: string;
  ref: string;
}

/**
 * A contact SMS's text: as the staff member wrote it, signed as the default templates sign theirs
 * (the org's signature after a space), unless the text already ends with it. Pure.
 */
export function signedText(text: string, signature: string | null): string {
  const sig = signature?.trim();
  return sig && !text.trimEnd().endsWith(sig) ? `${text} ${sig}` : text;
}

/**
 * The delivery of a contact SMS, due now, to the number the staff member chose (not the SMS-consent
 * number: see followsConsent). The caller checks the org's switch and sender id first. Pure.
 */
export function contactDelivery(orgId: string, sms: ContactSms, s: { senderId: string; signature: string | null }, now: Date): DeliveryDoc {
  const content = signedText(sms.text, s.signature);
  const size = smsSize(content);
  return {
    ...base(orgId, sms.personId, contactDeliveryId(orgId, sms.ref), 'contact.sms', now, now),
    ref: sms.ref,
    to: sms.to,
    from: s.senderId,
    content,
    encoding: size.encoding,
    segments: size.segments,
    events: [{ status: 'pending', at: now }],
  };
}

/** What a staff member e-mails from a file: to whom, the address, the subject and text, and the contact action's id. */
export interface ContactEmail {
  personId: string;
  to: string;
  subject: string;
  text: string;
  ref: string;
  mail?: MailThreading;
}

/**
 * An e-mail's text: as the staff member wrote it, with the org's signature on a line of its own
 * after a blank line, unless the text already ends with it. Pure.
 */
export function signedEmail(text: string, signature: string | null): string {
  const sig = signature?.trim();
  return sig && !text.trimEnd().endsWith(sig) ? `${text.trimEnd()}\n\n${sig}` : text;
}

/**
 * The delivery of a contact e-mail, due now, to the address the staff member chose, from the
 * service's sender address. Unlike SMS, no org switch holds it back: it is one message a person
 * wrote, not a notification. Pure.
 */
export function contactEmailDelivery(orgId: string, email: ContactEmail, signature: string | null, now: Date): DeliveryDoc {
  return {
    ...base(orgId, email.personId, contactDeliveryId(orgId, email.ref), 'contact.email', now, now),
    channel: 'email',
    ref: email.ref,
    to: email.to,
    subject: email.subject,
    ...(email.mail ? { mail: email.mail } : {}),
    content: signedEmail(email.text, signature),
    events: [{ status: 'pending', at: now }],
  };
}

/**
 * The e-mail telling a collaborator (`personId`: their user id) that a client wrote on a request:
 * sent at once, without the org's signature (it is the platform writing to its own staff). Pure.
 */
export function staffEmailDelivery(orgId: string, email: Omit<ContactEmail, 'mail'>, now: Date): DeliveryDoc {
  return { ...contactEmailDelivery(orgId, email, null, now), type: 'staff.email' };
}

/** Backoff before retry n (1-based) after a transient provider error. */
export function retryDelayMs(attempt: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** (attempt - 1), 15 * 60_000);
}
