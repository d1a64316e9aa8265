import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import { Errors, type ActionSchema } from 'moleculer';
import { AppError, STAFF, defineAction, forbidden, notFound, validationError, type RelaisContext, type StreamedFile } from '@relais/shared';
import { WRITERS } from '../api';
import {
  ATTACHMENT_TYPES,
  attachmentRefInput,
  deleteAttachmentInput,
  listAttachmentsInput,
  uploadAttachmentInput,
  type AttachmentView,
} from '../contract/attachments';
import { AttachmentTooLarge, type AttachmentDoc, type StoredAttachment } from '../data/attachments';
import type { ContactsDeps } from './deps';

/** Bytes read before anything is stored, to tell the type: enough for file-type to look inside DOCX/XLSX/ODT zips. */
const SNIFF_BYTES = 64 * 1024;

const allowedTypes = Object.values(ATTACHMENT_TYPES).join(', ');

const unsupported = (found: string) =>
  new Errors.MoleculerClientError(`${found}; allowed: ${allowedTypes}. Nothing was stored.`, 415, 'UNSUPPORTED_MEDIA_TYPE');

const tooLarge = (maxBytes: number) =>
  new Errors.MoleculerClientError(
    `The file is larger than the ${mebibytes(maxBytes)} allowed (${maxBytes.toLocaleString('en')} bytes); nothing was stored.`,
    413,
    'TOO_LARGE',
  );

const mebibytes = (bytes: number) => `${Number((bytes / 1024 / 1024).toFixed(2))} MiB`;

const interrupted = () => new Errors.MoleculerClientError('The upload was interrupted before the end of the file; nothing was stored.', 400, 'INTERRUPTED');

const attachmentNotFound = (doc?: AttachmentDoc | null) => {
  if (doc?.state === 'deleted')
    return new AppError(`This attachment was deleted on ${doc.deletedAt.toISOString()}; it is no longer available.`, 404, 'NOT_FOUND');
  if (doc?.state === 'erased')
    return new AppError(`This attachment was erased on ${doc.erasedAt.toISOString()}; its content no longer exists.`, 404, 'NOT_FOUND');
  return new AppError('This attachment was not found on this file.', 404, 'NOT_FOUND');
};

export const toAttachmentView = (doc: StoredAttachment): AttachmentView => ({
  id: doc._id,
  partyId: doc.partyId,
  filename: doc.filename,
  contentType: doc.contentType,
  size: doc.size,
  sha256: doc.sha256,
  description: doc.description,
  uploadedAt: doc.uploadedAt.toISOString(),
  uploadedBy: doc.uploadedBy,
});

// ---------------------------------------------------------------- the incoming stream

/** Errors the transporter reported on an incoming stream, recorded from the start of the call. */
const streamErrors = new WeakMap<Readable, { error?: unknown }>();

/**
 * An action taking a byte stream (`ctx.stream`). The transporter emits a sender's error on the stream and
 * then ends it: unheard (the role check and the party lookup come first), that error would be thrown inside
 * the transporter and the stream would look complete. So it is recorded here before anything else, and what
 * the handler left unread is dropped once it has answered.
 */
function receivingStream(action: ActionSchema): ActionSchema {
  return {
    async handler(ctx: RelaisContext) {
      const stream = (ctx as unknown as { stream?: Readable | null }).stream ?? null;
      if (stream) {
        const seen: { error?: unknown } = {};
        streamErrors.set(stream, seen);
        stream.on('error', (err) => (seen.error ??= err));
      }
      try {
        return await (action.handler as (ctx: RelaisContext) => Promise<unknown>)(ctx);
      } finally {
        stream?.destroy();
      }
    },
  };
}

/** The first bytes of the upload (up to SNIFF_BYTES), and every byte of it as they come, the first ones included. */
async function incoming(stream: Readable): Promise<{ head: Buffer; whole: boolean; content: AsyncIterable<Buffer> }> {
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const failed = () => streamErrors.get(stream)?.error !== undefined;
  const first: Buffer[] = [];
  let length = 0;
  let whole = false;
  try {
    while (length < SNIFF_BYTES) {
      const next = await it.next();
      if (next.done) {
        whole = true;
        break;
      }
      first.push(next.value);
      length += next.value.length;
    }
  } catch {
    throw interrupted();
  }
  if (failed()) throw interrupted();
  const head = Buffer.concat(first);
  async function* content(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      if (whole) return;
      for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
    } catch {
      throw interrupted();
    } finally {
      await it.return?.();
    }
    if (failed()) throw interrupted();
  }
  return { head: head.subarray(0, SNIFF_BYTES), whole, content: content() };
}

/**
 * The type of an upload, read from its first bytes: one of ATTACHMENT_TYPES, else a 415 naming what was
 * found. Text has no signature: unrecognised bytes are text when they were sent as text/plain and are
 * UTF-8 without NUL (a multi-byte character cut at the end of the head does not count against them).
 */
async function contentTypeOf(head: Buffer, whole: boolean, declared: string): Promise<string> {
  const detected = await fileTypeFromBuffer(head);
  if (detected) {
    if (Object.hasOwn(ATTACHMENT_TYPES, detected.mime)) return detected.mime;
    throw unsupported(`The file's content is ${detected.mime} (.${detected.ext}), read from its bytes`);
  }
  const declaredType = declared.split(';')[0].trim().toLowerCase();
  if (looksLikeText(head, whole)) {
    if (declaredType === 'text/plain') return 'text/plain';
    throw unsupported(`The file looks like plain text but was sent as ${declaredType || 'no type'}: send text files as text/plain`);
  }
  throw unsupported(`The file's type could not be recognised from its bytes (it was sent as ${declaredType || 'no type'})`);
}

function looksLikeText(head: Buffer, whole: boolean): boolean {
  if (head.includes(0)) return false;
  if (isUtf8(head)) return true;
  if (whole) return false;
  // The head may end inside a character of up to 4 bytes.
  for (let cut = 1; cut <= 3 && cut < head.length; cut++) if (isUtf8(head.subarray(0, head.length - cut))) return true;
  return false;
}

// ---------------------------------------------------------------- actions

/** Documents kept on a party's file (seed 002): read by every staff role, added and deleted by caseworkers and above. */
export function attachmentActions(deps: ContactsDeps): Record<string, ActionSchema> {
  /** A party of the caller's org, else a 404: another org's file looks like no file. */
  async function requireParty(orgId: string, partyId: string): Promise<void> {
    if (!(await deps.parties.byId(orgId, partyId))) throw notFound('Party');
  }

  async function stored(orgId: string, partyId: string, attachmentId: string): Promise<StoredAttachment> {
    await requireParty(orgId, partyId);
    const doc = await deps.attachments.byId(orgId, partyId, attachmentId);
    if (doc?.state !== 'stored') throw attachmentNotFound(doc);
    return doc;
  }

  return {
    uploadAttachment: receivingStream(
      defineAction({
        input: uploadAttachmentInput,
        roles: WRITERS,
        async handler({ partyId, description, file }, auth, ctx) {
          const stream = (ctx as unknown as { stream?: Readable | null }).stream;
          if (!stream) throw validationError('Invalid input: file: the bytes of the file are missing', [{ path: 'file', message: 'is required' }]);
          await requireParty(auth.orgId, partyId);
          const upload = await incoming(stream);
          if (upload.whole && upload.head.length === 0)
            throw validationError('Invalid input: file: the file is empty', [{ path: 'file', message: 'is empty' }]);
          const contentType = await contentTypeOf(upload.head, upload.whole, file.contentType);
          const doc = {
            _id: randomUUID(),
            orgId: auth.orgId,
            partyId,
            filename: file.filename,
            contentType,
            description: description?.trim() || null,
            uploadedAt: new Date(),
            uploadedBy: auth.userId,
          };
          try {
            return toAttachmentView(await deps.attachments.save(doc, upload.content));
          } catch (err) {
            if (err instanceof AttachmentTooLarge) throw tooLarge(err.maxBytes);
            throw err;
          }
        },
      }),
    ),

    listAttachments: defineAction({
      input: listAttachmentsInput,
      roles: STAFF,
      async handler({ partyId }, auth) {
        await requireParty(auth.orgId, partyId);
        return { items: (await deps.attachments.list(auth.orgId, partyId)).map(toAttachmentView) };
      },
    }),

    getAttachment: defineAction({
      input: attachmentRefInput,
      roles: STAFF,
      async handler({ partyId, attachmentId }, auth) {
        return toAttachmentView(await stored(auth.orgId, partyId, attachmentId));
      },
    }),

    // Answers a stream; ctx.meta.file tells the gateway its type, size and name (Route.streamsBytes).
    attachmentContent: defineAction({
      input: attachmentRefInput,
      roles: STAFF,
      async handler({ partyId, attachmentId }, auth, ctx) {
        const doc = await stored(auth.orgId, partyId, attachmentId);
        const bytes = await deps.attachments.open(doc);
        // A record always has its bytes (they are written first): missing bytes are a fault, not a 404.
        if (!bytes) throw new Error(`attachment ${attachmentId}: its GridFS file is missing or of another size`);
        const file: StreamedFile = { contentType: doc.contentType, size: doc.size, filename: doc.filename };
        (ctx.meta as { file?: StreamedFile }).file = file;
        return bytes;
      },
    }),

    deleteAttachment: defineAction({
      input: deleteAttachmentInput,
      roles: WRITERS,
      async handler({ partyId, attachmentId, erase }, auth) {
        if (erase && auth.role !== 'admin')
          throw forbidden('Only an admin can erase an attachment for good; delete it instead (it stays on the file as deleted).');
        await requireParty(auth.orgId, partyId);
        const at = new Date();
        if (erase) {
          const erased = await deps.attachments.erase(auth.orgId, partyId, attachmentId, auth.userId, at);
          if (!erased) throw attachmentNotFound();
          return { id: erased._id, partyId, state: 'erased' as const, erasedAt: erased.erasedAt.toISOString(), erasedBy: erased.erasedBy };
        }
        const deleted = await deps.attachments.softDelete(auth.orgId, partyId, attachmentId, auth.userId, at);
        if (!deleted) throw attachmentNotFound(await deps.attachments.byId(auth.orgId, partyId, attachmentId));
        return { id: deleted._id, partyId, state: 'deleted' as const, deletedAt: deleted.deletedAt.toISOString(), deletedBy: deleted.deletedBy };
      },
    }),
  };
}
