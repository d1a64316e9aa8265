import type { ServiceBroker } from 'moleculer';
import type { RelaisMeta, Route } from '@relais/shared';
import { routes as contacts } from '@relais/contacts/api';
import { routes as domiciliation } from '@relais/domiciliation/api';
import { routes as exchanges } from '@relais/exchanges/api';
import { routes as mail } from '@relais/mail/api';
import { routes as notifications } from '@relais/notifications/api';
import type { Operation } from './http/operation';

/**
 * The explicit route table: what each service chose to expose over HTTP (its src/api.ts).
 * Nothing else is reachable from outside, whatever actions the services register.
 */
export const serviceRoutes: readonly Route[] = [...contacts, ...domiciliation, ...mail, ...notifications, ...exchanges];

/** A service route as a gateway operation: authenticated, then one broker call with the caller in ctx.meta. */
export function serviceOperation(route: Route, broker: ServiceBroker): Operation {
  return {
    ...route,
    operationId: route.action,
    security: 'bearer',
    run({ raw }, ctx) {
      const { auth, org } = ctx.principal!;
      const meta: RelaisMeta = { auth, org, ...(ctx.idempotencyKey ? { idempotencyKey: ctx.idempotencyKey } : {}) };
      return broker.call(route.action, raw, { meta, requestID: ctx.requestId });
    },
  };
}
