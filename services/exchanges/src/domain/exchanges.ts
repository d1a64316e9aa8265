import type { Role } from '@relais/shared';

/*
 * Exchanges (seed 004): every call, appointment, request for information or reminder between an
 * intervention request's registration and its report. Received ones come from the client, sent
 * ones go to the client. Pure: the repository stores what these functions decide.
 */

/** From the client (received) or to the client (sent). */
export const EXCHANGE_DIRECTIONS = ['received', 'sent'] as const;
export type ExchangeDirection = (typeof EXCHANGE_DIRECTIONS)[number];

/** How the exchange reached Relais: recorded by staff, posted on the portal, or an e-mail that came in. */
export const EXCHANGE_ORIGINS = ['staff', 'portal', 'email'] as const;
export type ExchangeOrigin = (typeof EXCHANGE_ORIGINS)[number];

/** Internal to the org's staff, or visible to the client on the portal. */
export const EXCHANGE_VISIBILITIES = ['internal', 'client'] as const;
export type ExchangeVisibility = (typeof EXCHANGE_VISIBILITIES)[number];

/** The type that turns the request's counter red (seed 004: "vignette rouge"); every org keeps it. */
export const REMINDER_TYPE = 'reminder';

/** The types an org starts with, and their labels in the seed's words. An org may add its own. */
export const DEFAULT_EXCHANGE_TYPES: readonly { id: string; label: string }[] = [
  { id: 'contact', label: 'Prise de contact' },
  { id: 'appointment', label: 'Prise de rendez-vous' },
  { id: 'informationRequest', label: 'Demande de compléments d’information' },
  { id: REMINDER_TYPE, label: 'Relance' },
  { id: 'other', label: 'Autre' },
];

/**
 * Who sent or received an exchange: a collaborator of the org (user), one of the client's contacts,
 * or an address an e-mail came from that is none of them. Name and address as they were when the
 * exchange was recorded: the history shows whom it went to even after the contact changed.
 */
export type Party =
  | { kind: 'user'; userId: string; name?: string; email?: string | null }
  | { kind: 'contact'; contactNumber: number; name?: string; email?: string | null }
  | { kind: 'external'; email: string; name?: string };

/** An earlier wording of an edited exchange, kept in its history. */
export interface Edit {
  at: Date;
  by: string;
  previousSubject: string | null;
  previousDetail: string;
  previousType: string;
  previousVisibility: ExchangeVisibility;
}

/** What an edit may change. */
export interface ExchangeChange {
  subject?: string | null;
  detail?: string;
  type?: string;
  visibility?: ExchangeVisibility;
}

/** How far an e-mail got: handed to the notifications service, accepted by the SMTP server, refused, or bounced later. */
export const EMAIL_STATUSES = ['sending', 'sent', 'failed', 'bounced'] as const;
export type EmailStatus = (typeof EMAIL_STATUSES)[number];

/** The e-mail an exchange was sent as, and how far it got (kept current from the delivery history). */
export interface EmailDelivery {
  deliveryId: string;
  /** The Message-ID it went with: a reply names it in In-Reply-To or References. */
  messageId: string;
  status: EmailStatus;
  error?: string;
  updatedAt: Date;
}

/** A file that came with an inbound e-mail, stored with the exchange. */
export interface AttachmentRef {
  id: string;
  filename: string;
  contentType: string;
  size: number;
}

export interface ExchangeDoc {
  _id: string;
  orgId: string;
  requestId: string;
  direction: ExchangeDirection;
  type: string;
  sentBy: Party;
  receivedBy: Party;
  /** The address a sent e-mail went to, or a received one came from. */
  email: string | null;
  subject: string | null;
  detail: string;
  /** When the exchange took place (a call recorded afterwards took place before it was recorded). */
  occurredAt: Date;
  origin: ExchangeOrigin;
  visibility: ExchangeVisibility;
  /** The user (staff) or portal account that recorded it. */
  createdBy: string;
  createdAt: Date;
  edits: Edit[];
  emailDelivery: EmailDelivery | null;
  /** The Message-ID of an inbound e-mail: the same e-mail relayed twice is recorded once. */
  inboundMessageId?: string | null;
  attachments: AttachmentRef[];
  /** A deleted exchange stays as a tombstone: its history shows that it was, by whom and when it went. */
  deleted: { at: Date; by: string; byAdmin: boolean } | null;
}

/** What the actor doing something to an exchange is. */
export interface Actor {
  userId: string;
  role: Role;
}

/**
 * Why `actor` may not delete `x` at `now`, or null when they may (seed 004: deletion "is not
 * always available"). Admins always may (the deletion is audited); anyone else only their own
 * exchange, within `windowMs` of its creation, and never an e-mail that actually went out nor a
 * client's portal post, which are the client's record as much as the org's. Pure.
 */
export function deletionRefusal(x: ExchangeDoc, actor: Actor, now: Date, windowMs: number): string | null {
  if (x.deleted) return 'this exchange is already deleted';
  if (actor.role === 'admin') return null;
  if (x.origin === 'portal') return 'a message the client posted on the portal cannot be deleted';
  if (x.emailDelivery && x.emailDelivery.status !== 'failed') return 'an e-mail that was sent cannot be deleted';
  if (x.origin === 'email') return 'an e-mail that came in cannot be deleted';
  if (x.createdBy !== actor.userId) return 'only its author (or an admin) can delete an exchange';
  if (now.getTime() - x.createdAt.getTime() > windowMs) {
    return `an exchange can be deleted within ${Math.round(windowMs / 60_000)} minutes of being recorded; ask an admin`;
  }
  return null;
}

/**
 * Why `actor` may not change the subject or detail of `x`, or null. What was sent by e-mail or
 * posted by the client is what the other side has: it stays as it is. Others may be edited by
 * their author or an admin; each edit keeps the previous wording. Pure.
 */
export function editRefusal(x: ExchangeDoc, actor: Actor): string | null {
  if (x.deleted) return 'a deleted exchange cannot be edited';
  if (x.origin === 'portal') return 'a message the client posted on the portal cannot be edited';
  if (x.origin === 'email' || x.emailDelivery) return 'an e-mail is kept as it was sent or received';
  if (actor.role !== 'admin' && x.createdBy !== actor.userId) return 'only its author (or an admin) can edit an exchange';
  return null;
}

/** The exchange as changed, its previous wording kept in its history; `x` itself when nothing changes. Pure. */
export function edited(x: ExchangeDoc, change: ExchangeChange, by: string, at: Date): ExchangeDoc {
  const subject = change.subject === undefined ? x.subject : change.subject || null;
  const detail = change.detail ?? x.detail;
  const type = change.type ?? x.type;
  const visibility = change.visibility ?? x.visibility;
  if (subject === x.subject && detail === x.detail && type === x.type && visibility === x.visibility) return x;
  const edit: Edit = { at, by, previousSubject: x.subject, previousDetail: x.detail, previousType: x.type, previousVisibility: x.visibility };
  return { ...x, subject, detail, type, visibility, edits: [...x.edits, edit] };
}

/** The exchange as a tombstone. Pure. */
export function tombstone(x: ExchangeDoc, actor: Actor, at: Date): ExchangeDoc {
  return { ...x, deleted: { at, by: actor.userId, byAdmin: actor.role === 'admin' } };
}

/** How long a preview is at most, in characters (the seed's tooltip "taille limitée, donc tronquée"). */
export const PREVIEW_LENGTH = 120;

/** How many of the latest exchanges a summary previews. */
export const PREVIEWED = 3;

/**
 * `text` cut to at most `limit` characters on a word boundary, with an ellipsis when cut; one line
 * (runs of white space become one space). A single word longer than the limit is cut inside. Pure.
 */
export function preview(text: string, limit = PREVIEW_LENGTH): string {
  const flat = text.replace(/\s+/gu, ' ').trim();
  const chars = [...flat];
  if (chars.length <= limit) return flat;
  const head = chars.slice(0, limit - 1).join('');
  const space = head.lastIndexOf(' ');
  return `${(space > 0 ? head.slice(0, space) : head).trimEnd()}…`;
}

/** A request's exchanges at a glance (seed 004's icon): how many, whether one is a reminder, the latest ones. */
export interface Summary {
  count: number;
  /** Reminders among them: the counter is red when there is at least one. */
  reminders: number;
  /** Those the client sees on the portal (visible to the client). */
  shown: number;
  latest: { id: string; direction: ExchangeDirection; type: string; occurredAt: Date; preview: string }[];
}

const previewOf = (x: ExchangeDoc): Summary['latest'][number] => ({
  id: x._id,
  direction: x.direction,
  type: x.type,
  occurredAt: x.occurredAt,
  preview: preview(x.subject ? `${x.subject}: ${x.detail}` : x.detail),
});

const newestFirst = (a: { occurredAt: Date; id: string }, b: { occurredAt: Date; id: string }) =>
  b.occurredAt.getTime() - a.occurredAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/**
 * The summary of a request's exchanges, deleted ones left out. The read model stores it, recounted
 * from the request's exchanges after each write to them (a request holds tens, not thousands), so a
 * list of 1,000 requests reads 1,000 summaries and counts nothing. Pure.
 */
export function summaryOf(exchanges: readonly ExchangeDoc[]): Summary {
  const live = exchanges.filter((x) => !x.deleted);
  return {
    count: live.length,
    reminders: live.filter((x) => x.type === REMINDER_TYPE).length,
    shown: live.filter((x) => x.visibility === 'client').length,
    latest: live.map(previewOf).sort(newestFirst).slice(0, PREVIEWED),
  };
}

export const emptySummary = (): Summary => ({ count: 0, reminders: 0, shown: 0, latest: [] });
