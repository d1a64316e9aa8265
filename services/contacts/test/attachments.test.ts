import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Connection } from 'mongoose';
import { connectDatabase } from '@relais/shared';
import { testConfig, uniqueNamespace } from '@relais/testing';
import { AttachmentTooLarge, Attachments, type NewAttachment, type StoredAttachment } from '../src/data/attachments';

const CHUNK = 255 * 1024; // GridFS's default chunk size

/** `parts` as an upload's content: an async iterable, each part read when asked for, a throw a rejection. */
function delivered(parts: Iterator<Buffer>): AsyncIterable<Buffer> {
  return { [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Buffer>>((resolve) => resolve(parts.next())) }) };
}

function* slices(bytes: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

const inParts = (bytes: Buffer, size = 64 * 1024) => delivered(slices(bytes, size));

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('attachments repository: GridFS on the real database', function () {
  this.timeout(60_000);
  const config = testConfig(uniqueNamespace());
  const MAX = 4 * CHUNK;
  let db: Connection;
  let attachments: Attachments;
  const orgId = randomUUID();
  const partyId = randomUUID();
  const newAttachment = (fields: Partial<NewAttachment> = {}): NewAttachment => ({
    _id: randomUUID(),
    orgId,
    partyId,
    filename: 'relevé.pdf',
    contentType: 'application/pdf',
    description: null,
    uploadedAt: new Date(),
    uploadedBy: 'user-1',
    ...fields,
  });
  const chunksOf = (id: string) => db.db!.collection('attachments.chunks').countDocuments({ files_id: id });
  const filesOf = (id: string) => db.db!.collection('attachments.files').countDocuments({ _id: id as never });

  before(async () => {
    db = await connectDatabase(config, 'contacts');
    attachments = Attachments.open(db, { maxBytes: MAX });
    await attachments.init();
  });
  after(async () => {
    await db?.dropDatabase();
    await db?.close();
  });

  let big: StoredAttachment;
  const bytes = randomBytes(3 * CHUNK - 1000);

  it('stores a file of ~3 chunks and reads it back byte for byte, with its size and sha256', async () => {
    big = await attachments.save(newAttachment({ description: 'Courrier CAF' }), inParts(bytes, 50_000));
    expect(big).to.include({ size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), state: 'stored' });
    expect(await chunksOf(big._id)).to.equal(3);
    const back = await readAll((await attachments.open(big))!);
    expect(back.equals(bytes)).to.equal(true);
    // In pieces small enough for the broker, which reads them as 'data' events.
    const pieces: number[] = [];
    const stream = (await attachments.open(big))!;
    stream.on('data', (piece: Buffer) => pieces.push(piece.length));
    await new Promise((resolve) => stream.once('end', resolve));
    expect(Math.max(...pieces)).to.equal(64 * 1024);
    expect(pieces.reduce((a, b) => a + b, 0)).to.equal(bytes.length);
  });

  it('lists the party’s attachments newest first, only in their org', async () => {
    const later = await attachments.save(
      newAttachment({ uploadedAt: new Date(Date.now() + 1000), filename: 'b.txt', contentType: 'text/plain' }),
      inParts(Buffer.from('bonjour')),
    );
    expect((await attachments.list(orgId, partyId)).map((a) => a._id)).to.deep.equal([later._id, big._id]);
    expect(await attachments.list(randomUUID(), partyId)).to.deep.equal([]);
    expect(await attachments.byId(randomUUID(), partyId, big._id)).to.equal(null);
    expect(await attachments.byId(orgId, randomUUID(), big._id)).to.equal(null);
  });

  it('refuses content past the limit and leaves no chunk of it', async () => {
    const doc = newAttachment();
    const err = await attachments.save(doc, inParts(randomBytes(MAX + 1))).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(AttachmentTooLarge);
    expect(await chunksOf(doc._id)).to.equal(0);
    expect(await filesOf(doc._id)).to.equal(0);
    expect(await attachments.byId(orgId, partyId, doc._id)).to.equal(null);
  });

  it('deletes what was written when the content fails midway', async () => {
    const doc = newAttachment();
    function* failing(): Generator<Buffer> {
      yield randomBytes(2 * CHUNK + 10);
      throw new Error('client gone');
    }
    const err = await attachments.save(doc, delivered(failing())).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.equal('client gone');
    expect(await chunksOf(doc._id)).to.equal(0);
    expect(await filesOf(doc._id)).to.equal(0);
  });

  it('soft-deletes: no longer listed, the record and the bytes stay', async () => {
    const doc = await attachments.save(newAttachment(), inParts(randomBytes(CHUNK + 1)));
    const deleted = await attachments.softDelete(orgId, partyId, doc._id, 'user-2', new Date());
    expect(deleted).to.include({ state: 'deleted', deletedBy: 'user-2', sha256: doc.sha256 });
    expect((await attachments.list(orgId, partyId)).map((a) => a._id)).to.not.include(doc._id);
    expect(await chunksOf(doc._id)).to.equal(2);
    expect(await attachments.softDelete(orgId, partyId, doc._id, 'user-2', new Date())).to.equal(null);
    expect(await attachments.softDelete(randomUUID(), partyId, big._id, 'user-2', new Date())).to.equal(null);
  });

  it('erases: the chunks and the GridFS file are gone, the record keeps only the erasure', async () => {
    expect(await chunksOf(big._id)).to.equal(3);
    const at = new Date();
    const erased = await attachments.erase(orgId, partyId, big._id, 'admin-1', at);
    expect(erased).to.deep.equal({ _id: big._id, orgId, partyId, state: 'erased', erasedAt: at, erasedBy: 'admin-1' });
    expect(await chunksOf(big._id)).to.equal(0);
    expect(await filesOf(big._id)).to.equal(0);
    expect(await attachments.byId(orgId, partyId, big._id)).to.deep.equal(erased);
    // Erasing again answers the first erasure.
    expect(await attachments.erase(orgId, partyId, big._id, 'admin-2', new Date())).to.deep.equal(erased);
    expect(await attachments.erase(randomUUID(), partyId, big._id, 'admin-2', new Date())).to.equal(null);
  });
});
