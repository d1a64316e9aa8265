import { ROLES, type Role } from '@relais/shared';
import { createOrgWithAdmin, createUserWithToken, issueToken } from './auth/accounts';
import type { GatewayStore } from './auth/store';

export const DEMO_ORG = 'CCAS Demo';
const emailOf = (role: Role) => `${role}@demo.relais.test`;
const names: Record<Role, string> = {
  admin: 'Alice Admin',
  manager: 'Marc Gestionnaire',
  caseworker: 'Inès Instructrice',
  agent: 'Ahmed Accueil',
};

export interface DemoSeed {
  orgId: string;
  users: { role: Role; userId: string; token: string }[];
}

/**
 * The demo org "CCAS Demo" with one user per role. Idempotent by org name and user
 * e-mail: a second call reuses them and returns fresh tokens.
 */
export async function seedDemo(store: GatewayStore): Promise<DemoSeed> {
  const users: DemoSeed['users'] = [];
  let orgId: string;
  const existing = await store.orgs.findByName(DEMO_ORG);
  if (existing) {
    orgId = existing._id;
  } else {
    const created = await createOrgWithAdmin(store, {
      name: DEMO_ORG,
      region: 'FR',
      timeZone: 'Europe/Paris',
      admin: { name: names.admin, email: emailOf('admin') },
    });
    orgId = created.org.id;
    users.push({ role: 'admin', userId: created.admin.id, token: created.token.token });
  }
  const present = new Map((await store.users.list(orgId)).map((u) => [u.email, u]));
  for (const role of ROLES) {
    if (users.some((u) => u.role === role)) continue;
    const user = present.get(emailOf(role));
    if (user) {
      const token = await issueToken(store, orgId, user._id, 'demo');
      users.push({ role, userId: user._id, token: token.token });
    } else {
      const created = await createUserWithToken(store, orgId, { name: names[role], email: emailOf(role), role, label: 'demo' });
      users.push({ role, userId: created.user.id, token: created.token.token });
    }
  }
  return { orgId, users };
}
