import { z } from 'zod';
import { STAFF, singleLine, type Route } from '@relais/shared';
import { WRITERS, partyId } from './channels';

// ---------------------------------------------------------------------------------------------
// Attachments ("pièces", seed 002): documents sent to the client, kept on the party's file as a trace

export const attachmentId = z.uuid({ message: 'must be an attachment id (UUID)' });

/**
 * The types an attachment may have, read from its bytes (file-type), with the name people know them by.
 * Plain text has no signature: a file whose type is not recognised is taken as text only when it was sent
 * as text/plain and its first bytes are UTF-8 without NUL.
 */
export const ATTACHMENT_TYPES: Readonly<Record<string, string>> = {
  'application/pdf': 'PDF',
  'image/png': 'PNG',
  'image/jpeg': 'JPEG',
  'image/tiff': 'TIFF',
  'image/webp': 'WebP',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'DOCX',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'XLSX',
  'application/vnd.oasis.opendocument.text': 'ODT',
  'text/plain': 'plain text (UTF-8, sent as text/plain)',
};

const description = z.string().max(500, 'must be at most 500 characters').describe('What the document is, for the people reading the file');

/** The file part of the upload as the gateway reads its headers; neither is trusted for the type. */
const uploadedFile = z
  .strictObject({
    filename: z
      .string()
      .min(1, 'is required: give the file part a file name')
      .max(255, 'must be at most 255 characters')
      .refine(singleLine.check, singleLine.message)
      .refine((name) => name.trim() !== '' && name !== '.' && name !== '..', 'must be a file name'),
    contentType: z.string().max(255, 'must be at most 255 characters'),
  })
  .describe('The file: its name and declared type come from the part headers; the type kept is read from its bytes');

export const uploadAttachmentInput = z.strictObject({ partyId, description: description.optional(), file: uploadedFile });
export type UploadAttachmentInput = z.infer<typeof uploadAttachmentInput>;

export const listAttachmentsInput = z.strictObject({ partyId });
export const attachmentRefInput = z.strictObject({ partyId, attachmentId });

export const deleteAttachmentInput = z.strictObject({
  partyId,
  attachmentId,
  erase: z
    .stringbool({ error: 'must be true or false' })
    .default(false)
    .describe('Admins only: remove the bytes for good; the file then keeps only that it was erased, by whom and when'),
});

export const attachmentView = z.object({
  id: z.string(),
  partyId: z.string(),
  filename: z.string(),
  /** Read from the bytes, not the declared type. */
  contentType: z.string(),
  size: z.number().int().describe('In bytes'),
  sha256: z.string().describe('SHA-256 of the bytes, in hexadecimal'),
  description: z.string().nullable(),
  uploadedAt: z.iso.datetime(),
  uploadedBy: z.string(),
});
export type AttachmentView = z.infer<typeof attachmentView>;

export const attachmentList = z.object({ items: z.array(attachmentView) });

export const attachmentRemoval = z.object({
  id: z.string(),
  partyId: z.string(),
  state: z.enum(['deleted', 'erased']),
  deletedAt: z.iso.datetime().optional(),
  deletedBy: z.string().optional(),
  erasedAt: z.iso.datetime().optional(),
  erasedBy: z.string().optional(),
});

/** The download's body, for the OpenAPI document. */
export const attachmentBytes = z.string().meta({ format: 'binary' }).describe('The bytes of the file, as uploaded');

const allowed = Object.values(ATTACHMENT_TYPES).join(', ');

export const attachmentRoutes: Route[] = [
  {
    method: 'post',
    path: '/v1/parties/:partyId/attachments',
    action: 'contacts.uploadAttachment',
    input: uploadAttachmentInput,
    output: attachmentView,
    status: 201,
    roles: WRITERS,
    idempotent: false,
    multipart: { file: 'file' },
    summary: "Attach a document to a party's file (multipart/form-data: a `file` part, an optional `description`)",
    description:
      'Send `description` (at most 500 characters) before the `file` part. The file is streamed to storage, its size counted and ' +
      `its SHA-256 computed on the way. Its type is read from its bytes, whatever its name or declared type: ${allowed}; ` +
      'anything else is a 415 naming what was found. A file larger than `ATTACHMENT_MAX_BYTES` (10 MiB by default) is a 413. ' +
      'A refused upload leaves nothing stored. Idempotency-Key is not supported here (a 422): a retry after a lost answer ' +
      'stores a second copy, with the same sha256. Caseworkers, managers and admins.',
    tag: 'Attachments',
  },
  {
    method: 'get',
    path: '/v1/parties/:partyId/attachments',
    action: 'contacts.listAttachments',
    input: listAttachmentsInput,
    output: attachmentList,
    roles: STAFF,
    summary: "A party's attachments, newest first",
    description: 'Deleted attachments are not listed. Every staff role may read them.',
    tag: 'Attachments',
  },
  {
    method: 'get',
    path: '/v1/parties/:partyId/attachments/:attachmentId',
    action: 'contacts.getAttachment',
    input: attachmentRefInput,
    output: attachmentView,
    roles: STAFF,
    summary: "An attachment's name, type, size and checksum",
    description: 'A deleted attachment is a 404. Every staff role may read it.',
    tag: 'Attachments',
  },
  {
    method: 'get',
    path: '/v1/parties/:partyId/attachments/:attachmentId/content',
    action: 'contacts.attachmentContent',
    input: attachmentRefInput,
    output: attachmentBytes,
    roles: STAFF,
    streamsBytes: true,
    summary: 'Download an attachment',
    description:
      'The bytes as uploaded, with their Content-Type, Content-Length and `Content-Disposition: attachment` (the file name, ' +
      "encoded as filename*=UTF-8''...). A deleted attachment is a 404. Every staff role may download it.",
    tag: 'Attachments',
  },
  {
    method: 'delete',
    path: '/v1/parties/:partyId/attachments/:attachmentId',
    action: 'contacts.deleteAttachment',
    input: deleteAttachmentInput,
    output: attachmentRemoval,
    roles: WRITERS,
    summary: 'Delete an attachment (kept, with who and when, but no longer listed nor downloadable)',
    description:
      'Caseworkers, managers and admins. erase=true (admins only, else 403) also removes the bytes for good, a deleted attachment ' +
      'included; the file then keeps only that it was erased, by whom and when. Erasing again answers the same erasure.',
    tag: 'Attachments',
  },
];
