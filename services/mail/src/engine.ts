import { Outbox, type BaseConfig, type Logger, type ServiceRuntime } from '@relais/shared';
import { MailItems } from './data/mailItems';
import { HandOvers } from './handOver';
import { Registration } from './registration';

/*
 * The composition root of the mail service: its one collection, the outbox every write publishes
 * through, and the use cases the actions call.
 *
 *   service.ts (actions) ─> Registration, HandOvers, MailItems reads
 *   Registration ─> domiciliation.activeStatuses, contacts.getPerson (as the caller), MailItems.insertBatch
 *   HandOvers ─> MailItems.markHandedOver
 */

export interface RunningEngine {
  items: MailItems;
  registration: Registration;
  handOvers: HandOvers;
  stop(): Promise<void>;
}

/** A running instance: its repository and outbox opened, the outbox's sweep started. */
export async function startEngine(rt: ServiceRuntime, config: BaseConfig, log: Logger): Promise<RunningEngine> {
  const items = MailItems.open(rt.db);
  await items.init();
  const outbox = new Outbox({ events: rt.events, model: items.raw, dbTimeoutMs: config.DB_TIMEOUT_MS, logger: log });
  await outbox.init();
  outbox.start();
  return {
    items,
    registration: new Registration(items, outbox),
    handOvers: new HandOvers(items, outbox, config.DB_UPDATE_BATCH),
    stop: () => outbox.stop(),
  };
}
