import { notFound, toProblem, validationError, type AuthContext, type RelaisContext } from '@relais/shared';
import type { Party } from './domain/exchanges';
import type { RequestDoc } from './domain/requests';

/*
 * Who the parties of an exchange are, asked of the services that own them: a client's contacts
 * (contacts service) and the org's collaborators (the gateway's accounts). Asked as the caller, or
 * as the platform for an e-mail that came in with nobody signed in.
 */

export interface ContactInfo {
  number: number;
  name: string;
  function: string;
  email: string | null;
  displayOrder: number;
  active: boolean;
  self: boolean;
}

export interface Collaborator {
  userId: string;
  name: string;
  email: string | null;
}

/** A broker call with some auth: the caller's context, or the platform's for one org. */
export type Call = <T>(action: string, params: object) => Promise<T>;

export const callAs =
  (ctx: RelaisContext): Call =>
  (action, params) =>
    ctx.call(action, params, { meta: ctx.meta });

/** The platform acting in an org (an inbound e-mail, an event): every read allowed, nobody's name on it. */
export const systemAuth = (orgId: string): AuthContext => ({ orgId, userId: 'exchanges', role: 'admin' });

const code = (err: unknown) => (err as { code?: number })?.code;

/**
 * The client's contacts valid today, in display order; a field error naming `field` when the
 * client is not a party of the org (`field` null: 404, the client is in the URL).
 */
export async function clientContacts(call: Call, clientId: string, field: string | null): Promise<ContactInfo[]> {
  try {
    const list = await call<{ items: ContactInfo[] }>('contacts.listClientContacts', { partyId: clientId });
    return list.items.filter((c) => c.active).sort((a, b) => Number(b.self) - Number(a.self) || a.displayOrder - b.displayOrder || a.number - b.number);
  } catch (err) {
    if (code(err) !== 404) throw err;
    if (field === null) throw notFound('Party');
    throw validationError(`Invalid input: ${field}: no person or company ${clientId} in this organisation`, [
      { path: field, message: 'is not a party of this organisation' },
    ]);
  }
}

/** The contact numbered `n` among `contacts`, or a field error. */
export function contactOf(contacts: readonly ContactInfo[], n: number, field: string): ContactInfo {
  const c = contacts.find((x) => x.number === n);
  if (!c)
    throw validationError(`Invalid input: ${field}: the client has no current contact ${n}`, [
      { path: field, message: 'is not a current contact of the client' },
    ]);
  return c;
}

/** A collaborator of the org (an active user), or a field error. */
export async function collaborator(call: Call, userId: string, field: string): Promise<Collaborator> {
  const user = await call<{ id: string; name: string; email: string; disabled?: boolean }>('accounts.getUser', { userId }).catch((err: unknown) => {
    if (code(err) === 404) return null;
    throw err;
  });
  if (!user)
    throw validationError(`Invalid input: ${field}: no user ${userId} in this organisation`, [{ path: field, message: 'is not a user of this organisation' }]);
  if (user.disabled) throw validationError(`Invalid input: ${field}: the user ${userId} is deactivated`, [{ path: field, message: 'is deactivated' }]);
  return { userId: user.id, name: user.name, email: user.email ?? null };
}

/** A client's contact as the party of an exchange, named as it is today. */
export const contactParty = (c: ContactInfo): Party => ({ kind: 'contact', contactNumber: c.number, name: c.name, email: c.email });

/** The addresses known for a client's contact: its own, then the client's primary e-mail when it is another. Pure. */
export const knownEmails = (c: ContactInfo, primary: string | null | undefined): string[] => [...new Set([c.email, primary].filter((e): e is string => !!e))];

/**
 * Who receives what the client writes in (a portal post, an e-mail): the request's collaborator, or
 * whoever registered it. A collaborator no longer active is still named by id; the directory being
 * unreachable is not hidden (the caller retries).
 */
export async function assigneeParty(call: Call, r: RequestDoc): Promise<Party> {
  const userId = r.assignedTo ?? r.createdBy;
  const user = await collaborator(call, userId, 'assignedTo').catch((err: unknown) => {
    if (toProblem(err).status < 500) return null;
    throw err;
  });
  return user ? { kind: 'user', ...user } : { kind: 'user', userId };
}
