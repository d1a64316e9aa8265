import { Transform } from 'node:stream';
import type { z } from 'zod';
import type { Role } from './auth';

/**
 * One HTTP route of the gateway's explicit route table. Each service declares its
 * routes next to its action schemas (src/api.ts); the gateway only mounts them.
 *
 * The action receives one params object: path parameters, then the query string
 * (GET/DELETE) or the JSON body (POST/PUT/PATCH), validated by `input`. The same
 * `input` yields the OpenAPI parameters and request body, so no schema is written twice.
 * Two kinds of routes carry bytes instead of JSON: `multipart` uploads and `streamsBytes` downloads.
 */
export interface Route {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Express-style path, e.g. `/v1/people/:personId/mail`. */
  path: string;
  /** Moleculer action called, e.g. `mail.register`. */
  action: string;
  /** Object schema of the action's params (path + query or body fields). */
  input: z.ZodObject;
  /** Schema of the success response body, for the OpenAPI document. */
  output?: z.ZodType;
  /** Success status (200 by default, 201 for creations). */
  status?: number;
  /** Roles the action allows, repeated here for the documentation only: the service enforces them. */
  roles: readonly Role[];
  summary: string;
  /** Longer explanation for the OpenAPI document. */
  description?: string;
  tag: string;
  /**
   * `portal`: a client portal route, called with a portal token (a client's contact), never a staff
   * token; the action gets ctx.meta.portal instead of ctx.meta.auth (definePortalAction).
   */
  audience?: 'portal';
  /** Honour an Idempotency-Key header (passed in ctx.meta.idempotencyKey). */
  idempotent?: boolean;
  /**
   * The request is multipart/form-data (POST): its text parts are fields of `input`, and its one file part,
   * named `file`, is streamed to the action (`ctx.stream`), never held whole. The part's file name and
   * declared type reach the action as the `file` field of `input`: `{ filename, contentType }`. Text parts
   * must come before the file part. Such a route takes no Idempotency-Key (refused with a 422).
   */
  multipart?: { file: string };
  /**
   * The success body is the byte stream the action returns, which the action describes in
   * `ctx.meta.file` (`StreamedFile`); the gateway pipes it to the response as a download.
   */
  streamsBytes?: true;
}

/** What an action answering a byte stream (`Route.streamsBytes`) puts in `ctx.meta.file`. */
export interface StreamedFile {
  contentType: string;
  size: number;
  filename: string;
}

/**
 * Largest piece of a byte stream handed to the broker. The transporter sends each piece as one NATS
 * message, serialised as JSON: a Buffer becomes an array of numbers, up to 4 characters a byte, so
 * GridFS's 255 KiB chunks would come within a few kB of NATS's default 1 MB message limit.
 */
export const STREAM_PIECE_BYTES = 64 * 1024;

/** Cuts the chunks passing through into pieces of at most `max` bytes (STREAM_PIECE_BYTES). */
export function inPieces(max = STREAM_PIECE_BYTES): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      for (let at = 0; at < chunk.length; at += max) this.push(chunk.subarray(at, at + max));
      done();
    },
  });
}
