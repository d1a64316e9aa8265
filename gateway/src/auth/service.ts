import type { ServiceSchema } from 'moleculer';
import { z } from 'zod';
import { STAFF, defineAction, notFound } from '@relais/shared';
import { toUser } from './accounts';
import type { GatewayStore } from './store';

/**
 * The accounts the gateway owns, answered to the other services over the bus: the contacts
 * service asks whether a file can be assigned to a user, the notifications service who works in a
 * team. Scoped to the caller's org.
 */
export function accountsService(store: GatewayStore): ServiceSchema {
  return {
    name: 'accounts',
    actions: {
      getUser: defineAction({
        input: z.strictObject({ userId: z.string().min(1).max(100) }),
        roles: STAFF,
        async handler({ userId }, auth) {
          const doc = await store.users.byId(auth.orgId, userId);
          // Another org's user looks exactly like an unknown one.
          if (!doc) throw notFound('User');
          return toUser(doc);
        },
      }),

      // The org's active collaborators, to choose who sent or received an exchange (seed 004's list).
      collaborators: defineAction({
        input: z.strictObject({}),
        roles: STAFF,
        async handler(_input, auth) {
          return { items: (await store.users.list(auth.orgId)).filter((u) => !u.disabled).map(toUser) };
        },
      }),

      // Who works in a team: the notifications service tells them of what a client posts on the team's requests.
      teamMembers: defineAction({
        input: z.strictObject({ team: z.string().min(1).max(100) }),
        roles: STAFF,
        async handler({ team }, auth) {
          return { team, items: (await store.users.ofTeam(auth.orgId, team)).map(toUser) };
        },
      }),
    },
  };
}
