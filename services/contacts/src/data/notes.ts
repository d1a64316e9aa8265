import mongoose, { type Connection } from 'mongoose';
import { TenantRepository, insertEach, modelOf } from '@relais/shared';
import type { NoteDoc, NoteVersion } from '../domain/notes';
import { ConcurrentChangeError } from './parties';

const versionSchema = new mongoose.Schema<NoteVersion>({ text: { type: String, required: true }, replacedAt: { type: Date, required: true } }, { _id: false });

/** The `notes` collection: the notepad of each party's file (seed 002). */
const schema = new mongoose.Schema<NoteDoc>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    partyId: { type: String, required: true },
    text: { type: String, required: true },
    createdBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
    editedAt: { type: Date, default: null },
    history: { type: [versionSchema], default: [] },
    sortKey: { type: String, required: true },
    revision: { type: Number, required: true },
    // Always present (null until deleted): the list filters on an equality, which FerretDB pushes down.
    deletedAt: { type: Date, default: null },
    deletedBy: { type: String, default: null },
  },
  { versionKey: false, collection: 'notes' },
);
// Serves a party's notes newest first, page after page: { orgId, partyId, deletedAt: null, sortKey < cursor } sorted by sortKey descending.
schema.index({ orgId: 1, partyId: 1, sortKey: -1 });

export class Notes extends TenantRepository<NoteDoc> {
  static open(db: Connection): Notes {
    return new Notes(modelOf<NoteDoc>(db, 'Note', schema));
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
  }

  /** Inserts a new note: true, or false when a note with its id is already there (a retried creation). */
  async insert(doc: NoteDoc): Promise<boolean> {
    const [inserted] = await insertEach(this.model, [doc as unknown as Record<string, unknown>]);
    return inserted;
  }

  /** A note of the party, deleted or not (the caller tells a deleted note apart). */
  byId(orgId: string, partyId: string, noteId: string): Promise<NoteDoc | null> {
    return this.findOne(orgId, { _id: noteId, partyId });
  }

  /** The party's notes not deleted, newest first, after the sort key `after` when given. */
  list(orgId: string, partyId: string, read: number, after?: string): Promise<NoteDoc[]> {
    const filter = { partyId, deletedAt: null, ...(after !== undefined ? { sortKey: { $lt: after } } : {}) };
    return this.find(orgId, filter).sort({ sortKey: -1 }).limit(read).exec();
  }

  /**
   * Applies `change` to the current note and writes the result only if the note is still at the
   * revision it was computed from, else reads it again and retries. Returns null when the note is
   * not on the party's file, the stored note when `change` returns null (nothing to change). As for
   * parties, atomic on MongoDB; on FerretDB two truly simultaneous edits of one note can lose one.
   */
  async update(orgId: string, partyId: string, noteId: string, change: (current: NoteDoc) => NoteDoc | null, attempts = 3): Promise<NoteDoc | null> {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const current = await this.byId(orgId, partyId, noteId);
      if (!current) return null;
      const next = change(current);
      if (!next) return current;
      const res = await this.model.replaceOne(this.scoped(orgId, { _id: noteId, partyId, revision: current.revision }), next).exec();
      if (res.matchedCount === 1) return next;
    }
    throw new ConcurrentChangeError(`note ${noteId} kept changing during the update`);
  }
}
