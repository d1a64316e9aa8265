import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Router } from 'express';
import type { ServiceBroker } from 'moleculer';
import { createBroker, createLogger, type Route } from '@relais/shared';
import { createApp } from './app';
import { accountsService } from './auth/service';
import { GatewayStore } from './auth/store';
import type { GatewayConfig } from './config';

export interface StartOptions {
  /** Services /readyz waits for (default: all). */
  healthServices?: readonly string[];
  callbacks?: Router;
}

export interface RunningGateway {
  url: string;
  port: number;
  broker: ServiceBroker;
  store: GatewayStore;
  stop(): Promise<void>;
}

// In-flight requests get this long to finish on shutdown before their connections are cut.
const DRAIN_MS = 10_000;

/** Opens the gateway's database and broker and listens on GATEWAY_PORT (0: an ephemeral port). */
export async function startGateway(config: GatewayConfig, routes: readonly Route[], options: StartOptions = {}): Promise<RunningGateway> {
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const store = await GatewayStore.open(config);
  let broker: ServiceBroker | undefined;
  let server: http.Server | undefined;
  try {
    await store.init();
    broker = createBroker({ config, name: 'gateway' });
    broker.createService(accountsService(store));
    await broker.start();
    const app = createApp({ broker, store, routes, config, logger, healthServices: options.healthServices, callbacks: options.callbacks });
    // Slow or idle clients must not hold connections (slowloris): explicit limits, checked every second.
    server = http.createServer(
      {
        headersTimeout: config.GATEWAY_HEADERS_TIMEOUT_MS,
        requestTimeout: config.GATEWAY_REQUEST_TIMEOUT_MS,
        keepAliveTimeout: config.GATEWAY_KEEPALIVE_TIMEOUT_MS,
        connectionsCheckingInterval: 1_000,
      },
      app,
    );
    server.maxConnections = config.GATEWAY_MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(config.GATEWAY_PORT, () => {
        server!.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    server?.close();
    await broker?.stop().catch(() => {});
    await store.close().catch(() => {});
    throw err;
  }

  // Idempotency-Keys are kept a day; FerretDB has no TTL index, so they are purged here.
  const purge = setInterval(
    () => void store.keys.purge().catch((err: Error) => logger.warn({ error: { message: err.message } }, 'idempotency key purge failed')),
    10 * 60 * 1000,
  ).unref();
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  logger.info({ url }, 'gateway listening');
  const running = { server, broker };
  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    broker,
    store,
    // Stop taking requests, let in-flight ones finish (they need the broker), then close the rest.
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(purge);
        const closed = new Promise<void>((resolve) => running.server.close(() => resolve()));
        running.server.closeIdleConnections();
        const timer = setTimeout(() => running.server.closeAllConnections(), DRAIN_MS).unref();
        await closed;
        clearTimeout(timer);
        await running.broker.stop();
        await store.close();
      })()),
  };
}
