import type { Readable } from 'node:stream';
import type { ServiceBroker } from 'moleculer';
import { transportAvailable, type RelaisMeta, type Route, type StreamedFile } from '@relais/shared';
import { routes as contacts } from '@relais/contacts/api';
import { routes as domiciliation } from '@relais/domiciliation/api';
import { routes as exchanges } from '@relais/exchanges/api';
import { routes as mail } from '@relais/mail/api';
import { routes as notifications } from '@relais/notifications/api';
import type { BytesAnswer, Operation } from './http/operation';
import { unavailable } from './http/problems';

/**
 * The explicit route table: what each service chose to expose over HTTP (its src/api.ts).
 * Nothing else is reachable from outside, whatever actions the services register.
 */
export const serviceRoutes: readonly Route[] = [...contacts, ...domiciliation, ...mail, ...notifications, ...exchanges];

const KNOWN_PEOPLE_MAX = 100_000;

/**
 * The one check that a person id of a URL belongs to the caller's org, before any service sees it:
 * another org's person answers 404 on every route, exactly like an unknown id. The contacts service
 * is asked once per (org, person); a person is never moved to another org nor deleted, so a
 * positive answer is kept (the oldest forgotten beyond KNOWN_PEOPLE_MAX).
 */
export class PeopleOfOrgs {
  private readonly known = new Map<string, true>();

  constructor(private readonly broker: ServiceBroker) {}

  async require(meta: RelaisMeta, personId: string, requestID: string): Promise<void> {
    const key = `${meta.auth!.orgId}:${personId}`;
    if (this.known.has(key)) return;
    await this.broker.call('contacts.getPerson', { personId }, { meta, requestID });
    if (this.known.size >= KNOWN_PEOPLE_MAX) this.known.delete(this.known.keys().next().value!);
    this.known.set(key, true);
  }
}

/**
 * A service route as a gateway operation: authenticated, then one broker call with the caller in
 * ctx.meta. A staff route carries the user (`auth`); a portal route (`audience: 'portal'`) carries
 * the client's contact (`portal`) and never a staff auth, which is all its action may reach.
 */
export function serviceOperation(route: Route, broker: ServiceBroker, people: PeopleOfOrgs): Operation {
  const portal = route.audience === 'portal';
  // The contacts service's own routes look the person up themselves.
  const checksPerson = !portal && route.path.includes(':personId') && !route.action.startsWith('contacts.');
  return {
    ...route,
    operationId: route.action,
    security: portal ? 'portal' : 'bearer',
    ...(route.streamsBytes ? { produces: 'application/octet-stream' } : {}),
    async run({ raw }, ctx) {
      // Without NATS the call could only wait for its timeout, and nothing is sent: say so at once.
      if (!transportAvailable(broker)) throw unavailable('The message broker is unreachable; nothing was done. Retry shortly.');
      const caller: RelaisMeta = portal ? { portal: ctx.portal!.portal, org: ctx.portal!.org } : { auth: ctx.principal!.auth, org: ctx.principal!.org };
      const meta: RelaisMeta & { file?: StreamedFile } = { ...caller, ...(ctx.idempotencyKey ? { idempotencyKey: ctx.idempotencyKey } : {}) };
      if (checksPerson) await people.require(meta, String(raw.personId), ctx.requestId);
      // A stream is read once: a retry would send what is left of it.
      const upload = ctx.upload ? { stream: ctx.upload.stream, timeout: ctx.upload.timeoutMs, retries: 0 } : {};
      const result = await broker.call(route.action, raw, { meta, requestID: ctx.requestId, ...upload });
      if (!route.streamsBytes) return result;
      // The action describes its stream in ctx.meta, which the transporter merges back into this call's meta.
      if (!meta.file || !isReadable(result)) throw new Error(`${route.action} answered no byte stream`);
      return { stream: result, file: meta.file } satisfies BytesAnswer;
    },
  };
}

const isReadable = (value: unknown): value is Readable =>
  typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function' && (value as Readable).readable === true;
