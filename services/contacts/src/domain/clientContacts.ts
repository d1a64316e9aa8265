import { createHash } from 'node:crypto';
import { formatPhone, type FieldProblem, type ParsedPhone } from '@relais/shared';
import { ROUTING_ROLES, type RoutingRole } from '../contract/clientContacts';
import type { PhoneType, QualificationState } from '../contract/vocabulary';
import { displayValue, readEmail, readPhone, readPostalAddress, type Channel, type PostalAddress, type PostalAddressInput } from './channels';
import { DEFAULT_CONSENTS, changeConsent, type ConsentCommand, type ConsentEntry, type Consents } from './consent';

/**
 * Client contacts (seed 003, "référents"): the people at a client (a person or a company) the
 * org writes to, each numbered 1, 2, 3... on its client, with a function, a display order, an
 * e-mail and phones read as contact channels are, a postal address, consents with their ledger,
 * the correspondence it receives (routing roles), an end-of-activity date, and every change kept.
 * Pure functions: ids, clock, user and the org's region come from the caller.
 */

/** The stamp of a change: who and when. */
export interface Stamp {
  by: string;
  at: Date;
}

export interface ContactPhone {
  type: PhoneType;
  phone: ParsedPhone;
}

/** The fields staff edit. */
export interface ContactState {
  name: string;
  function: string;
  displayOrder: number;
  email: string | null;
  phones: ContactPhone[];
  address: PostalAddress | null;
  /** The client's postal channel the address was copied from ("Copie Adr Client"), until the address is typed again. */
  addressCopiedFrom: string | null;
  routingRoles: RoutingRole[];
  /** The last day the contact is valid (YYYY-MM-DD, the org's calendar); null: no end. */
  endDate: string | null;
}

export type RevisionAction = 'created' | 'createdFromClient' | 'updated' | 'consent';

/** One field of a change, as people read it before and after (null: empty). */
export interface FieldChange {
  field: string;
  from: string | null;
  to: string | null;
}

export interface Revision {
  revision: number;
  at: Date;
  by: string;
  action: RevisionAction;
  changes: FieldChange[];
}

export interface ClientContactDoc extends ContactState {
  _id: string;
  orgId: string;
  partyId: string;
  /** 1, 2, 3... on the client; unique with the tombstones of deleted contacts, so never given twice. */
  number: number;
  /** The client themself (an individual client's first contact). */
  self: boolean;
  consents: Consents;
  /** Every change of a consent, oldest first. */
  consentLedger: ConsentEntry[];
  /** Every change of the contact, oldest first. */
  revisions: Revision[];
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  updatedBy: string;
  /** Bumped by every write, so a change computed from a stale contact is not written over a newer one. */
  revision: number;
  deletedAt: null;
}

/**
 * What is kept of a contact deleted for good: its number (so it is never given again), its name
 * and function, who deleted it, when and why. Its addresses, consents and history are gone.
 */
export interface DeletedContactDoc {
  _id: string;
  orgId: string;
  partyId: string;
  number: number;
  name: string;
  function: string;
  revision: number;
  deletedAt: Date;
  deletedBy: string;
  deletionReason: string | null;
}

export type StoredContact = ClientContactDoc | DeletedContactDoc;

export const isDeleted = (doc: StoredContact): doc is DeletedContactDoc => doc.deletedAt !== null;
export const liveContacts = (docs: readonly StoredContact[]): ClientContactDoc[] => docs.filter((d): d is ClientContactDoc => !isDeleted(d));

/** A refusal with the status it maps to: what the input says (422), what the contacts' state refuses (409), what is missing (404). */
export interface ContactProblem {
  status: 404 | 409 | 422;
  message: string;
  fields?: FieldProblem[];
}
export type ContactOutcome<T> = ({ ok: true } & T) | { ok: false; problem: ContactProblem };

/** Live contacts on one client, beyond which a creation is refused: a list is read whole. */
export const MAX_CONTACTS = 200;

export const ROLE_LABELS: Record<RoutingRole, string> = {
  dueNotices: 'due notices',
  unpaidReminders: 'unpaid reminders',
  documentReminders: 'document reminders',
  claimSettlements: 'claim settlements',
};

const notFoundProblem = (number: number): ContactProblem => ({
  status: 404,
  message: `Contact ${number} was not found on this client; it may have been deleted.`,
});

// ---------------------------------------------------------------------------------------------
// Numbering, order, validity

/**
 * The number of the next contact: one more than any the client ever had, deleted ones included
 * (their tombstones keep their number), so a number is never given twice. Two creations that
 * read the same contacts compute the same number; the unique index lets one of them in and the
 * other reads again (see the repository).
 */
export function nextNumber(docs: readonly { number: number }[]): number {
  return docs.reduce((max, d) => Math.max(max, d.number), 0) + 1;
}

/** A new contact goes last unless staff say otherwise. */
export function defaultDisplayOrder(docs: readonly StoredContact[]): number {
  return liveContacts(docs).reduce((max, d) => Math.max(max, d.displayOrder), 0) + 1;
}

/** Display order, 1 first; contacts of the same order by number (so the order is total and stable). */
export function byDisplayOrder(a: ClientContactDoc, b: ClientContactDoc): number {
  return a.displayOrder - b.displayOrder || a.number - b.number;
}

/** Valid on a calendar day: not deleted, and not ended before that day (the end date is the last valid day). */
export function isValidOn(doc: StoredContact, date: string): boolean {
  return !isDeleted(doc) && (doc.endDate === null || date <= doc.endDate);
}

/** The contacts of a list: valid on `date` (every one, ended included, when null), in display order. */
export function listed(docs: readonly StoredContact[], date: string | null): ClientContactDoc[] {
  return liveContacts(docs)
    .filter((d) => date === null || isValidOn(d, date))
    .sort(byDisplayOrder);
}

/** Who receives `role` on `date`: the valid contacts holding it, in display order (what automatic sending uses). */
export function recipientsOf(docs: readonly StoredContact[], role: RoutingRole, date: string): ClientContactDoc[] {
  return listed(docs, date).filter((d) => d.routingRoles.includes(role));
}

/**
 * Why a contact cannot be deleted, or null: it holds a routing role that no other contact of the
 * client valid on `today` holds, so the role would be left with nobody to send to. Ending it or
 * giving the role to another contact first is the way.
 */
export function deletionProblem(target: ClientContactDoc, docs: readonly StoredContact[], today: string): ContactProblem | null {
  const others = liveContacts(docs).filter((d) => d.number !== target.number && isValidOn(d, today));
  const orphaned = ROUTING_ROLES.filter((r) => target.routingRoles.includes(r) && !others.some((o) => o.routingRoles.includes(r)));
  if (orphaned.length === 0) return null;
  const roles = orphaned.map((r) => `${r} (${ROLE_LABELS[r]})`).join(', ');
  return {
    status: 409,
    message:
      `Contact ${target.number} (${target.name}) is the only recipient of ${roles} on this client: give ${orphaned.length > 1 ? 'these roles' : 'this role'} ` +
      'to another valid contact before deleting it, or end it instead.',
  };
}

// ---------------------------------------------------------------------------------------------
// Reading what staff typed

/** What staff type for a contact (a creation, or the fields of a change). */
export interface ContactFieldsInput {
  name?: string;
  function?: string;
  displayOrder?: number;
  email?: string | null;
  phones?: readonly { type: PhoneType; number: string }[];
  address?: PostalAddressInput | null;
  copyClientAddress?: boolean;
  routingRoles?: readonly RoutingRole[];
  endDate?: string | null;
}

/** The postal address of the client, to copy: the channel it comes from and its lines. */
export interface ClientAddress {
  channelId: string;
  address: PostalAddress;
}

const RANK: Record<QualificationState, number> = { default: 0, validated: 1, pending: 2, invalid: 3 };

/** The channels of a kind that are not invalid, best qualified first (default, validated, pending), oldest first. */
function best<K extends Channel['kind']>(channels: readonly Channel[], kind: K): Extract<Channel, { kind: K }>[] {
  return channels
    .map((c, index) => ({ c, index }))
    .filter(({ c }) => c.kind === kind && c.qualification.state !== 'invalid')
    .sort((a, b) => RANK[a.c.qualification.state] - RANK[b.c.qualification.state] || a.index - b.index)
    .map(({ c }) => c as Extract<Channel, { kind: K }>);
}

/** The client's postal address "Copie Adr Client" takes: its default one, else its best qualified; null when it has none. */
export function clientAddressOf(channels: readonly Channel[]): ClientAddress | null {
  const postal = best(channels, 'postal')[0];
  return postal ? { channelId: postal.id, address: postal.address } : null;
}

/**
 * The fields typed, read: the e-mail, each phone and the address checked exactly as a contact
 * channel's value is (the org's region reads national numbers), every problem reported at once
 * with the field it is about. Only the fields given are in `fields`.
 */
export function readContactFields(
  input: ContactFieldsInput,
  ctx: { orgRegion: string; clientAddress: ClientAddress | null },
): ContactOutcome<{ fields: Partial<ContactState> }> {
  const problems: FieldProblem[] = [];
  const fields: Partial<ContactState> = {};
  if (input.name !== undefined) fields.name = input.name;
  if (input.function !== undefined) fields.function = input.function;
  if (input.displayOrder !== undefined) fields.displayOrder = input.displayOrder;
  if (input.routingRoles !== undefined) fields.routingRoles = ROUTING_ROLES.filter((r) => input.routingRoles!.includes(r));
  if (input.endDate !== undefined) fields.endDate = input.endDate;

  if (input.email === null) fields.email = null;
  else if (input.email !== undefined) {
    const read = readEmail(input.email);
    if (read.ok) fields.email = read.email;
    else problems.push({ path: 'email', message: read.problem.message });
  }

  if (input.phones !== undefined) {
    const phones: ContactPhone[] = [];
    input.phones.forEach((p, i) => {
      const read = readPhone(p.number, p.type, ctx.orgRegion);
      if (!read.ok) return problems.push({ path: `phones.${i}.${read.problem.path ?? 'number'}`, message: read.problem.message });
      if (phones.some((q) => q.phone.e164 === read.phone.e164)) {
        return problems.push({ path: `phones.${i}.number`, message: `${formatPhone(read.phone.e164)} is already among this contact's phones` });
      }
      phones.push({ type: p.type, phone: read.phone });
    });
    fields.phones = phones;
  }

  if (input.copyClientAddress && input.address) {
    problems.push({ path: 'copyClientAddress', message: 'give either address or copyClientAddress, not both' });
  } else if (input.copyClientAddress) {
    if (ctx.clientAddress) {
      fields.address = ctx.clientAddress.address;
      fields.addressCopiedFrom = ctx.clientAddress.channelId;
    } else {
      problems.push({ path: 'copyClientAddress', message: 'the client has no postal address to copy: add one to its contact channels, or type the address' });
    }
  } else if (input.address === null) {
    fields.address = null;
    fields.addressCopiedFrom = null;
  } else if (input.address !== undefined) {
    const read = readPostalAddress(input.address, ctx.orgRegion);
    if (read.ok) {
      fields.address = read.address;
      fields.addressCopiedFrom = null;
    } else problems.push({ path: read.problem.path ?? 'address', message: read.problem.message });
  }

  if (problems.length > 0) {
    const summary = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
    return { ok: false, problem: { status: 422, message: `Invalid input: ${summary}`, fields: problems } };
  }
  return { ok: true, fields };
}

// ---------------------------------------------------------------------------------------------
// Changes, each kept as a revision

const EMPTY: ContactState = {
  name: '',
  function: '',
  displayOrder: 0,
  email: null,
  phones: [],
  address: null,
  addressCopiedFrom: null,
  routingRoles: [],
  endDate: null,
};

/** Each field as people read it in a revision; null for an empty one. */
function shown(state: ContactState): Record<string, string | null> {
  const orNull = (s: string) => (s === '' ? null : s);
  return {
    name: orNull(state.name),
    function: orNull(state.function),
    displayOrder: state.displayOrder > 0 ? String(state.displayOrder) : null,
    email: state.email,
    phones: orNull(state.phones.map((p) => `${p.type} ${formatPhone(p.phone.e164)}`).join(', ')),
    address: state.address
      ? `${displayValue({ kind: 'postal', address: state.address })}${state.addressCopiedFrom ? " (copied from the client's address)" : ''}`
      : null,
    routingRoles: orNull(state.routingRoles.join(', ')),
    endDate: state.endDate,
  };
}

/** The fields that differ between two states, before and after. */
export function changesBetween(before: ContactState, after: ContactState): FieldChange[] {
  const was = shown(before);
  const now = shown(after);
  return Object.keys(now)
    .filter((field) => was[field] !== now[field])
    .map((field) => ({ field, from: was[field] ?? null, to: now[field] ?? null }));
}

const stateOf = (doc: ContactState): ContactState => ({
  name: doc.name,
  function: doc.function,
  displayOrder: doc.displayOrder,
  email: doc.email,
  phones: doc.phones,
  address: doc.address,
  addressCopiedFrom: doc.addressCopiedFrom,
  routingRoles: doc.routingRoles,
  endDate: doc.endDate,
});

export interface NewContact {
  id: string;
  orgId: string;
  partyId: string;
  number: number;
  state: ContactState;
  self?: boolean;
}

/** A new contact, its consents all refused, its creation its first revision. */
export function newContact(c: NewContact, stamp: Stamp): ClientContactDoc {
  const self = c.self ?? false;
  return {
    _id: c.id,
    orgId: c.orgId,
    partyId: c.partyId,
    number: c.number,
    ...c.state,
    self,
    consents: { ...DEFAULT_CONSENTS },
    consentLedger: [],
    revisions: [{ revision: 1, at: stamp.at, by: stamp.by, action: self ? 'createdFromClient' : 'created', changes: changesBetween(EMPTY, c.state) }],
    createdAt: stamp.at,
    createdBy: stamp.by,
    updatedAt: stamp.at,
    updatedBy: stamp.by,
    revision: 1,
    deletedAt: null,
  };
}

/** The contact with `fields` applied and the change kept as a revision; null when nothing differs. */
export function updateContact(doc: ClientContactDoc, fields: Partial<ContactState>, stamp: Stamp): ClientContactDoc | null {
  const before = stateOf(doc);
  const after = { ...before, ...fields };
  const changes = changesBetween(before, after);
  if (changes.length === 0) return null;
  const revision = doc.revision + 1;
  return {
    ...doc,
    ...after,
    revisions: [...doc.revisions, { revision, at: stamp.at, by: stamp.by, action: 'updated', changes }],
    updatedAt: stamp.at,
    updatedBy: stamp.by,
    revision,
  };
}

/**
 * The contact after a consent command: the entry in its ledger and a revision; `doc: null` when the
 * consent already had that value.
 */
export function applyConsent(
  doc: ClientContactDoc,
  command: ConsentCommand,
  ctx: { id: string } & Stamp,
): ContactOutcome<{ doc: ClientContactDoc | null; entry: ConsentEntry | null }> {
  const changed = changeConsent(doc.consents, command, ctx);
  if (!changed.ok) {
    return {
      ok: false,
      problem: { status: 422, message: `Invalid input: ${changed.field}: ${changed.message}`, fields: [{ path: changed.field, message: changed.message }] },
    };
  }
  if (!changed.entry) return { ok: true, doc: null, entry: null };
  const yesNo = (v: boolean) => (v ? 'yes' : 'no');
  const revision = doc.revision + 1;
  const change: FieldChange = { field: `consents.${command.consent}`, from: yesNo(doc.consents[command.consent]), to: yesNo(command.granted) };
  return {
    ok: true,
    entry: changed.entry,
    doc: {
      ...doc,
      consents: changed.consents,
      consentLedger: [...doc.consentLedger, changed.entry],
      revisions: [...doc.revisions, { revision, at: ctx.at, by: ctx.by, action: 'consent', changes: [change] }],
      updatedAt: ctx.at,
      updatedBy: ctx.by,
      revision,
    },
  };
}

/** What is kept of a contact deleted for good (see DeletedContactDoc). */
export function tombstoneOf(doc: ClientContactDoc, stamp: Stamp, reason: string | null): DeletedContactDoc {
  return {
    _id: doc._id,
    orgId: doc.orgId,
    partyId: doc.partyId,
    number: doc.number,
    name: doc.name,
    function: doc.function,
    revision: doc.revision + 1,
    deletedAt: stamp.at,
    deletedBy: stamp.by,
    deletionReason: reason,
  };
}

/** A contact of the client by number, or the problem of a missing (or deleted) one. */
export function contactNumbered(docs: readonly StoredContact[], number: number): ContactOutcome<{ doc: ClientContactDoc }> {
  const doc = docs.find((d) => d.number === number);
  return doc && !isDeleted(doc) ? { ok: true, doc } : { ok: false, problem: notFoundProblem(number) };
}

export const missingContact = notFoundProblem;

// ---------------------------------------------------------------------------------------------
// The client themself

/** The function of an individual client's own contact. */
export const SELF_FUNCTION = 'Client';

/**
 * The id of an individual client's own contact, the same for every instance that creates it: two
 * first reads of the list at once insert the same document, and only one gets in.
 */
export function selfContactId(orgId: string, partyId: string): string {
  const h = createHash('sha256').update(`${orgId}\nclient-contact-self\n${partyId}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * "Le premier contact est par défaut au nom du client pour un particulier": contact 1 of a person
 * is the person, with their best e-mail, their phones and their postal address as the file has
 * them now, and every routing role (what is sent about a person goes to the person until staff
 * say otherwise). Consents start refused: a copy of the file is no proof of consent.
 */
export function selfContactState(person: { name: string; channels: readonly Channel[] }): ContactState {
  const email = best(person.channels, 'email')[0];
  const address = clientAddressOf(person.channels);
  return {
    name: person.name,
    function: SELF_FUNCTION,
    displayOrder: 1,
    email: email ? email.email : null,
    phones: best(person.channels, 'phone')
      .slice(0, 5)
      .map((p) => ({ type: p.type, phone: p.phone })),
    address: address?.address ?? null,
    addressCopiedFrom: address?.channelId ?? null,
    routingRoles: [...ROUTING_ROLES],
    endDate: null,
  };
}

// ---------------------------------------------------------------------------------------------
// Views

export function toContactView(doc: ClientContactDoc, date: string) {
  return {
    number: doc.number,
    partyId: doc.partyId,
    name: doc.name,
    function: doc.function,
    displayOrder: doc.displayOrder,
    email: doc.email,
    phones: doc.phones.map((p) => ({ type: p.type, ...p.phone, display: formatPhone(p.phone.e164) })),
    address: doc.address,
    addressCopiedFrom: doc.addressCopiedFrom,
    consents: { ...doc.consents },
    routingRoles: [...doc.routingRoles],
    endDate: doc.endDate,
    active: isValidOn(doc, date),
    self: doc.self,
    createdAt: doc.createdAt.toISOString(),
    createdBy: doc.createdBy,
    updatedAt: doc.updatedAt.toISOString(),
    updatedBy: doc.updatedBy,
  };
}

export function toRecipientView(doc: ClientContactDoc) {
  return { number: doc.number, name: doc.name, function: doc.function, displayOrder: doc.displayOrder, email: doc.email, consents: { ...doc.consents } };
}

/** Newest first. */
export function revisionsView(doc: ClientContactDoc) {
  return {
    items: [...doc.revisions].reverse().map((r) => ({ revision: r.revision, at: r.at.toISOString(), by: r.by, action: r.action, changes: r.changes })),
  };
}

export function deletionsView(docs: readonly StoredContact[]) {
  return {
    items: docs
      .filter(isDeleted)
      .sort((a, b) => a.number - b.number)
      .map((d) => ({
        number: d.number,
        name: d.name,
        function: d.function,
        deletedAt: d.deletedAt.toISOString(),
        deletedBy: d.deletedBy,
        reason: d.deletionReason,
      })),
  };
}
