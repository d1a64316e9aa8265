import { ServiceBroker, type ServiceSchema } from 'moleculer';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { BaseConfig } from './config';
import { redactPaths } from './log';

export interface BrokerOptions {
  config: BaseConfig;
  /** Defaults to NODE_ID, else `<name>-<host>-<random>` so several instances never collide. */
  name: string;
  services?: ServiceSchema[];
}

/** Errors worth retrying transparently: the target is not (yet) reachable or refused before handling. Timeouts are not retried. */
const RETRYABLE = new Set(['SERVICE_NOT_AVAILABLE', 'SERVICE_NOT_FOUND', 'REQUEST_REJECTED']);

/** The one broker factory every Relais process uses. */
export function createBroker({ config, name, services = [] }: BrokerOptions): ServiceBroker {
  const broker = new ServiceBroker({
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
        pino: { options: { redact: { paths: redactPaths, censor: '[redacted]' } } },
      },
    },
    metrics:
      config.METRICS_PORT > 0
        ? { enabled: true, reporter: [{ type: 'Prometheus', options: { port: config.METRICS_PORT, path: '/metrics' } }] }
        : false,
  });
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
}
