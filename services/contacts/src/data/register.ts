import { createHash } from 'node:crypto';
import mongoose, { type Connection, type Model } from 'mongoose';
import { chunks, insertManyIgnoringDuplicates, modelOf } from '@relais/shared';
import { buildIndex, parseRegister, type PartialDate, type Publication, type RegisterEntry, type RegisterIndex } from '../domain/screening';

/** One entry of the imported register, tagged with the publication (content hash) it came from. */
export interface RegisterEntryDoc extends RegisterEntry {
  /** `<first 16 hex of the hash>:<IdRegistre>`: the same entry of two publications are two documents. */
  _id: string;
  publicationHash: string;
}

/** The publication the screening uses: the only document of `register_publication`. */
export interface RegisterPublicationDoc {
  _id: 'current';
  publishedAt: Date;
  /** sha256 of the parsed publication: the same file imported again is recognised. */
  contentHash: string;
  entryCount: number;
  importedAt: Date;
}

const dateSchema = new mongoose.Schema<PartialDate>({ year: { type: Number, required: true }, month: Number, day: Number }, { _id: false });

const entrySchema = new mongoose.Schema<RegisterEntryDoc>(
  {
    _id: { type: String, required: true },
    publicationHash: { type: String, required: true },
    id: { type: String, required: true },
    nature: { type: String, required: true },
    natureLabel: { type: String, default: '' },
    name: { type: String, required: true },
    givenNames: { type: [String], default: [] },
    aliases: { type: [String], default: [] },
    birthDates: { type: [dateSchema], default: [] },
    nationalities: { type: [String], default: [] },
  },
  { versionKey: false, collection: 'register_entries' },
);
// Serves the read of every entry of the current publication, { publicationHash } (to build the
// screening index), and the clean-up of the entries of replaced publications.
entrySchema.index({ publicationHash: 1 });

const publicationSchema = new mongoose.Schema<RegisterPublicationDoc>(
  {
    _id: { type: String, required: true },
    publishedAt: { type: Date, required: true },
    contentHash: { type: String, required: true },
    entryCount: { type: Number, required: true },
    importedAt: { type: Date, required: true },
  },
  // Read by _id only: no secondary index.
  { versionKey: false, collection: 'register_publication' },
);

export class RegisterImportError extends Error {}

export interface ImportResult {
  /** false: this very publication was already the current one, nothing was written. */
  changed: boolean;
  publishedAt: Date;
  entries: number;
  /** The publication it replaced, if any. */
  previous: { publishedAt: Date; entries: number } | null;
}

// Inserts per command: a register holds a few thousand entries, FerretDB takes them in a few commands.
const INSERT_BATCH = 500;

/** sha256 of a publication's date and entries as parsed: formatting and ignored fields do not change it. */
export function publicationHash(publication: Publication): string {
  return createHash('sha256')
    .update(JSON.stringify({ publishedAt: publication.publishedAt.toISOString(), entries: publication.entries }))
    .digest('hex');
}

/**
 * The local copy of the national register of asset freezes. An import writes the new
 * publication's entries beside the current ones, then switches the publication document to them
 * (one single-document write), then removes the other entries: a crash at any point leaves the
 * previous publication or the new one whole, and importing the file again completes the switch.
 * Imports are an operator's command, one at a time.
 */
export class Register {
  private constructor(
    private readonly entries: Model<RegisterEntryDoc>,
    private readonly publication: Model<RegisterPublicationDoc>,
  ) {}

  static open(db: Connection): Register {
    return new Register(
      modelOf<RegisterEntryDoc>(db, 'RegisterEntry', entrySchema),
      modelOf<RegisterPublicationDoc>(db, 'RegisterPublication', publicationSchema),
    );
  }

  async init(): Promise<void> {
    await Promise.all([this.entries.createIndexes(), this.publication.createIndexes()]);
  }

  current(): Promise<RegisterPublicationDoc | null> {
    return this.publication.findById('current').lean<RegisterPublicationDoc>().exec();
  }

  /**
   * Imports a publication in the register's public JSON (RegisterFormatError on another shape).
   * The same publication again changes nothing; another one replaces every entry, unless it is
   * older than the current one (RegisterImportError: the register only moves forward).
   */
  async importPublication(json: unknown, now = new Date()): Promise<ImportResult> {
    const parsed = parseRegister(json);
    const hash = publicationHash(parsed);
    const current = await this.current();
    const previous = current ? { publishedAt: current.publishedAt, entries: current.entryCount } : null;
    if (current?.contentHash === hash) {
      // Entries of an import interrupted after its switch are still there: remove them now.
      await this.entries.deleteMany({ publicationHash: { $ne: hash } }).exec();
      return { changed: false, publishedAt: current.publishedAt, entries: current.entryCount, previous };
    }
    if (current && parsed.publishedAt < current.publishedAt) {
      throw new RegisterImportError(
        `this publication (${parsed.publishedAt.toISOString()}) is older than the current one (${current.publishedAt.toISOString()}): not imported`,
      );
    }
    const docs = parsed.entries.map((e) => ({ ...e, _id: `${hash.slice(0, 16)}:${e.id}`, publicationHash: hash }));
    // Ignoring duplicates: a retried import finds the entries its first attempt wrote.
    for (const part of chunks(docs, INSERT_BATCH)) await insertManyIgnoringDuplicates(this.entries, part);
    const stored = await this.entries.countDocuments({ publicationHash: hash }).exec();
    if (stored !== docs.length) throw new RegisterImportError(`${stored} of ${docs.length} entries stored: the publication was not switched, import it again`);
    const next: RegisterPublicationDoc = { _id: 'current', publishedAt: parsed.publishedAt, contentHash: hash, entryCount: docs.length, importedAt: now };
    await this.publication.replaceOne({ _id: 'current' }, next, { upsert: true }).exec();
    await this.entries.deleteMany({ publicationHash: { $ne: hash } }).exec();
    return { changed: true, publishedAt: parsed.publishedAt, entries: docs.length, previous };
  }

  /** Every entry of the current publication, or null before the first import. */
  async read(): Promise<Publication | null> {
    return (await this.readCurrent())?.publication ?? null;
  }

  /**
   * The current publication's document and entries, read as one: an import that switches and
   * removes the entries while they are read leaves fewer than its count, and they are read again.
   */
  async readCurrent(attempts = 3): Promise<{ current: RegisterPublicationDoc; publication: Publication } | null> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.current();
      if (!current) return null;
      const docs = await this.entries.find({ publicationHash: current.contentHash }).lean<RegisterEntryDoc[]>().exec();
      if (docs.length !== current.entryCount && attempt < attempts) continue;
      if (docs.length !== current.entryCount)
        throw new RegisterImportError(`the publication of ${current.publishedAt.toISOString()} has ${docs.length} of its ${current.entryCount} entries`);
      const entries = docs
        .map(({ _id, publicationHash: _publication, ...entry }): RegisterEntry => ({ ...entry, birthDates: entry.birthDates.map(withoutNulls) }))
        .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
      return { current, publication: { publishedAt: current.publishedAt, entries } };
    }
  }

  /** The screening index of the current publication, or null before the first import. */
  async index(): Promise<RegisterIndex | null> {
    const publication = await this.read();
    return publication ? buildIndex(publication) : null;
  }
}

/** A stored partial date without the fields it lacks (the database may hand them back as null). */
function withoutNulls(d: PartialDate): PartialDate {
  return { year: d.year, ...(d.month != null ? { month: d.month } : {}), ...(d.day != null ? { day: d.day } : {}) };
}
