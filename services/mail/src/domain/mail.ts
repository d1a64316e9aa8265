import { DateTime } from 'luxon';
import { makeEnvelope, MAIL_KINDS, type AuthContext, type Envelope, type MailKind, type OutboxFields } from '@relais/shared';
import type { RegisterMailInput } from '../api';

export interface HandOver {
  at: Date;
  by: string;
  to: 'person' | 'proxy';
  proxyName?: string;
}

/** A mail item as stored, with the ids of the events its writes produced (outbox). */
export interface MailItemDoc extends OutboxFields {
  _id: string;
  orgId: string;
  personId: string;
  kind: MailKind;
  quantity: number;
  sender?: string;
  note?: string;
  status: 'pending' | 'handedOver';
  registeredAt: Date;
  registeredBy: string;
  /** Idempotency-Key of the request, or the item id when none was sent (keeps the unique index total). */
  idempotencyKey: string;
  handOver?: HandOver;
  createdAt: Date;
}

/** A mail item to store and the event its registration publishes. */
export interface NewMailItem {
  doc: MailItemDoc;
  event: Envelope<'mail.registered'>;
}

/** Builds a new mail item and its `mail.registered` event. Pure. */
export function newMailItem(
  input: RegisterMailInput,
  auth: AuthContext,
  ids: { itemId: string; eventId: string },
  now: Date,
  idempotencyKey?: string,
): NewMailItem {
  const event = makeEnvelope(
    'mail.registered',
    auth.orgId,
    {
      mailItemId: ids.itemId,
      personId: input.personId,
      kind: input.kind,
      quantity: input.quantity,
      registeredAt: now.toISOString(),
      registeredBy: auth.userId,
    },
    { id: ids.eventId, occurredAt: now },
  );
  const doc: MailItemDoc = {
    _id: ids.itemId,
    orgId: auth.orgId,
    personId: input.personId,
    kind: input.kind,
    quantity: input.quantity,
    ...(input.sender ? { sender: input.sender } : {}),
    ...(input.note ? { note: input.note } : {}),
    status: 'pending',
    registeredAt: now,
    registeredBy: auth.userId,
    idempotencyKey: idempotencyKey ?? ids.itemId,
    eventIds: [event.id],
    createdAt: now,
  };
  return { doc, event };
}

/** Quantities per kind (zero for kinds with none). Pure. */
export function totalsByKind(items: readonly Pick<MailItemDoc, 'kind' | 'quantity'>[]): Record<MailKind, number> {
  const counts = Object.fromEntries(MAIL_KINDS.map((k) => [k, 0])) as Record<MailKind, number>;
  for (const item of items) counts[item.kind] += item.quantity;
  return counts;
}

/** When a calendar day (YYYY-MM-DD) of an org's time zone starts, and when the next one does. Pure. */
export function dayBounds(date: string, timeZone: string): [Date, Date] {
  const start = DateTime.fromISO(date, { zone: timeZone }).startOf('day');
  return [start.toJSDate(), start.plus({ days: 1 }).toJSDate()];
}

/** Quantities not yet handed over, per kind. Pure. */
export function pendingCounts(items: readonly Pick<MailItemDoc, 'kind' | 'quantity' | 'status'>[]): Record<MailKind, number> {
  return totalsByKind(items.filter((i) => i.status === 'pending'));
}

/** One `mail.handedOver` event per group of items updated together. Pure. */
export function handOverEvent(auth: AuthContext, personId: string, mailItemIds: string[], handOver: HandOver, eventId: string): Envelope<'mail.handedOver'> {
  return makeEnvelope(
    'mail.handedOver',
    auth.orgId,
    { personId, mailItemIds, handedOverAt: handOver.at.toISOString(), handedOverBy: handOver.by },
    { id: eventId, occurredAt: handOver.at },
  );
}

/**
 * Which requested items can be handed over: every requested id must be one of the
 * person's pending items. Returns the ids, or the ids that are not. Pure.
 */
export function selectForHandOver(
  pending: readonly Pick<MailItemDoc, '_id'>[],
  requested: readonly string[] | undefined,
): { ok: true; ids: string[] } | { ok: false; unknown: string[] } {
  const pendingIds = pending.map((p) => p._id);
  if (!requested) return { ok: true, ids: pendingIds };
  const known = new Set(pendingIds);
  const unknown = [...new Set(requested)].filter((id) => !known.has(id));
  return unknown.length ? { ok: false, unknown } : { ok: true, ids: [...new Set(requested)] };
}

export function toMailItem(doc: MailItemDoc) {
  return {
    id: doc._id,
    personId: doc.personId,
    kind: doc.kind,
    quantity: doc.quantity,
    ...(doc.sender ? { sender: doc.sender } : {}),
    ...(doc.note ? { note: doc.note } : {}),
    status: doc.status,
    registeredAt: doc.registeredAt.toISOString(),
    registeredBy: doc.registeredBy,
    ...(doc.handOver
      ? {
          handOver: {
            at: doc.handOver.at.toISOString(),
            by: doc.handOver.by,
            to: doc.handOver.to,
            ...(doc.handOver.proxyName ? { proxyName: doc.handOver.proxyName } : {}),
          },
        }
      : {}),
  };
}
