import type { ActionSchema } from 'moleculer';
import { AppError, STAFF, conflict, createdId, defineAction, forbidden, notFound } from '@relais/shared';
import { WRITERS, addNoteInput, editNoteInput, listNotesInput, noteRefInput } from '../api';
import { decodeNoteCursor } from '../contract/parsing';
import { ConcurrentChangeError } from '../data/parties';
import { deleteNote, editNote, newNote, notesPage, toNoteView, type NoteDoc, type NoteOutcome } from '../domain/notes';
import type { ContactsDeps } from './deps';

const noteNotFound = () => new AppError('This note was not found on this file; it may have been deleted.', 404, 'NOT_FOUND');

/** The domain's changed note (null: unchanged), or its refusal as the shared error. */
function decided(outcome: NoteOutcome): NoteDoc | null {
  if (outcome.ok) return outcome.note;
  throw outcome.code === 'forbidden' ? forbidden(outcome.message) : noteNotFound();
}

/** The notepad of a party's file (seed 002): read by every staff role, written by caseworkers and above. */
export function noteActions(deps: ContactsDeps): Record<string, ActionSchema> {
  /** A party of the caller's org, else a 404: another org's file looks like no file. */
  async function requireParty(orgId: string, partyId: string): Promise<void> {
    if (!(await deps.parties.byId(orgId, partyId))) throw notFound('Party');
  }

  /** Applies a decision to a note of the party's file; a 404 when the note is not there. */
  async function change(orgId: string, partyId: string, noteId: string, decide: (note: NoteDoc) => NoteDoc | null): Promise<NoteDoc> {
    await requireParty(orgId, partyId);
    try {
      const note = await deps.notes.update(orgId, partyId, noteId, decide);
      if (!note) throw noteNotFound();
      return note;
    } catch (err) {
      if (err instanceof ConcurrentChangeError) throw conflict('This note was being changed by someone else at the same time; reload it and try again.');
      throw err;
    }
  }

  return {
    listNotes: defineAction({
      input: listNotesInput,
      roles: STAFF,
      async handler({ partyId, limit, cursor }, auth) {
        await requireParty(auth.orgId, partyId);
        const after = cursor === undefined ? undefined : (decodeNoteCursor(cursor) ?? undefined);
        return notesPage(await deps.notes.list(auth.orgId, partyId, limit + 1, after), limit);
      },
    }),

    addNote: defineAction({
      input: addNoteInput,
      roles: WRITERS,
      async handler({ partyId, text }, auth, ctx) {
        await requireParty(auth.orgId, partyId);
        const doc = newNote(createdId(ctx, auth.orgId), auth.orgId, partyId, text, auth, new Date());
        if (await deps.notes.insert(doc)) return toNoteView(doc);
        // The id is taken: a retry (same Idempotency-Key) of a creation whose answer was lost, answered with the first note.
        const first = await deps.notes.byId(auth.orgId, partyId, doc._id);
        if (!first) throw conflict('This Idempotency-Key was already used to leave a note on another file; send this note with a new key.');
        if (first.deletedAt) throw conflict('The note this request created has been deleted since; send it again with a new Idempotency-Key.');
        return toNoteView(first);
      },
    }),

    editNote: defineAction({
      input: editNoteInput,
      roles: WRITERS,
      async handler({ partyId, noteId, text }, auth) {
        const now = new Date();
        return toNoteView(await change(auth.orgId, partyId, noteId, (note) => decided(editNote(note, text, auth, now))));
      },
    }),

    deleteNote: defineAction({
      input: noteRefInput,
      roles: WRITERS,
      async handler({ partyId, noteId }, auth) {
        const now = new Date();
        await change(auth.orgId, partyId, noteId, (note) => decided(deleteNote(note, auth, now)));
        return null;
      },
    }),
  };
}
