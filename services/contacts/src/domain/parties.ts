import { decodeCursor, searchWords } from '../contract/parsing';
import type { DebtorRole, PartyKind } from '../contract/vocabulary';
import type { Channel } from './channels';
import { nameFilter } from './search';

/**
 * What every party (a person or a company the org keeps a file on) carries, whatever its kind,
 * and the file around it: who it is assigned to, and the other debtors of a collections file.
 * Pure: ids, clock and user come from the caller.
 */

export interface DebtorLink {
  partyId: string;
  role: DebtorRole;
  addedAt: Date;
  addedBy: string;
}

/** One change of the collaborator a file is assigned to; null is "nobody". */
export interface AssignmentEntry {
  assignedTo: string | null;
  previous: string | null;
  at: Date;
  by: string;
}

/** A channel erased for good by an admin: only that it was, by whom and when, never its value. */
export interface ErasedChannel {
  channelId: string;
  kind: Channel['kind'];
  erasedAt: Date;
  erasedBy: string;
  reason?: string;
}

export interface PartyBase {
  _id: string;
  orgId: string;
  kind: PartyKind;
  /** "Identifiant personnalisé": the org's own reference of the file, unique in the org. */
  customId?: string;
  /** customId, or the party's id when it has none: keeps the unique index total (see customIdKey). */
  customIdKey: string;
  /** Normalized name keys and their prefixes (domain/search.ts nameKeys), in the form of searchVersion. */
  searchKeys: string[];
  /** The form of searchKeys (SEARCH_VERSION); absent on parties stored before it was recorded (form 1). */
  searchVersion?: number;
  sortKey: string;
  /** Incremented by every change; a write applies only to the revision it was computed from. */
  revision: number;
  /** Contact channels (seeds 000, 002) with their qualification and its history; absent on files that never had one. */
  channels?: Channel[];
  /** The star: a phone or e-mail not invalid, or null. */
  primaryChannelId?: string | null;
  /** Channels removed by staff, kept with who removed them and when. */
  removedChannels?: RemovedChannel[];
  /** Channels an admin erased (value gone), for the audit. */
  erasedChannels?: ErasedChannel[];
  /** The collaborator (a user of the org) the file is assigned to. */
  assignedTo?: string;
  /** Every change of assignedTo, oldest first. */
  assignments?: AssignmentEntry[];
  /** The other debtors of this collections file (co-debtors, guarantors), each a party with its own channels. */
  debtors?: DebtorLink[];
  /** When this party is a debtor on another party's file: that party's id. */
  debtorOf?: string;
  /** Ids of the durable events its writes produced (the outbox's proof of a write), newest last. */
  eventIds?: string[];
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
  updatedBy: string;
}

/** A channel removed from a file ("Supprimer le canal de communication"): kept, no longer listed. */
export interface RemovedChannel {
  channel: Channel;
  removedAt: Date;
  removedBy: string;
  reason?: string;
}

/**
 * The unique key of a party's customId in its org. MongoDB counts every party without a
 * customId as a duplicate "null" in a unique index, and FerretDB has no partial index, so
 * parties without one get their own id instead; the prefixes keep the two kinds apart.
 */
export function customIdKey(customId: string | undefined, partyId: string): string {
  return customId === undefined ? `id:${partyId}` : customIdLookup(customId);
}

/** The key under which a customId is found. */
export function customIdLookup(customId: string): string {
  return `custom:${customId}`;
}

/** How a party is named in lists and messages. */
export function partyName(doc: PartyBase & { firstName?: string; lastName?: string; companyName?: string }): string {
  return doc.kind === 'company' ? (doc.companyName ?? '') : [doc.firstName, doc.lastName].filter(Boolean).join(' ');
}

/** A refusal of a change of the file, with the status it maps to. */
export interface FileProblem {
  code: 'not-found' | 'conflict' | 'invalid';
  message: string;
}

export type FileOutcome<T> = ({ ok: true } & T) | { ok: false; problem: FileProblem };

const refused = (code: FileProblem['code'], message: string): { ok: false; problem: FileProblem } => ({ ok: false, problem: { code, message } });

/** The party after assigning its file to `userId` (null: to nobody); null when it already is. */
export function assign<T extends PartyBase>(doc: T, userId: string | null, stamp: { by: string; at: Date }): FileOutcome<{ doc: T | null }> {
  if (doc.debtorOf) {
    return refused('conflict', 'This party is a debtor on another file: assign that file, its collaborator follows every debtor of it.');
  }
  const previous = doc.assignedTo ?? null;
  if (previous === userId) return { ok: true, doc: null };
  const entry: AssignmentEntry = { assignedTo: userId, previous, at: stamp.at, by: stamp.by };
  const { assignedTo: _dropped, ...rest } = doc;
  return {
    ok: true,
    doc: {
      ...(rest as T),
      ...(userId ? { assignedTo: userId } : {}),
      assignments: [...(doc.assignments ?? []), entry],
      revision: doc.revision + 1,
      updatedAt: stamp.at,
      updatedBy: stamp.by,
    },
  };
}

/**
 * Both documents after adding `debtor` to `file`'s collections file with `role`. A party is a
 * debtor on one file at most, and a file with debtors is not itself a debtor on another, so a
 * file's debtors are always one hop away. Null when it is already there with that role.
 */
export function linkDebtor<F extends PartyBase, D extends PartyBase>(
  file: F,
  debtor: D,
  role: DebtorRole,
  stamp: { by: string; at: Date },
): FileOutcome<{ file: F; debtor: D } | { file: null; debtor: null }> {
  if (file._id === debtor._id) return refused('invalid', 'A party cannot be a debtor on its own file.');
  if (file.debtorOf) return refused('conflict', 'This party is itself a debtor on another file: add the debtor to that file.');
  if ((debtor.debtors ?? []).length > 0) {
    return refused('conflict', 'This party has debtors on its own file: a file with debtors cannot be a debtor on another one.');
  }
  if (debtor.debtorOf && debtor.debtorOf !== file._id) {
    return refused('conflict', 'This party is already a debtor on another file; remove it from that file first.');
  }
  const current = (file.debtors ?? []).find((d) => d.partyId === debtor._id);
  if (current && current.role === role && debtor.debtorOf === file._id) return { ok: true, file: null, debtor: null };
  const link: DebtorLink = { partyId: debtor._id, role, addedAt: current?.addedAt ?? stamp.at, addedBy: current?.addedBy ?? stamp.by };
  const others = (file.debtors ?? []).filter((d) => d.partyId !== debtor._id);
  return {
    ok: true,
    file: { ...file, debtors: [...others, link], revision: file.revision + 1, updatedAt: stamp.at, updatedBy: stamp.by },
    debtor: { ...debtor, debtorOf: file._id, revision: debtor.revision + 1, updatedAt: stamp.at, updatedBy: stamp.by },
  };
}

/** Both documents after taking `debtor` off `file`'s collections file. */
export function unlinkDebtor<F extends PartyBase, D extends PartyBase>(
  file: F,
  debtor: D | null,
  debtorId: string,
  stamp: { by: string; at: Date },
): FileOutcome<{ file: F; debtor: D | null }> {
  if (!(file.debtors ?? []).some((d) => d.partyId === debtorId)) return refused('not-found', 'This party is not a debtor on this file.');
  const nextFile = {
    ...file,
    debtors: (file.debtors ?? []).filter((d) => d.partyId !== debtorId),
    revision: file.revision + 1,
    updatedAt: stamp.at,
    updatedBy: stamp.by,
  };
  if (!debtor || debtor.debtorOf !== file._id) return { ok: true, file: nextFile, debtor: null };
  const { debtorOf: _dropped, ...rest } = debtor;
  return { ok: true, file: nextFile, debtor: { ...(rest as D), revision: debtor.revision + 1, updatedAt: stamp.at, updatedBy: stamp.by } };
}

/**
 * The root of the file a party is on: the party itself, or the file it is a debtor on when that
 * file lists it (linking writes the debtor first, so a debtor whose file does not list it yet is on its own).
 */
export function fileRootId(doc: PartyBase, root: PartyBase | null): string {
  return doc.debtorOf && root && (root.debtors ?? []).some((d) => d.partyId === doc._id) ? root._id : doc._id;
}

/**
 * `current` with a partial update of `fields` applied: absent fields are kept, null clears an
 * optional one. Null when nothing changes, so no write (and no new revision) is made.
 */
export function patched<T extends object>(current: T, changes: object, fields: readonly string[]): T | null {
  const next: Record<string, unknown> = { ...(current as Record<string, unknown>) };
  let changed = false;
  for (const field of fields) {
    const value = (changes as Record<string, unknown>)[field];
    if (value === undefined) continue;
    if (value === null) {
      if (field in next) changed = true;
      delete next[field];
    } else if (next[field] !== value) {
      next[field] = value;
      changed = true;
    }
  }
  return changed ? (next as unknown as T) : null;
}

/** A search of an org's parties (the repository adds the org), reading one more than the page. */
export interface PartiesQuery {
  filter: Record<string, unknown>;
  read: number;
  limit: number;
}

/**
 * The filter of a list of parties: kind, beginning of a name, assignee ("me" is the caller,
 * "nobody" a file assigned to no one), resuming after the cursor. Pure.
 */
export function partiesQuery(input: { kind?: PartyKind; name?: string; assignedTo?: string; limit: number; cursor?: string }, callerId: string): PartiesQuery {
  const after = input.cursor === undefined ? undefined : (decodeCursor(input.cursor) ?? undefined);
  const words = input.name === undefined ? [] : searchWords(input.name);
  const assignee = input.assignedTo === 'me' ? callerId : input.assignedTo;
  const filter: Record<string, unknown> = {
    ...nameFilter({ words, after }),
    ...(input.kind !== undefined ? { kind: input.kind } : {}),
    ...(assignee === 'nobody' ? { assignedTo: { $exists: false } } : assignee !== undefined ? { assignedTo: assignee } : {}),
  };
  return { filter, read: input.limit + 1, limit: input.limit };
}

/** A party as one line of a list. */
export function toPartySummary(doc: PartyBase & { firstName?: string; lastName?: string; companyName?: string }) {
  return {
    id: doc._id,
    kind: doc.kind,
    name: partyName(doc),
    ...(doc.customId !== undefined ? { customId: doc.customId } : {}),
    assignedTo: doc.assignedTo ?? null,
  };
}
