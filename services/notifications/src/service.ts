import type { ServiceSchema } from 'moleculer';
import {
  STAFF,
  defineAction,
  healthAction,
  openRuntime,
  type BaseConfig,
  type ServiceRuntime,
  type Subscription,
} from '@relais/shared';
import { pendingMailInput } from './api';
import { PendingMail } from './data/pendingMail';

export const SERVICE = 'notifications';

export interface NotificationsOptions {
  /** Deliveries before an event is dead-lettered, and the redelivery backoff (tests shorten them). */
  maxDeliveries?: number;
  backoffMs?: number[];
}

/** The notifications service: keeps its view of mail and people current from durable events. */
export function notificationsService(config: BaseConfig, opts: NotificationsOptions = {}): ServiceSchema {
  let rt: ServiceRuntime | null = null;
  let pending: PendingMail;
  let subscriptions: Subscription[] = [];

  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),

      pendingMail: defineAction({
        input: pendingMailInput,
        roles: STAFF,
        async handler({ personId }, auth) {
          return { personId, counts: await pending.counts(auth.orgId, personId) };
        },
      }),
    },

    async started() {
      rt = await openRuntime(config, SERVICE, this.logger as never);
      pending = PendingMail.open(rt.db, config.DB_UPDATE_BATCH);
      await pending.init();
      const common = {
        group: SERVICE,
        db: rt.db,
        dbTimeoutMs: config.DB_TIMEOUT_MS,
        maxDeliveries: opts.maxDeliveries,
        backoffMs: opts.backoffMs,
      };
      subscriptions = [
        await rt.events.consume({ ...common, type: 'mail.registered', handle: (evs) => pending.applyRegistered(evs) }),
        await rt.events.consume({ ...common, type: 'mail.handedOver', handle: (evs) => pending.applyHandedOver(evs) }),
      ];
    },

    async stopped() {
      await Promise.all(subscriptions.map((s) => s.stop()));
      subscriptions = [];
      await rt?.close();
      rt = null;
    },
  };
}
