import { encodeCursor, type AuthContext } from '@relais/shared';

/**
 * The notepad of a file (seed 002, "bloc-notes"): messages left on a party's file that every
 * staff member of the org who opens it can read, each with its author and date. Only its author
 * edits a note, and every edit keeps the text it replaced; its author or an admin deletes it,
 * which hides it and records who and when. Pure functions: ids and clock come from the caller.
 * The longest text (NOTE_MAX_LENGTH) and the cursor format are the contract's (contract/vocabulary.ts, contract/parsing.ts).
 */

/** A text a note held before an edit, and when it was replaced. */
export interface NoteVersion {
  text: string;
  replacedAt: Date;
}

export interface NoteDoc {
  _id: string;
  orgId: string;
  partyId: string;
  text: string;
  /** Its author: the only one who may edit it. */
  createdBy: string;
  createdAt: Date;
  editedAt: Date | null;
  /** Earlier texts, oldest first. */
  history: NoteVersion[];
  /** Newest first, one place per note: the creation time then the id (see noteSortKey). */
  sortKey: string;
  /** Bumped by every write, so an edit computed from a stale note is not written over a newer one. */
  revision: number;
  deletedAt: Date | null;
  deletedBy: string | null;
}

/** A refusal the action turns into a 403 or a 404. */
export type NoteOutcome = { ok: true; note: NoteDoc | null } | { ok: false; code: 'forbidden' | 'not-found'; message: string };

const gone = { ok: false, code: 'not-found', message: 'This note was not found on this file; it may have been deleted.' } as const;

/**
 * Sort position of a note: its creation time (ISO 8601, so that text order is time order) and
 * its id, so notes written in the same millisecond still have a place each to resume after.
 */
export function noteSortKey(createdAt: Date, id: string): string {
  return `${createdAt.toISOString()}|${id}`;
}

export function newNote(id: string, orgId: string, partyId: string, text: string, auth: AuthContext, now: Date): NoteDoc {
  return {
    _id: id,
    orgId,
    partyId,
    text,
    createdBy: auth.userId,
    createdAt: now,
    editedAt: null,
    history: [],
    sortKey: noteSortKey(now, id),
    revision: 1,
    deletedAt: null,
    deletedBy: null,
  };
}

/**
 * The note with its new text, the one it replaces kept in its history; `note: null` when the
 * text is the same (nothing to write). Only the author may edit: a colleague's correction
 * would put words under the author's name.
 */
export function editNote(note: NoteDoc, text: string, auth: AuthContext, now: Date): NoteOutcome {
  if (note.deletedAt) return gone;
  if (note.createdBy !== auth.userId) {
    return { ok: false, code: 'forbidden', message: 'Only its author can edit this note; write a new note to add to it.' };
  }
  if (note.text === text) return { ok: true, note: null };
  return {
    ok: true,
    note: { ...note, text, editedAt: now, history: [...note.history, { text: note.text, replacedAt: now }], revision: note.revision + 1 },
  };
}

/** The note marked deleted, by its author or an admin (who moderates the file). */
export function deleteNote(note: NoteDoc, auth: AuthContext, now: Date): NoteOutcome {
  if (note.deletedAt) return gone;
  if (note.createdBy !== auth.userId && auth.role !== 'admin') {
    return { ok: false, code: 'forbidden', message: 'Only its author or an admin can delete this note.' };
  }
  return { ok: true, note: { ...note, deletedAt: now, deletedBy: auth.userId, revision: note.revision + 1 } };
}

export function toNoteView(doc: NoteDoc) {
  return {
    id: doc._id,
    partyId: doc.partyId,
    text: doc.text,
    author: doc.createdBy,
    createdAt: doc.createdAt.toISOString(),
    editedAt: doc.editedAt ? doc.editedAt.toISOString() : null,
    history: [...doc.history].reverse().map((v) => ({ text: v.text, replacedAt: v.replacedAt.toISOString() })),
  };
}

/** One page of notes (read one more than the page, to know whether another follows) and the cursor of the next. */
export function notesPage(docs: readonly NoteDoc[], limit: number) {
  const items = docs.slice(0, limit);
  return { items: items.map(toNoteView), nextCursor: docs.length > limit ? encodeCursor(items[items.length - 1].sortKey) : null };
}
