import { createHash } from 'node:crypto';
import { pipeline, type Readable } from 'node:stream';
import mongoose, { type Connection, type Model } from 'mongoose';
import { TenantRepository, inPieces } from '@relais/shared';

/** What every attachment record holds until it is erased. */
interface AttachmentFields {
  _id: string;
  orgId: string;
  partyId: string;
  filename: string;
  /** Read from the bytes. */
  contentType: string;
  size: number;
  sha256: string;
  description: string | null;
  uploadedAt: Date;
  uploadedBy: string;
}

export type StoredAttachment = AttachmentFields & { state: 'stored' };
export type DeletedAttachment = AttachmentFields & { state: 'deleted'; deletedAt: Date; deletedBy: string };
/** An erased attachment keeps only that it was erased: no name, type or checksum, and no bytes. */
export interface ErasedAttachment {
  _id: string;
  orgId: string;
  partyId: string;
  state: 'erased';
  erasedAt: Date;
  erasedBy: string;
}
export type AttachmentDoc = StoredAttachment | DeletedAttachment | ErasedAttachment;
export type NewAttachment = Omit<StoredAttachment, 'state' | 'size' | 'sha256'>;

/** The content of an upload went past the size limit; what was written is deleted. */
export class AttachmentTooLarge extends Error {
  override name = 'AttachmentTooLarge';
  constructor(readonly maxBytes: number) {
    super(`attachment larger than ${maxBytes} bytes`);
  }
}

const schema = new mongoose.Schema<AttachmentDoc>(
  {
    _id: { type: String, required: true },
    orgId: { type: String, required: true },
    partyId: { type: String, required: true },
    // Always present: the list filters on an equality, which FerretDB pushes down.
    state: { type: String, enum: ['stored', 'deleted', 'erased'], required: true },
    filename: String,
    contentType: String,
    size: Number,
    sha256: String,
    description: { type: String, default: undefined },
    uploadedAt: Date,
    uploadedBy: String,
    deletedAt: Date,
    deletedBy: String,
    erasedAt: Date,
    erasedBy: String,
  },
  { versionKey: false, collection: 'attachments' },
);
// Serves a party's attachments newest first: { orgId, partyId, state: 'stored' } sorted by uploadedAt descending.
schema.index({ orgId: 1, partyId: 1, state: 1, uploadedAt: -1 });

/**
 * Attachments: their records in `attachments`, their bytes in the GridFS bucket `attachments`
 * (`attachments.files`, `attachments.chunks`), the bytes' GridFS id being the attachment id.
 * Bytes are written first, the record once they are all stored: a record always has its bytes.
 */
export class Attachments extends TenantRepository<AttachmentDoc> {
  private constructor(
    model: Model<AttachmentDoc>,
    private readonly bucket: mongoose.mongo.GridFSBucket,
    private readonly db: mongoose.mongo.Db,
    /** Largest content `save` stores (ATTACHMENT_MAX_BYTES). */
    readonly maxBytes: number,
  ) {
    super(model);
  }

  static open(conn: Connection, options: { maxBytes: number }): Attachments {
    const model = (conn.models.Attachment as Model<AttachmentDoc>) ?? conn.model<AttachmentDoc>('Attachment', schema);
    const db = conn.db!;
    return new Attachments(model, new mongoose.mongo.GridFSBucket(db, { bucketName: 'attachments' }), db, options.maxBytes);
  }

  private get files() {
    return this.db.collection('attachments.files');
  }

  private get chunks() {
    return this.db.collection('attachments.chunks');
  }

  async init(): Promise<void> {
    await this.model.createIndexes();
    // The driver creates these on the first upload only when the bucket is empty; made here, they are there from the start.
    // Serves reading a file's chunks in order: { files_id } sorted by n (and one chunk per n).
    await this.chunks.createIndex({ files_id: 1, n: 1 }, { unique: true });
    // The driver's own index on files (it looks for it before an upload).
    await this.files.createIndex({ filename: 1, uploadDate: 1 });
  }

  /**
   * Stores the bytes of `content`, counting and hashing them on the way, then the record. Chunks are
   * written one at a time, each awaited: when `content` fails or goes past `maxBytes` no insert is in
   * flight, so deleting what was written leaves nothing behind (the driver's abort() deletes without
   * waiting for inserts under way: measured, they land afterwards and stay).
   */
  async save(doc: NewAttachment, content: AsyncIterable<Buffer>): Promise<StoredAttachment> {
    const upload = this.bucket.openUploadStreamWithId(doc._id as never, doc.filename, { metadata: { orgId: doc.orgId, partyId: doc.partyId } });
    // Errors also come back through the write callbacks below.
    upload.on('error', () => {});
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of content) {
        size += chunk.length;
        if (size > this.maxBytes) throw new AttachmentTooLarge(this.maxBytes);
        hash.update(chunk);
        await new Promise<void>((resolve, reject) => upload.write(chunk, (err) => (err ? reject(err) : resolve())));
      }
      await new Promise<void>((resolve, reject) => upload.end((err?: Error | null) => (err ? reject(err) : resolve())));
    } catch (err) {
      upload.destroy();
      await this.deleteBytes(doc._id);
      throw err;
    }
    const stored: StoredAttachment = { ...doc, state: 'stored', size, sha256: hash.digest('hex') };
    try {
      await this.model.collection.insertOne(stored as never);
    } catch (err) {
      await this.deleteBytes(doc._id);
      throw err;
    }
    return stored;
  }

  /** An attachment of the party, whatever its state (the caller tells deleted and erased ones apart). */
  byId(orgId: string, partyId: string, attachmentId: string): Promise<AttachmentDoc | null> {
    return this.findOne(orgId, { _id: attachmentId, partyId });
  }

  /** The party's attachments neither deleted nor erased, newest first. */
  list(orgId: string, partyId: string): Promise<StoredAttachment[]> {
    return this.find(orgId, { partyId, state: 'stored' }).sort({ uploadedAt: -1, _id: -1 }).exec() as Promise<StoredAttachment[]>;
  }

  /**
   * The bytes of a stored attachment, in pieces small enough for the broker (inPieces), or null when
   * its GridFS file is missing. Read errors end the returned stream with that error.
   */
  async open(attachment: StoredAttachment): Promise<Readable | null> {
    const file = await this.files.findOne({ _id: attachment._id as never }, { projection: { length: 1 } });
    if (!file || file.length !== attachment.size) return null;
    const pieces = inPieces();
    pipeline(this.bucket.openDownloadStream(attachment._id as never), pieces, () => {});
    return pieces;
  }

  /** Marks a stored attachment deleted; its bytes stay. Null when it is not stored (any more). */
  async softDelete(orgId: string, partyId: string, attachmentId: string, by: string, at: Date): Promise<DeletedAttachment | null> {
    const res = await this.model
      .updateOne(this.scoped(orgId, { _id: attachmentId, partyId, state: 'stored' }), { $set: { state: 'deleted', deletedAt: at, deletedBy: by } })
      .exec();
    if (res.matchedCount === 0) return null;
    const doc = await this.byId(orgId, partyId, attachmentId);
    return doc?.state === 'deleted' ? doc : null;
  }

  /**
   * Erases an attachment, stored or deleted: the record is replaced by the erasure, then the bytes are
   * deleted. Erasing an erased attachment deletes whatever bytes an interrupted erasure left, and
   * answers the first erasure. Null when the party has no such attachment.
   */
  async erase(orgId: string, partyId: string, attachmentId: string, by: string, at: Date): Promise<ErasedAttachment | null> {
    const current = await this.byId(orgId, partyId, attachmentId);
    if (!current) return null;
    let erased: ErasedAttachment;
    if (current.state === 'erased') {
      erased = current;
    } else {
      erased = { _id: attachmentId, orgId, partyId, state: 'erased', erasedAt: at, erasedBy: by };
      await this.model.replaceOne(this.scoped(orgId, { _id: attachmentId, partyId }), erased).exec();
    }
    await this.deleteBytes(attachmentId);
    return erased;
  }

  /** Deletes the GridFS file and its chunks, whatever is left of them: the file first, so no download starts. */
  private async deleteBytes(id: string): Promise<void> {
    await this.files.deleteOne({ _id: id as never });
    await this.chunks.deleteMany({ files_id: id });
  }
}
