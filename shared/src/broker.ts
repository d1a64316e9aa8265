import { Errors, ServiceBroker, type Context, type Middleware, type ServiceSchema } from 'moleculer';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { BaseConfig } from './config';
import { logDestination, logFormat, logRedaction } from './log';

export interface BrokerOptions {
  config: BaseConfig;
  /** Defaults to NODE_ID, else `<name>-<host>-<random>` so several instances never collide. */
  name: string;
  services?: ServiceSchema[];
}

/** Errors worth retrying transparently: the target is not (yet) reachable or refused before handling. Timeouts are not retried. */
const RETRYABLE = new Set(['SERVICE_NOT_AVAILABLE', 'SERVICE_NOT_FOUND', 'REQUEST_REJECTED']);

/**
 * Settles a remote call's own promise once its timeout has passed. Moleculer's Timeout middleware
 * rejects the caller but leaves the inner call pending, so its context stays tracked and every later
 * stop of the broker waits the whole shutdown timeout (GracefulStopTimeoutError). User middlewares
 * wrap closest to the transport, inside the context tracker, so settling here untracks it.
 */
function settleTimedOutCalls(requestTimeoutMs: number): Middleware {
  return {
    name: 'SettleTimedOutCalls',
    remoteAction(next: (ctx: Context) => Promise<unknown>) {
      return (ctx: Context) => {
        const call = next(ctx);
        const ms = ctx.options.timeout ?? requestTimeoutMs;
        if (!(ms > 0)) return call;
        let timer: NodeJS.Timeout | undefined;
        const limit = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            ctx.broker.transit?.removePendingRequest?.(ctx.id);
            reject(new Errors.RequestTimeoutError({ action: ctx.action?.name ?? '?', nodeID: ctx.nodeID ?? '?' }));
          }, ms + 250);
        });
        return Promise.race([call, limit]).finally(() => clearTimeout(timer));
      };
    },
  };
}

// Brokers whose NATS connection is down right now (the client reconnects on its own meanwhile).
const transportDown = new WeakSet<ServiceBroker>();

/** Follows the NATS client's status: Moleculer's transporter does not notice a lost connection. */
function watchTransport(broker: ServiceBroker): void {
  const client = (broker.transit as unknown as { tx?: { client?: { status?: () => AsyncIterable<{ type: string }> } } })?.tx?.client;
  const status = client?.status?.bind(client);
  if (!status) return;
  transportDown.delete(broker);
  void (async () => {
    for await (const s of status()) {
      if (s.type === 'disconnect') transportDown.add(broker);
      else if (s.type === 'reconnect') transportDown.delete(broker);
    }
  })().catch(() => {});
}

/** False while the broker cannot reach NATS: a call would only wait for its timeout. */
export function transportAvailable(broker: ServiceBroker): boolean {
  const tx = (broker.transit as unknown as { tx?: { connected?: boolean } } | undefined)?.tx;
  return broker.transit?.connected === true && tx?.connected !== false && !transportDown.has(broker);
}

/** The one broker factory every Relais process uses. */
export function createBroker({ config, name, services = [] }: BrokerOptions): ServiceBroker {
  const broker = new ServiceBroker({
    middlewares: [settleTimedOutCalls(config.REQUEST_TIMEOUT_MS)],
    namespace: config.RELAIS_NAMESPACE,
    nodeID: config.NODE_ID ?? `${name}-${os.hostname()}-${randomBytes(3).toString('hex')}`,
    transporter: { type: 'NATS', options: { url: config.NATS_URL } },
    serializer: 'JSON',
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    retryPolicy: {
      enabled: true,
      retries: 5,
      delay: 100,
      maxDelay: 2000,
      factor: 2,
      check: (err) => RETRYABLE.has((err as { type?: string }).type ?? ''),
    },
    // Wait for in-flight requests on shutdown.
    tracking: { enabled: true, shutdownTimeout: 10_000 },
    // Validation is zod's, inside each action (defineAction).
    validator: false,
    logger: {
      type: 'Pino',
      options: {
        level: config.LOG_LEVEL,
        // Moleculer calls pino(options, destination ?? undefined): the same redaction and format choice as
        // createLogger. Its typing wants a stream, but no destination (JSON) keeps pino's own stdout.
        pino: {
          options: { redact: { ...logRedaction } },
          destination: logDestination(logFormat({ LOG_FORMAT: config.LOG_FORMAT, NODE_ENV: process.env.NODE_ENV }))!,
        },
      },
    },
    metrics: config.METRICS_PORT > 0 ? { enabled: true, reporter: [{ type: 'Prometheus', options: { port: config.METRICS_PORT, path: '/metrics' } }] } : false,
  });
  broker.localBus.on('$transporter.connected', () => watchTransport(broker));
  for (const schema of services) broker.createService(schema);
  return broker;
}

/**
 * Runs a process until SIGTERM/SIGINT, then stops the broker gracefully.
 * A configuration or start-up error ends the process with a readable message.
 */
export async function runUntilSignal(start: () => Promise<{ stop(): Promise<void> }>): Promise<void> {
  let running: { stop(): Promise<void> };
  try {
    running = await start();
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`${signal} received, stopping`);
    const timer = setTimeout(() => process.exit(1), 20_000).unref();
    try {
      await running.stop();
      clearTimeout(timer);
      process.exit(0);
    } catch (err) {
      console.error((err as Error).message);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Started by a launcher (npm start): a launcher killed outright cannot stop its children.
  const parent = Number(process.env.RELAIS_PARENT_PID);
  if (parent > 0) {
    setInterval(() => {
      if (process.ppid !== parent) void stop('launcher gone');
    }, 1_000).unref();
  }
}
