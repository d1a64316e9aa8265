import type { Readable } from 'node:stream';
import type { z } from 'zod';
import type { Role, Route, StreamedFile } from '@relais/shared';
import type { PortalPrincipal, Principal } from '../auth/principal';

/**
 * How a caller proves who it is: an API token (`bearer`), a client's portal token (`portal`), the
 * platform operator's token (`platform`), or nothing (health, docs; signed provider callbacks verify
 * their own signature).
 */
export type Security = 'bearer' | 'portal' | 'platform' | 'none';

/** What the OpenAPI document needs to know about an endpoint. */
export interface OperationDoc {
  operationId: string;
  method: Route['method'];
  path: string;
  input?: z.ZodObject;
  output?: z.ZodType;
  status?: number;
  roles?: readonly Role[];
  summary: string;
  description?: string;
  tag: string;
  idempotent?: boolean;
  security: Security;
  /** Media type of the success body when it is not JSON (the docs page, downloads). */
  produces?: string;
  /** The request body is multipart/form-data with this file part (Route.multipart). */
  multipart?: Route['multipart'];
  /** The success body is a byte stream (Route.streamsBytes), of media type `produces`. */
  streamsBytes?: true;
}

export interface CallContext {
  /** Set for `bearer` operations. */
  principal?: Principal;
  /** Set for `portal` operations. */
  portal?: PortalPrincipal;
  idempotencyKey?: string;
  requestId: string;
  /** Multipart routes: the file part's bytes, and how long the call may take (the client is still sending). */
  upload?: { stream: Readable; timeoutMs: number };
}

/** What run() answers for a route that streams bytes (Route.streamsBytes). */
export interface BytesAnswer {
  stream: Readable;
  file: StreamedFile;
}

/** An endpoint mounted by the gateway: a service route (calls an action) or one of the gateway's own. */
export interface Operation extends OperationDoc {
  input: z.ZodObject;
  /**
   * `raw` is the merged request (path params + query or body) exactly as sent; `input` is the
   * same after the gateway's validation. Service routes forward `raw` so the service, which
   * validates again, is the single authority on defaults and transformations.
   */
  run(request: { raw: Record<string, unknown>; input: unknown }, ctx: CallContext): Promise<unknown>;
}

/** Every POST takes an Idempotency-Key unless its operation says otherwise. */
export const takesIdempotencyKey = (op: Pick<OperationDoc, 'method' | 'idempotent'>): boolean => op.idempotent ?? op.method === 'post';
