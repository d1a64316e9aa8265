import type { DomiciliationDoc, HistoryField } from './domiciliation';
import { currentPeriod } from './domiciliation';

/** History fields shown in the SMS consent history rather than the domiciliation's. */
export const CONSENT_FIELDS: readonly HistoryField[] = ['smsConsent', 'smsPhone'];

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export function toSmsConsent(doc: Pick<DomiciliationDoc, 'personId' | 'smsConsent'>) {
  const c = doc.smsConsent;
  return {
    personId: doc.personId,
    consent: c.consent,
    phoneE164: c.phoneE164 ?? null,
    phoneRaw: c.phoneRaw ?? null,
    region: c.region ?? null,
    changedAt: iso(c.changedAt),
    changedBy: c.changedBy ?? null,
  };
}

export function toDomiciliation(doc: DomiciliationDoc) {
  const period = currentPeriod(doc.periods);
  const { personId: _, ...smsConsent } = toSmsConsent(doc);
  return {
    id: doc._id,
    personId: doc.personId,
    status: doc.status,
    startDate: period?.startDate ?? null,
    endDate: period?.endDate ?? null,
    periods: doc.periods.map((p) => ({ startDate: p.startDate, endDate: p.endDate })),
    refusalReason: doc.refusalReason ?? null,
    smsConsent,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

/** History lines of some fields, oldest first, as shown and exported. */
export function toHistory(doc: Pick<DomiciliationDoc, 'personId' | 'history'>, keep: (field: HistoryField) => boolean) {
  return {
    personId: doc.personId,
    entries: doc.history
      .filter((h) => keep(h.field))
      .map((h) => ({ at: new Date(h.at).toISOString(), by: h.by, action: h.action, field: h.field, from: h.from ?? null, to: h.to ?? null })),
  };
}
