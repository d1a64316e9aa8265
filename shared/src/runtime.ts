import type { ActionSchema } from 'moleculer';
import type { Connection } from 'mongoose';
import type { BaseConfig } from './config';
import { connectDatabase } from './db';
import { withTimeout } from './timeout';
import { DurableEvents, type Logger } from './events/durable';

/**
 * What every Relais service opens in started() and closes in stopped():
 * its own database and its JetStream connection.
 */
export interface ServiceRuntime {
  db: Connection;
  events: DurableEvents;
  close(): Promise<void>;
}

export async function openRuntime(config: BaseConfig, service: string, logger?: Logger): Promise<ServiceRuntime> {
  const db = await connectDatabase(config, service);
  let events: DurableEvents;
  try {
    events = await DurableEvents.connect({
      natsUrl: config.NATS_URL,
      namespace: config.RELAIS_NAMESPACE,
      name: service,
      logger,
    });
  } catch (err) {
    await db.close();
    throw err;
  }
  return {
    db,
    events,
    async close() {
      await events.close();
      await db.close();
    },
  };
}

export interface Health {
  service: string;
  database: boolean;
  nats: boolean;
}

/** `<service>.health`: public, answers whether the database and NATS are reachable. */
export function healthAction(service: string, runtime: () => ServiceRuntime | null): ActionSchema {
  return {
    async handler(): Promise<Health> {
      const rt = runtime();
      if (!rt) return { service, database: false, nats: false };
      const [database, nats] = await Promise.all([
        withTimeout(rt.db.db!.command({ ping: 1 }), 2_000, 'database ping').then(
          () => true,
          () => false,
        ),
        withTimeout(rt.events.ping(), 2_000, 'nats ping').then(
          () => true,
          () => false,
        ),
      ]);
      return { service, database, nats };
    },
  };
}
