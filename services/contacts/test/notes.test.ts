import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { encodeCursor, type AuthContext } from '@relais/shared';
import { addNoteInput, listNotesInput } from '../src/api';
import { decodeNoteCursor } from '../src/contract/parsing';
import { deleteNote, editNote, newNote, noteSortKey, notesPage, toNoteView, type NoteDoc } from '../src/domain/notes';

const orgId = randomUUID();
const author: AuthContext = { orgId, userId: randomUUID(), role: 'caseworker' };
const colleague: AuthContext = { orgId, userId: randomUUID(), role: 'manager' };
const admin: AuthContext = { orgId, userId: randomUUID(), role: 'admin' };
const at = (minute: number) => new Date(Date.UTC(2025, 2, 12, 9, minute));
const note = (text = 'Promised a payment on the 15th.', minute = 0) => newNote(randomUUID(), orgId, randomUUID(), text, author, at(minute));
const edited = (doc: NoteDoc, text: string, by: AuthContext, minute: number) => {
  const outcome = editNote(doc, text, by, at(minute));
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.note;
};

describe('the notepad of a file', () => {
  it('signs and dates a new note, never edited, not deleted', () => {
    const doc = note();
    expect(toNoteView(doc)).to.deep.equal({
      id: doc._id,
      partyId: doc.partyId,
      text: 'Promised a payment on the 15th.',
      author: author.userId,
      createdAt: at(0).toISOString(),
      editedAt: null,
      history: [],
    });
    expect(doc).to.deep.include({ revision: 1, deletedAt: null, deletedBy: null });
  });

  it('lets its author edit it, keeping each replaced text with when, newest first', () => {
    const first = edited(note('v1'), 'v2', author, 5)!;
    const second = edited(first, 'v3', author, 9)!;
    expect(second).to.deep.include({ text: 'v3', editedAt: at(9), revision: 3 });
    expect(toNoteView(second).history).to.deep.equal([
      { text: 'v2', replacedAt: at(9).toISOString() },
      { text: 'v1', replacedAt: at(5).toISOString() },
    ]);
    // The same text again changes nothing: no write, no history entry.
    expect(edited(second, 'v3', author, 12)).to.equal(null);
  });

  it('refuses an edit by anyone but its author, an admin included (403)', () => {
    for (const who of [colleague, admin]) {
      expect(editNote(note(), 'Changed', who, at(1))).to.deep.equal({
        ok: false,
        code: 'forbidden',
        message: 'Only its author can edit this note; write a new note to add to it.',
      });
    }
  });

  it('lets its author or an admin delete it, recorded with who and when, and nobody else', () => {
    const byAuthor = deleteNote(note(), author, at(3));
    expect(byAuthor.ok && byAuthor.note).to.deep.include({ deletedAt: at(3), deletedBy: author.userId, revision: 2 });
    const byAdmin = deleteNote(note(), admin, at(4));
    expect(byAdmin.ok && byAdmin.note).to.deep.include({ deletedAt: at(4), deletedBy: admin.userId });
    expect(deleteNote(note(), colleague, at(4))).to.deep.include({ ok: false, code: 'forbidden' });
  });

  it('treats a deleted note as gone: no edit, no second deletion (404)', () => {
    const gone = deleteNote(note(), author, at(3));
    if (!gone.ok) throw new Error('not deleted');
    expect(editNote(gone.note!, 'again', author, at(4))).to.deep.include({ ok: false, code: 'not-found' });
    expect(deleteNote(gone.note!, admin, at(4))).to.deep.include({ ok: false, code: 'not-found' });
  });

  it('sorts notes newest first with a cursor that resumes after the last one shown', () => {
    const id = randomUUID();
    const key = noteSortKey(at(7), id);
    expect(decodeNoteCursor(encodeCursor(key))).to.equal(key);
    expect(noteSortKey(at(7), id) > noteSortKey(at(6), id)).to.equal(true);
    expect(decodeNoteCursor('bm90IGEgY3Vyc29y')).to.equal(null);
    const docs = [note('c', 3), note('b', 2), note('a', 1)];
    const page = notesPage(docs, 2);
    expect(page.items.map((n) => n.text)).to.deep.equal(['c', 'b']);
    expect(decodeNoteCursor(page.nextCursor!)).to.equal(docs[1].sortKey);
    expect(notesPage(docs.slice(0, 2), 2).nextCursor).to.equal(null);
  });

  it('trims a note and keeps its line breaks, from 1 to 5,000 characters; a limit of 50 by default, at most 200', () => {
    const partyId = randomUUID();
    expect(addNoteInput.parse({ partyId, text: '  Called.\n\nCall back Monday.  ' }).text).to.equal('Called.\n\nCall back Monday.');
    expect(addNoteInput.safeParse({ partyId, text: '  \n ' }).success).to.equal(false);
    expect(addNoteInput.safeParse({ partyId, text: 'x'.repeat(5000) }).success).to.equal(true);
    expect(addNoteInput.safeParse({ partyId, text: 'x'.repeat(5001) }).success).to.equal(false);
    expect(listNotesInput.parse({ partyId }).limit).to.equal(50);
    expect(listNotesInput.safeParse({ partyId, limit: '201' }).success).to.equal(false);
    expect(listNotesInput.safeParse({ partyId, cursor: 'abc' }).success).to.equal(false);
  });
});
