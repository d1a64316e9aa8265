import { decodeTimeCursor, encodeTimeCursor } from '@relais/shared';
import type { DeliveryDoc } from './delivery/status';
import { DELIVERY_KIND_LABELS } from './planning/deliveries';
import { localTime } from './planning/localTime';
import { GSM_EXTENSION, SEGMENT_SIZES } from './delivery/sms';

/** What a segment holds in each encoding, as the settings show it (GSM-7 extension characters take two septets). */
export const segmentCosts = {
  'GSM-7': { ...SEGMENT_SIZES['GSM-7'], extensionCharacters: GSM_EXTENSION, extensionCost: 2 },
  'UCS-2': SEGMENT_SIZES['UCS-2'],
};

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
