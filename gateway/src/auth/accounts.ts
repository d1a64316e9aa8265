import { randomUUID } from 'node:crypto';
import { parseInput, type Role } from '@relais/shared';
import { newToken } from './tokens';
import type { OrgDoc, TokenDoc, UserDoc } from './models';
import { createOrgInput, createUserInput, type CreateOrgInput, type CreateUserInput, type IssuedToken, type Org, type TokenInfo, type User } from './schemas';
import type { GatewayStore } from './store';

/** Use cases on orgs, users and tokens, shared by the HTTP routes, the tests and the demo seeding. */

export const toOrg = (doc: OrgDoc): Org => ({
  id: doc._id,
  name: doc.name,
  region: doc.region,
  timeZone: doc.timeZone,
  createdAt: doc.createdAt.toISOString(),
});

export const toUser = (doc: UserDoc): User => ({
  id: doc._id,
  orgId: doc.orgId,
  name: doc.name,
  email: doc.email,
  role: doc.role,
  disabled: doc.disabled,
  teams: doc.teams ?? [],
  createdAt: doc.createdAt.toISOString(),
});

const toIssued = (doc: TokenDoc, token: string): IssuedToken => ({
  id: doc._id,
  userId: doc.userId,
  label: doc.label,
  createdAt: doc.createdAt.toISOString(),
  token,
});

export async function createUser(store: GatewayStore, orgId: string, input: CreateUserInput): Promise<User> {
  const { name, email, role, teams } = parseInput(createUserInput, input);
  const doc = await store.users.insert({
    _id: randomUUID(),
    orgId,
    name,
    email,
    role,
    disabled: false,
    teams: [...new Set(teams ?? [])],
    createdAt: new Date(),
  });
  return toUser(doc);
}

/** An org's live tokens (or one user's; `all` adds revoked ones), newest first, with their last use. */
export async function listTokens(store: GatewayStore, orgId: string, opts: { userId?: string; include: 'active' | 'all' }): Promise<TokenInfo[]> {
  const docs = await store.tokens.list(orgId, opts);
  const used = await store.tokenUsage.lastUsed(
    orgId,
    docs.map((d) => d._id),
  );
  return docs.map((d) => ({
    id: d._id,
    userId: d.userId,
    label: d.label,
    createdAt: d.createdAt.toISOString(),
    lastUsedAt: used.get(d._id)?.toISOString() ?? null,
    revokedAt: d.revokedAt?.toISOString() ?? null,
  }));
}

/** A new token for a user; the caller checks that the user exists in the org and is allowed. */
export async function issueToken(store: GatewayStore, orgId: string, userId: string, label = 'API token'): Promise<IssuedToken> {
  const { token, hash } = newToken();
  const doc = await store.tokens.insert({ _id: randomUUID(), orgId, userId, hash, label, createdAt: new Date() });
  return toIssued(doc, token);
}

export async function createUserWithToken(
  store: GatewayStore,
  orgId: string,
  input: CreateUserInput & { label?: string },
): Promise<{ user: User; token: IssuedToken }> {
  const { label, ...fields } = input;
  const user = await createUser(store, orgId, fields);
  return { user, token: await issueToken(store, orgId, user.id, label) };
}

/** An org, its first admin and that admin's token (the only way an org comes to exist). */
export async function createOrgWithAdmin(
  store: GatewayStore,
  input: CreateOrgInput,
  tokenLabel = 'first admin token',
): Promise<{ org: Org; admin: User; token: IssuedToken }> {
  const { name, region, timeZone, admin } = parseInput(createOrgInput, input);
  const org = await store.orgs.insert({
    _id: randomUUID(),
    name,
    region,
    // The canonical spelling (e.g. "utc" -> "UTC"), so every service compares equal strings.
    timeZone: new Intl.DateTimeFormat('en', { timeZone }).resolvedOptions().timeZone,
    createdAt: new Date(),
  });
  try {
    const created = await createUserWithToken(store, org._id, { ...admin, role: 'admin' satisfies Role, label: tokenLabel });
    return { org: toOrg(org), admin: created.user, token: created.token };
  } catch (err) {
    // No transactions on FerretDB: undo the org so a retry does not leave an org without an admin.
    await store.orgs.remove(org._id).catch(() => {});
    throw err;
  }
}
