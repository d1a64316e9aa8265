import { makeEnvelope, MAIL_KINDS, type AuthContext, type Envelope, type MailKind } from '@relais/shared';
import type { RegisterMailInput } from '../api';

/** A mail item as stored, with the events its write produced (outbox). */
export interface MailItemDoc {
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
  outbox: Envelope[];
  outboxPending: boolean;
  createdAt: Date;
}

/** Builds a new mail item and its `mail.registered` event. Pure. */
export function newMailItem(
  input: RegisterMailInput,
  auth: AuthContext,
  ids: { itemId: string; eventId: string },
  now: Date,
  idempotencyKey?: string,
): MailItemDoc {
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
  return {
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
    outbox: [event],
    outboxPending: true,
    createdAt: now,
  };
}

/** Pending quantities per kind (zero for kinds with none). Pure. */
export function pendingCounts(items: readonly Pick<MailItemDoc, 'kind' | 'quantity' | 'status'>[]): Record<MailKind, number> {
  const counts = Object.fromEntries(MAIL_KINDS.map((k) => [k, 0])) as Record<MailKind, number>;
  for (const item of items) if (item.status === 'pending') counts[item.kind] += item.quantity;
  return counts;
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
  };
}
