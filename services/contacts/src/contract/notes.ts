import { z } from 'zod';
import { STAFF, type Route } from '@relais/shared';
import { WRITERS, partyId } from './channels';
import { decodeNoteCursor } from './parsing';
import { NOTE_MAX_LENGTH } from './vocabulary';

// ---------------------------------------------------------------------------------------------
// The notepad of a file (seed 002, "bloc-notes")

export const noteId = z.uuid({ message: 'must be a note id (UUID)' });

/** A note's text: trimmed, line breaks kept (a note is a message, not a one-line field). */
const noteText = z
  .string({ error: (issue) => (issue.input === null ? 'cannot be empty' : undefined) })
  .trim()
  .min(1, 'cannot be empty')
  .max(NOTE_MAX_LENGTH, `must be at most ${NOTE_MAX_LENGTH} characters`)
  .describe('The message; line breaks are kept');

export const listNotesInput = z.strictObject({
  partyId,
  limit: z.coerce.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
  cursor: z
    .string()
    .max(1000)
    .refine((c) => decodeNoteCursor(c) !== null, 'is not a cursor returned by a previous page of notes')
    .optional()
    .describe('nextCursor of the previous page'),
});
export type ListNotesInput = z.infer<typeof listNotesInput>;

export const addNoteInput = z
  .strictObject({ partyId, text: noteText })
  .meta({ examples: [{ text: 'Called on 12 March: promised a first payment on the 15th.\nCall back if nothing arrives.' }] });

export const editNoteInput = z
  .strictObject({ partyId, noteId, text: noteText })
  .meta({ examples: [{ text: 'Called on 12 March: promised a first payment on the 20th.' }] });

export const noteRefInput = z.strictObject({ partyId, noteId });

export const noteView = z.object({
  id: z.string(),
  partyId: z.string(),
  text: z.string(),
  /** The user who wrote it, the only one who may edit it. */
  author: z.string(),
  createdAt: z.iso.datetime(),
  /** When its text last changed; null if never edited. */
  editedAt: z.iso.datetime().nullable(),
  /** The texts it held before, newest first, each with when it was replaced. */
  history: z.array(z.object({ text: z.string(), replacedAt: z.iso.datetime() })),
});
export type NoteView = z.infer<typeof noteView>;

export const notesPageView = z.object({ items: z.array(noteView), nextCursor: z.string().nullable() });

export const noteRoutes: Route[] = [
  {
    method: 'get',
    path: '/v1/parties/:partyId/notes',
    action: 'contacts.listNotes',
    input: listNotesInput,
    output: notesPageView,
    roles: STAFF,
    summary: "The notes left on a party's file, newest first",
    description: 'Deleted notes are not listed. Pages of `limit` notes (50 by default, at most 200). Every staff role may read them.',
    tag: 'Notes',
  },
  {
    method: 'post',
    path: '/v1/parties/:partyId/notes',
    action: 'contacts.addNote',
    input: addNoteInput,
    output: noteView,
    status: 201,
    roles: WRITERS,
    idempotent: true,
    summary: "Leave a note on a party's file, signed and dated, for every colleague who opens it",
    description: 'Caseworkers, managers and admins. The text is trimmed; line breaks are kept.',
    tag: 'Notes',
  },
  {
    method: 'patch',
    path: '/v1/parties/:partyId/notes/:noteId',
    action: 'contacts.editNote',
    input: editNoteInput,
    output: noteView,
    roles: WRITERS,
    summary: "Change a note's text (the text it replaces is kept in its history)",
    description: 'Only its author, if a caseworker, manager or admin; anyone else gets a 403.',
    tag: 'Notes',
  },
  {
    method: 'delete',
    path: '/v1/parties/:partyId/notes/:noteId',
    action: 'contacts.deleteNote',
    input: noteRefInput,
    status: 204,
    roles: WRITERS,
    summary: 'Delete a note (it is no longer listed; who deleted it and when is kept)',
    description: 'Its author (a caseworker, manager or admin) or an admin; anyone else gets a 403.',
    tag: 'Notes',
  },
];
