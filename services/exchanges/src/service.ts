import type { ServiceSchema } from 'moleculer';
import { STAFF, defineAction, healthAction, openRuntime, type BaseConfig, type ServiceRuntime, type Subscription } from '@relais/shared';
import { defaultAddressInput } from './api';
import { RecipientAddresses } from './data/recipients';

export const SERVICE = 'exchanges';

export function exchangesService(config: BaseConfig): ServiceSchema {
  let rt: ServiceRuntime | null = null;
  let addresses: RecipientAddresses;
  let subscriptions: Subscription[] = [];
  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),

      // The e-mail an exchange with the party goes to unless staff choose another: its primary e-mail.
      defaultAddress: defineAction({
        input: defaultAddressInput,
        roles: STAFF,
        async handler({ partyId }, auth) {
          const doc = await addresses.of(auth.orgId, partyId);
          return { partyId, email: doc?.email ?? null, channelId: doc?.channelId ?? null, changedAt: doc?.changedAt.toISOString() ?? null };
        },
      }),
    },
    async started() {
      rt = await openRuntime(config, SERVICE, this.logger);
      addresses = RecipientAddresses.open(rt.db, config.DB_UPDATE_BATCH);
      subscriptions = [
        await rt.events.consume({
          group: SERVICE,
          type: 'contact.primaryChanged',
          db: rt.db,
          dbTimeoutMs: config.DB_TIMEOUT_MS,
          handle: (evs) => addresses.apply(evs),
        }),
      ];
    },
    async stopped() {
      await Promise.all(subscriptions.map((s) => s.stop()));
      await rt?.close();
      rt = null;
    },
  };
}
