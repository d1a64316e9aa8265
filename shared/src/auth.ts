import type { Context } from 'moleculer';
import { forbidden, unauthorized } from './errors';

export const ROLES = ['admin', 'manager', 'caseworker', 'agent'] as const;
export type Role = (typeof ROLES)[number];

/** Every staff role of an org. */
export const STAFF: readonly Role[] = ROLES;

/** Who is acting: set by the gateway in ctx.meta.auth and propagated on every nested call. */
export interface AuthContext {
  userId: string;
  orgId: string;
  role: Role;
}

export interface RelaisMeta {
  auth?: AuthContext;
  /** Idempotency-Key header of the HTTP request, when the client sent one. */
  idempotencyKey?: string;
}

export function authOf(ctx: Context<unknown, RelaisMeta>): AuthContext {
  const auth = ctx.meta?.auth;
  if (!auth || !auth.orgId || !auth.userId || !ROLES.includes(auth.role)) {
    throw unauthorized('Authentication is required.');
  }
  return auth;
}

export function requireRole(auth: AuthContext, allowed: readonly Role[]): void {
  if (!allowed.includes(auth.role)) {
    throw forbidden(`This requires one of the roles ${allowed.join(', ')}; your role is ${auth.role}.`);
  }
}
