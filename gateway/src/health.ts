import type { RequestHandler } from 'express';
import type { ServiceBroker } from 'moleculer';
import { z } from 'zod';
import { toProblem, type Health } from '@relais/shared';
import type { GatewayStore } from './auth/store';
import type { OperationDoc } from './http/operation';
import { sendProblem } from './http/problems';

/** Services whose `<service>.health` action must answer for the gateway to be ready. */
export const SERVICES = ['contacts', 'domiciliation', 'mail', 'notifications', 'exchanges'] as const;

const CHECK_TIMEOUT_MS = 3_000;

const readiness = z.object({
  status: z.literal('ready'),
  checks: z.object({
    broker: z.boolean(),
    database: z.boolean(),
    services: z.record(z.string(), z.string().describe('"ok", or what is down')),
  }),
});
type Readiness = z.infer<typeof readiness>['checks'];

export const healthDocs: OperationDoc[] = [
  {
    operationId: 'gateway.healthz',
    method: 'get',
    path: '/healthz',
    output: z.object({ status: z.literal('ok') }),
    security: 'none',
    summary: 'Liveness: the process is up',
    tag: 'Operations',
  },
  {
    operationId: 'gateway.readyz',
    method: 'get',
    path: '/readyz',
    output: readiness,
    security: 'none',
    summary: 'Readiness: broker connected, gateway database and every service healthy (else 503 naming what is down)',
    tag: 'Operations',
  },
];

export const healthz: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-store').json({ status: 'ok' });
};

async function serviceStatus(broker: ServiceBroker, service: string): Promise<string> {
  // Not yet registered (start-up) is an answer too; calling anyway would log a warning per poll.
  if (!broker.registry.actions.isAvailable(`${service}.health`)) return 'not registered';
  try {
    const health = await broker.call<Health, object>(`${service}.health`, {}, { timeout: CHECK_TIMEOUT_MS, retries: 0 });
    const down = [!health?.database && 'database', !health?.nats && 'nats'].filter(Boolean);
    return down.length ? `${down.join(' and ')} down` : 'ok';
  } catch (err) {
    const type = (err as { type?: string }).type;
    return type === 'REQUEST_TIMEOUT' ? 'not answering' : 'not reachable';
  }
}

export function readyz({ broker, store, services }: { broker: ServiceBroker; store: GatewayStore; services: readonly string[] }): RequestHandler {
  return async (_req, res) => {
    const [database, ...statuses] = await Promise.all([store.ping(CHECK_TIMEOUT_MS), ...services.map((s) => serviceStatus(broker, s))]);
    const checks: Readiness = {
      broker: broker.transit?.connected === true,
      database,
      services: Object.fromEntries(services.map((s, i) => [s, statuses[i]])),
    };
    const down = [
      ...(checks.broker ? [] : ['broker (NATS not connected)']),
      ...(checks.database ? [] : ['gateway database']),
      ...services.flatMap((s, i) => (statuses[i] === 'ok' ? [] : [`${s} (${statuses[i]})`])),
    ];
    res.set('Cache-Control', 'no-store');
    if (down.length === 0) {
      res.json({ status: 'ready', checks });
      return;
    }
    // toProblem's 503 says "temporarily unavailable"; readiness says what exactly.
    sendProblem(res, { ...toProblem({ type: 'SERVICE_NOT_AVAILABLE' }), detail: `Not ready: ${down.join(', ')}.`, checks });
  };
}
