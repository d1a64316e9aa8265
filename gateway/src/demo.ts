import { DEFAULT_TIME_ZONE, ROLES, type Role } from '@relais/shared';
import { createOrgWithAdmin, createUserWithToken, issueToken } from './auth/accounts';
import type { GatewayStore } from './auth/store';
import { hashToken } from './auth/tokens';

export const DEMO_ORG = 'CCAS Demo';
/** Demo tokens carry this label: a new one revokes the user's earlier ones. */
export const DEMO_LABEL = 'demo';
export const demoEmail = (role: Role) => `${role}@demo.relais.test`;
const names: Record<Role, string> = {
  admin: 'Alice Admin',
  manager: 'Marc Gestionnaire',
  caseworker: 'Inès Instructrice',
  agent: 'Ahmed Accueil',
};

export interface DemoSeed {
  orgId: string;
  users: { role: Role; userId: string; email: string; token: string; reused: boolean }[];
}

/**
 * The demo org "CCAS Demo" with one user per role, each with one live demo token. Idempotent by
 * org name and user e-mail. `keep` holds tokens from an earlier seed (the launcher's tokens file):
 * one that still authenticates its role's demo user is kept, so the tokens stay the same across
 * restarts; otherwise a new token is issued and the user's other demo tokens are revoked, so
 * seeding never leaves a trail of live tokens behind.
 */
export async function seedDemo(store: GatewayStore, keep: Partial<Record<Role, string>> = {}): Promise<DemoSeed> {
  let orgId: string;
  const fresh = new Map<Role, { userId: string; token: string }>();
  const existing = await store.orgs.findByName(DEMO_ORG);
  if (existing) {
    orgId = existing._id;
  } else {
    const created = await createOrgWithAdmin(
      store,
      {
        name: DEMO_ORG,
        region: 'FR',
        timeZone: DEFAULT_TIME_ZONE,
        admin: { name: names.admin, email: demoEmail('admin') },
      },
      DEMO_LABEL,
    );
    orgId = created.org.id;
    fresh.set('admin', { userId: created.admin.id, token: created.token.token });
  }
  const present = new Map((await store.users.list(orgId)).map((u) => [u.email, u]));
  const users: DemoSeed['users'] = [];
  for (const role of ROLES) {
    let entry = fresh.get(role);
    let reused = false;
    if (!entry) {
      const user = present.get(demoEmail(role));
      if (!user) {
        const created = await createUserWithToken(store, orgId, { name: names[role], email: demoEmail(role), role, label: DEMO_LABEL });
        entry = { userId: created.user.id, token: created.token.token };
      } else {
        const kept = keep[role];
        const principal = kept ? await store.principalFor(hashToken(kept)) : null;
        if (kept && principal?.auth.userId === user._id) {
          entry = { userId: user._id, token: kept };
          reused = true;
        } else {
          const issued = await issueToken(store, orgId, user._id, DEMO_LABEL);
          await revokeOtherDemoTokens(store, orgId, user._id, issued.id);
          entry = { userId: user._id, token: issued.token };
        }
      }
    }
    users.push({ role, userId: entry.userId, email: demoEmail(role), token: entry.token, reused });
  }
  return { orgId, users };
}

async function revokeOtherDemoTokens(store: GatewayStore, orgId: string, userId: string, keepId: string): Promise<void> {
  const now = new Date();
  for (const token of await store.tokens.list(orgId, { userId, include: 'active' })) {
    if (token.label === DEMO_LABEL && token._id !== keepId) await store.tokens.revoke(orgId, token._id, now);
  }
}
