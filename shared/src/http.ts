import type { z } from 'zod';
import type { Role } from './auth';

/**
 * One HTTP route of the gateway's explicit route table. Each service declares its
 * routes next to its action schemas (src/api.ts); the gateway only mounts them.
 *
 * The action receives one params object: path parameters, then the query string
 * (GET/DELETE) or the JSON body (POST/PUT/PATCH), validated by `input`. The same
 * `input` yields the OpenAPI parameters and request body, so no schema is written twice.
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
  /** Honour an Idempotency-Key header (passed in ctx.meta.idempotencyKey). */
  idempotent?: boolean;
}
