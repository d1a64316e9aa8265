import { randomUUID } from 'node:crypto';
import type { ServiceSchema } from 'moleculer';
import {
  Batcher,
  Outbox,
  STAFF,
  defineAction,
  healthAction,
  notFound,
  openRuntime,
  type BaseConfig,
  type ServiceRuntime,
} from '@relais/shared';
import { getMailInput, listPersonMailInput, registerMailInput } from './api';
import { MailItems } from './data/mailItems';
import { newMailItem, pendingCounts, toMailItem, type MailItemDoc } from './domain/mail';

export const SERVICE = 'mail';

/** The mail service: registers postal mail received for people and publishes mail events. */
export function mailService(config: BaseConfig): ServiceSchema {
  let rt: ServiceRuntime | null = null;
  let items: MailItems;
  let outbox: Outbox;
  let inserts: Batcher<MailItemDoc, { doc: MailItemDoc; created: boolean }>;

  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),

      register: defineAction({
        input: registerMailInput,
        roles: STAFF,
        async handler(input, auth, ctx) {
          const doc = newMailItem(
            input,
            auth,
            { itemId: randomUUID(), eventId: randomUUID() },
            new Date(),
            ctx.meta.idempotencyKey,
          );
          const { doc: stored } = await inserts.add(doc);
          return toMailItem(stored);
        },
      }),

      get: defineAction({
        input: getMailInput,
        roles: STAFF,
        async handler({ mailItemId }, auth) {
          const doc = await items.findOne(auth.orgId, { _id: mailItemId });
          if (!doc) throw notFound('Mail item');
          return toMailItem(doc);
        },
      }),

      listForPerson: defineAction({
        input: listPersonMailInput,
        roles: STAFF,
        async handler({ personId }, auth) {
          const docs = await items.forPerson(auth.orgId, personId);
          return { personId, pending: pendingCounts(docs), items: docs.map(toMailItem) };
        },
      }),
    },

    async started() {
      rt = await openRuntime(config, SERVICE, this.logger as never);
      items = MailItems.open(rt.db);
      await items.init();
      outbox = new Outbox({
        events: rt.events,
        model: items.raw,
        updateBatch: config.DB_UPDATE_BATCH,
        dbTimeoutMs: config.DB_TIMEOUT_MS,
        logger: this.logger as never,
      });
      outbox.start();
      inserts = new Batcher(
        async (docs) => {
          const results = await items.insertBatch(docs);
          const created = results.filter((r) => r.created).map((r) => r.doc);
          // Publishing failures leave the events pending for the sweep; the items are registered either way.
          await outbox.flush(created).catch((err) => this.logger.warn({ error: (err as Error).message }, 'publish deferred to outbox sweep'));
          return results;
        },
        { maxItems: 100, maxWaitMs: 2 },
      );
    },

    async stopped() {
      await outbox?.stop();
      await rt?.close();
      rt = null;
    },
  };
}
