import { makeEnvelope, type MobileNumber } from '@relais/shared';
import type { Actor, Change, DomiciliationDoc, FieldChange, SmsConsent } from './domiciliation';

/** Consent as asked: yes with a mobile number read by parseMobile, or no. */
export type ConsentChoice = { consent: true; phone: MobileNumber } | { consent: false };

/**
 * The write that records a consent choice: consent and number with their history lines
 * and the `domiciliation.smsConsentChanged` event, or null when nothing changes (same
 * choice, same E.164 number however it was typed). Withdrawing consent forgets the number. Pure.
 */
export function smsConsentChange(
  doc: Pick<DomiciliationDoc, 'personId' | 'smsConsent'>,
  choice: ConsentChoice,
  eventId: string,
  actor: Actor,
  at: Date,
): Change | null {
  const before = doc.smsConsent;
  const phone = choice.consent ? choice.phone : null;
  const changes: FieldChange[] = [];
  if (before.consent !== choice.consent) changes.push({ field: 'smsConsent', from: before.consent, to: choice.consent });
  if ((before.phoneE164 ?? null) !== (phone?.e164 ?? null)) {
    changes.push({ field: 'smsPhone', from: before.phoneE164 ?? null, to: phone?.e164 ?? null });
  }
  if (changes.length === 0) return null;

  const next: SmsConsent = {
    consent: choice.consent,
    phoneE164: phone?.e164 ?? null,
    phoneRaw: phone?.raw ?? null,
    region: phone?.region ?? null,
    changedAt: at,
    changedBy: actor.userId,
  };
  const event = makeEnvelope(
    'domiciliation.smsConsentChanged',
    actor.orgId,
    {
      personId: doc.personId,
      consent: next.consent,
      phoneE164: next.phoneE164,
      region: next.region,
      changedAt: at.toISOString(),
      changedBy: actor.userId,
    },
    { id: eventId, occurredAt: at },
  );
  return {
    set: { smsConsent: next },
    history: changes.map((c) => ({ at, by: actor.userId, action: 'setSmsConsent', ...c })),
    events: [event],
  };
}
