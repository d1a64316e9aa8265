import type { ServiceSchema } from 'moleculer';
import { STAFF, defineAction, healthAction, notFound, openRuntime, orgOf, type BaseConfig, type Logger, type ServiceRuntime } from '@relais/shared';
import { dayInput, getMailInput, handOverInput, listPersonMailInput, registerBatchInput, registerMailInput } from './api';
import { dayBounds, pendingCounts, toMailItem, totalsByKind } from './domain/mail';
import { startEngine, type RunningEngine } from './engine';

export const SERVICE = 'mail';

/**
 * The mail service: registers postal mail received for domiciled people, hands it over, publishes
 * mail events. The actions below call its use cases (engine.ts).
 */
export function mailService(config: BaseConfig): ServiceSchema {
  let rt: ServiceRuntime | null = null;
  let engine: RunningEngine | null = null;
  /** The engine of a started instance (actions only run once it is). */
  const e = () => engine!;

  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),

      register: defineAction({
        input: registerMailInput,
        roles: STAFF,
        handler: (input, auth, ctx) => e().registration.register(input, auth, ctx),
      }),

      registerBatch: defineAction({
        input: registerBatchInput,
        roles: STAFF,
        handler: ({ items }, auth, ctx) => e().registration.registerBatch(items, auth, ctx),
      }),

      handOver: defineAction({
        input: handOverInput,
        roles: STAFF,
        handler: (input, auth) => e().handOvers.handOver(input, auth),
      }),

      get: defineAction({
        input: getMailInput,
        roles: STAFF,
        async handler({ mailItemId }, auth) {
          const doc = await e().items.findOne(auth.orgId, { _id: mailItemId });
          if (!doc) throw notFound('Mail item');
          return toMailItem(doc);
        },
      }),

      listForPerson: defineAction({
        input: listPersonMailInput,
        roles: STAFF,
        async handler({ personId }, auth) {
          const docs = await e().items.forPerson(auth.orgId, personId);
          return { personId, pending: pendingCounts(docs), items: docs.map(toMailItem) };
        },
      }),

      day: defineAction({
        input: dayInput,
        roles: STAFF,
        async handler({ date }, auth, ctx) {
          const { timeZone } = orgOf(ctx);
          const docs = await e().items.registeredBetween(auth.orgId, ...dayBounds(date, timeZone));
          return { date, timeZone, totals: totalsByKind(docs), items: docs.map(toMailItem) };
        },
      }),
    },

    async started() {
      const log = this.logger as unknown as Logger;
      rt = await openRuntime(config, SERVICE, log);
      engine = await startEngine(rt, config, log);
    },

    async stopped() {
      await engine?.stop();
      engine = null;
      await rt?.close();
      rt = null;
    },
  };
}
