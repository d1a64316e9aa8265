import { Readable, pipeline } from 'node:stream';
import { randomUUID } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { inPieces } from '@relais/shared';
import type { AttachmentRef } from '../domain/exchanges';

/**
 * The files that came with inbound e-mails, in GridFS (bucket `exchange_files`): written before the
 * exchange that lists them, so an exchange never names a file that is not there.
 */
export class MailFiles {
  private constructor(
    private readonly bucket: mongoose.mongo.GridFSBucket,
    private readonly files: mongoose.mongo.Collection,
  ) {}

  static open(db: Connection): MailFiles {
    return new MailFiles(new mongoose.mongo.GridFSBucket(db.db!, { bucketName: 'exchange_files' }), db.db!.collection('exchange_files.files'));
  }

  async store(orgId: string, exchangeId: string, file: { filename: string; contentType: string; content: Buffer }): Promise<AttachmentRef> {
    const id = randomUUID();
    const upload = this.bucket.openUploadStreamWithId(id as never, file.filename, { metadata: { orgId, exchangeId, contentType: file.contentType } });
    await new Promise<void>((resolve, reject) => Readable.from([file.content]).pipe(upload).on('finish', resolve).on('error', reject));
    return { id, filename: file.filename, contentType: file.contentType, size: file.content.length };
  }

  /** The bytes of a file of the org's exchange, in pieces small enough for the broker, or null when they are not (all) there. */
  async open(orgId: string, exchangeId: string, ref: AttachmentRef): Promise<Readable | null> {
    const file = await this.files.findOne({ _id: ref.id as never, 'metadata.orgId': orgId, 'metadata.exchangeId': exchangeId }, { projection: { length: 1 } });
    if (!file || file.length !== ref.size) return null;
    const pieces = inPieces();
    pipeline(this.bucket.openDownloadStream(ref.id as never), pieces, () => {});
    return pieces;
  }
}
