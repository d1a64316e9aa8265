import type { DraftDoc } from './data/drafts';
import type { ExchangeDoc, Party, Summary } from './domain/exchanges';
import { requestNumber, type RequestDoc } from './domain/requests';
import { typeLabel, type ExchangeSettings } from './domain/settings';

/** What the API answers of the service's documents. Pure. */

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const toSummaryView = (s: Summary) => ({
  count: s.count,
  reminders: s.reminders,
  red: s.reminders > 0,
  latest: s.latest.map((l) => ({ ...l, occurredAt: new Date(l.occurredAt).toISOString() })),
});

export const toRequestView = (r: RequestDoc, summary: Summary) => ({
  id: r._id,
  number: requestNumber(r.number),
  clientId: r.clientId,
  interlocutor: r.interlocutor,
  title: r.title,
  assignedTo: r.assignedTo,
  team: r.team,
  status: r.status,
  openedAt: r.openedAt.toISOString(),
  doneAt: iso(r.doneAt),
  closedAt: iso(r.closedAt),
  createdBy: r.createdBy,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
  summary: toSummaryView(summary),
});

const toPartyView = (p: Party) => ({
  kind: p.kind,
  ...(p.kind === 'user' ? { userId: p.userId } : {}),
  ...(p.kind === 'contact' ? { contactNumber: p.contactNumber } : {}),
  name: p.name ?? null,
  email: p.email ?? null,
});

/** An exchange as staff see it; a tombstone keeps what it was, not what it said. */
export const toExchangeView = (x: ExchangeDoc, settings: ExchangeSettings) => ({
  id: x._id,
  requestId: x.requestId,
  direction: x.direction,
  type: x.type,
  typeLabel: typeLabel(settings, x.type),
  sentBy: toPartyView(x.sentBy),
  receivedBy: toPartyView(x.receivedBy),
  email: x.email,
  subject: x.deleted ? null : x.subject,
  detail: x.deleted ? null : x.detail,
  occurredAt: x.occurredAt.toISOString(),
  origin: x.origin,
  visibility: x.visibility,
  createdBy: x.createdBy,
  createdAt: x.createdAt.toISOString(),
  edited: x.edits.length > 0,
  edits: x.deleted ? [] : x.edits.map((e) => ({ at: e.at.toISOString(), by: e.by, previousSubject: e.previousSubject, previousDetail: e.previousDetail })),
  emailDelivery: x.emailDelivery && {
    deliveryId: x.emailDelivery.deliveryId,
    messageId: x.emailDelivery.messageId,
    status: x.emailDelivery.status,
    ...(x.emailDelivery.error ? { error: x.emailDelivery.error } : {}),
    updatedAt: x.emailDelivery.updatedAt.toISOString(),
  },
  attachments: x.attachments,
  deleted: x.deleted && { at: x.deleted.at.toISOString(), by: x.deleted.by, byAdmin: x.deleted.byAdmin },
});

export const toDraftView = (d: DraftDoc) => ({
  id: d._id,
  requestId: d.requestId,
  userId: d.userId,
  receivedBy: d.receivedBy,
  to: d.to,
  subject: d.subject,
  detail: d.detail,
  createdAt: d.createdAt.toISOString(),
  updatedAt: d.updatedAt.toISOString(),
});
