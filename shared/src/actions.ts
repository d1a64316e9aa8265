import { createHash, randomUUID } from 'node:crypto';
import type { ActionSchema, Context } from 'moleculer';
import type { z } from 'zod';
import { authOf, portalOf, requireRole, type AuthContext, type PortalContext, type RelaisMeta, type Role } from './auth';
import { forbidden } from './errors';
import { parseInput } from './validation';

export type RelaisContext<P = unknown> = Context<P, RelaisMeta>;

interface ActionSpec<S extends z.ZodType, R> {
  /** Validates ctx.params; the same schema documents the HTTP route. */
  input: S;
  /** Roles allowed to call; checked again here even though the gateway authenticated. */
  roles: readonly Role[];
  handler: (input: z.infer<S>, auth: AuthContext, ctx: RelaisContext<z.infer<S>>) => Promise<R> | R;
}

/** A thin action: validate, check the role, then hand over to domain code. */
export function defineAction<S extends z.ZodType, R>(spec: ActionSpec<S, R>): ActionSchema {
  return {
    async handler(ctx: RelaisContext) {
      const auth = authOf(ctx);
      requireRole(auth, spec.roles);
      const input = parseInput(spec.input, ctx.params ?? {});
      return spec.handler(input, auth, ctx as RelaisContext<z.infer<S>>);
    },
  };
}

/**
 * An action of the client portal: called on behalf of a client's contact (ctx.meta.portal), never
 * with a staff auth. What it may reach is the portal context's client, and nothing else.
 */
export function definePortalAction<S extends z.ZodType, R>(spec: {
  input: S;
  handler: (input: z.infer<S>, portal: PortalContext, ctx: RelaisContext<z.infer<S>>) => Promise<R> | R;
}): ActionSchema {
  return {
    async handler(ctx: RelaisContext) {
      const portal = portalOf(ctx);
      const input = parseInput(spec.input, ctx.params ?? {});
      return spec.handler(input, portal, ctx as RelaisContext<z.infer<S>>);
    },
  };
}

/**
 * An action for the platform itself (a verified provider callback relayed by the gateway),
 * not for users: callers mark the call with `meta.system`. The bus is trusted; the mark keeps
 * such actions out of reach of anything that forwards a user's request.
 */
export function defineSystemAction<S extends z.ZodType, R>(spec: {
  input: S;
  handler: (input: z.infer<S>, ctx: RelaisContext<z.infer<S>>) => Promise<R> | R;
}): ActionSchema {
  return {
    async handler(ctx: RelaisContext) {
      if (ctx.meta?.system !== true) throw forbidden('This action is reserved to the platform.');
      return spec.handler(parseInput(spec.input, ctx.params ?? {}), ctx as RelaisContext<z.infer<S>>);
    },
  };
}

/**
 * The id of the document a creating action writes. With an Idempotency-Key it is derived from
 * (org, action, key): a retry of a call whose answer was lost (a 504) computes the same id, so its
 * insert meets the first one's document instead of creating a second. Without a key, a random id.
 */
export function createdId(ctx: RelaisContext, orgId: string): string {
  const key = ctx.meta?.idempotencyKey;
  return key ? derivedId(orgId, ctx.action?.name ?? '', key) : randomUUID();
}

/**
 * An id derived from what names a thing (its parts, in order): the same parts give the same id,
 * so a second write of the same thing meets the first. A version 8 (custom) UUID, so that it looks
 * like every other id.
 */
export function derivedId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\n')).digest();
  h[6] = (h[6] & 0x0f) | 0x80;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
