import type { Context } from 'moleculer';
import { forbidden, unauthorized } from './errors';
import { DEFAULT_TIME_ZONE } from './calendar';

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

/** Org facts the gateway adds to every call: where phone numbers are read and clocks run. */
export interface OrgContext {
  /** ISO 3166 region used to read national phone numbers (FR, RE, GP, MQ, GF, YT, PM...). */
  region: string;
  /** IANA time zone of the org (Europe/Paris, Indian/Reunion...). */
  timeZone: string;
}

/**
 * Who is acting on the client portal: one of a client's contacts, signed in with a portal token
 * (never a staff token). Set by the gateway in ctx.meta.portal, on portal routes only.
 */
export interface PortalContext {
  orgId: string;
  /** The client's party: everything a portal action reads or writes is of this client. */
  clientId: string;
  contactNumber: number;
  /** The portal access (token) it signed in with: what its posts are recorded as created by. */
  accessId: string;
}

export interface RelaisMeta {
  auth?: AuthContext;
  portal?: PortalContext;
  org?: OrgContext;
  /** Set on calls made by the platform itself (see defineSystemAction). */
  system?: boolean;
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

export function portalOf(ctx: Context<unknown, RelaisMeta>): PortalContext {
  const portal = ctx.meta?.portal;
  if (!portal || !portal.orgId || !portal.clientId || !portal.accessId || !Number.isInteger(portal.contactNumber)) {
    throw unauthorized('A portal sign-in is required.');
  }
  return portal;
}

/** The org facts of the call; the gateway always sets them, internal callers pass them on. */
export function orgOf(ctx: Context<unknown, RelaisMeta>): OrgContext {
  return ctx.meta?.org ?? { region: 'FR', timeZone: DEFAULT_TIME_ZONE };
}

export function requireRole(auth: AuthContext, allowed: readonly Role[]): void {
  if (!allowed.includes(auth.role)) {
    throw forbidden(`This requires one of the roles ${allowed.join(', ')}; your role is ${auth.role}.`);
  }
}
