import { decodeTimeCursor, encodeTimeCursor } from '@relais/shared';
import type { NoticeDoc } from './staff/notices';
import type { DeliveryDoc } from './delivery/status';
import { DELIVERY_KIND_LABELS } from './planning/deliveries';
import { localTime } from './planning/localTime';
import type { PrimaryView } from './planning/primaries';
import { nextSlot } from './planning/slots';
import type { OrgSettings } from './settings/settings';
import type { TemplateBook } from './settings/templateBook';
import { SMS_KINDS, SMS_KIND_LABELS, TEMPLATE_VARIABLES } from './settings/templates';
import { GSM_EXTENSION, SEGMENT_SIZES } from './delivery/sms';

/** What a segment holds in each encoding, as the settings show it (GSM-7 extension characters take two septets). */
export const segmentCosts = {
  'GSM-7': { ...SEGMENT_SIZES['GSM-7'], extensionCharacters: GSM_EXTENSION, extensionCost: 2 },
  'UCS-2': SEGMENT_SIZES['UCS-2'],
};

/*
 * What the actions answer, built from what the stores hold: pure functions, one per view.
 */

/** The org's SMS settings as admins see them, with the next slot after `now` when SMS are on. */
export function settingsView(s: OrgSettings, now: Date) {
  const next = s.smsEnabled ? nextSlot(now, s.sendDays, s.timeZone) : null;
  return {
    smsEnabled: s.smsEnabled,
    senderId: s.senderId,
    signature: s.signature,
    sendDays: s.sendDays,
    timeZone: s.timeZone,
    defaultWording: s.defaultWording,
    segmentCosts,
    nextSlotAt: next ? next.toISOString() : null,
    nextSlotLocal: next ? localTime(next, s.timeZone).iso : null,
    updatedAt: s.updatedAt ? s.updatedAt.toISOString() : null,
    updatedBy: s.updatedBy,
  };
}

/** Every SMS kind's template as the org sends it: its own, or the default of its wording. */
export function templatesView(s: OrgSettings, book: TemplateBook) {
  return {
    templates: SMS_KINDS.map((kind) => ({
      kind,
      label: SMS_KIND_LABELS[kind],
      source: book.source(s, kind),
      isDefault: s.templates[kind] === undefined,
      variables: TEMPLATE_VARIABLES[kind],
    })),
  };
}

/** A party's primary channel as the contacts service last published it (null fields: none known). */
export function primaryContactView(partyId: string, view: PrimaryView | null) {
  return {
    partyId,
    primary: view?.primary ?? null,
    email: view?.email ?? null,
    mobile: view?.mobile ?? null,
    changedAt: view ? view.changedAt.toISOString() : null,
  };
}

/** A delivery as the history and the ops list show it (seed 001: date, status, type, content), its times also in the org's `zone`. */
export function toDelivery(d: DeliveryDoc, zone: string) {
  const due = localTime(d.dueAt, zone);
  return {
    id: d._id,
    personId: d.personId,
    date: d.dueAt.toISOString(),
    localDate: due.iso,
    dateLabel: due.label,
    status: d.status,
    type: d.type,
    typeLabel: DELIVERY_KIND_LABELS[d.type],
    channel: d.channel,
    ...(d.subject !== undefined ? { subject: d.subject } : {}),
    content: d.content,
    encoding: d.encoding,
    segments: d.segments,
    provider: d.provider ?? null,
    ...(d.reason ? { reason: d.reason } : {}),
    ...(d.error ? { error: { ...(d.error.code ? { code: d.error.code } : {}), message: d.error.message } } : {}),
    attempts: d.attempts,
    events: d.events.map((e) => {
      const at = new Date(e.at);
      const local = localTime(at, zone);
      return { status: e.status, at: at.toISOString(), localAt: local.iso, atLabel: local.label, ...(e.detail ? { detail: e.detail } : {}) };
    }),
  };
}

/** The cursor of the ops list's page after `d`: its due time and id (the list's order). */
export const encodeCursor = (d: DeliveryDoc) => encodeTimeCursor(d.dueAt, d._id);

export function decodeCursor(cursor: string): { dueAt: Date; id: string } | null {
  const key = decodeTimeCursor(cursor);
  return key && { dueAt: key.at, id: key.id };
}

/** A collaborator's notification as the API answers it. */
export const toNotice = (n: NoticeDoc) => ({
  id: n._id,
  reason: n.reason,
  requestId: n.requestId,
  requestNumber: n.requestNumber,
  title: n.title,
  exchangeId: n.exchangeId,
  origin: n.origin,
  subject: n.subject,
  preview: n.preview,
  deliveryId: n.deliveryId,
  createdAt: n.createdAt.toISOString(),
  read: n.readAt !== null,
  readAt: n.readAt?.toISOString() ?? null,
});
