import type { ServiceSchema } from 'moleculer';
import {
  STAFF,
  defineAction,
  healthAction,
  openRuntime,
  orgOf,
  type AuthContext,
  type BaseConfig,
  type RelaisContext,
  type ServiceRuntime,
} from '@relais/shared';
import { DECIDERS, activateInput, changeEndDateInput, endInput, peopleInput, personInput, refuseInput, renewInput, setSmsConsentInput } from './api';
import { Domiciliations } from './data/domiciliations';
import { DomiciliationUseCases, type Caller } from './useCases';

export const SERVICE = 'domiciliation';

/**
 * The domiciliation service: a person's domiciliation, its periods and the SMS consent, with their
 * events. The actions below call its use cases (useCases.ts).
 */
export function domiciliationService(config: BaseConfig): ServiceSchema {
  let rt: ServiceRuntime | null = null;
  let repo: Domiciliations | null = null;
  let useCases: DomiciliationUseCases | null = null;
  /** The use cases of a started instance (actions only run once it is). */
  const u = () => useCases!;
  const zone = (ctx: RelaisContext) => orgOf(ctx).timeZone;
  const caller = (auth: AuthContext, ctx: RelaisContext): Caller => ({
    orgId: auth.orgId,
    userId: auth.userId,
    timeZone: zone(ctx),
    region: orgOf(ctx).region,
  });

  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),

      request: defineAction({
        input: personInput,
        roles: STAFF,
        handler: ({ personId }, auth, ctx) => u().request(personId, caller(auth, ctx), () => ctx.call('contacts.getPerson', { personId })),
      }),

      activate: defineAction({
        input: activateInput,
        roles: DECIDERS,
        handler: ({ personId, startDate, endDate }, auth, ctx) => u().run(personId, { action: 'activate', startDate, endDate }, caller(auth, ctx)),
      }),

      refuse: defineAction({
        input: refuseInput,
        roles: DECIDERS,
        handler: ({ personId, reason }, auth, ctx) => u().run(personId, { action: 'refuse', reason }, caller(auth, ctx)),
      }),

      renew: defineAction({
        input: renewInput,
        roles: DECIDERS,
        handler: ({ personId, startDate, endDate }, auth, ctx) => u().run(personId, { action: 'renew', startDate, endDate }, caller(auth, ctx)),
      }),

      changeEndDate: defineAction({
        input: changeEndDateInput,
        roles: DECIDERS,
        handler: ({ personId, endDate }, auth, ctx) => u().run(personId, { action: 'changeEndDate', endDate }, caller(auth, ctx)),
      }),

      end: defineAction({
        input: endInput,
        roles: DECIDERS,
        handler: ({ personId, endDate }, auth, ctx) => u().end(personId, endDate, caller(auth, ctx)),
      }),

      get: defineAction({
        input: personInput,
        roles: STAFF,
        handler: ({ personId }, auth) => u().get(auth.orgId, personId),
      }),

      history: defineAction({
        input: personInput,
        roles: STAFF,
        handler: ({ personId }, auth) => u().history(auth.orgId, personId),
      }),

      activeStatus: defineAction({
        input: personInput,
        roles: STAFF,
        handler: ({ personId }, auth, ctx) => u().activeStatus(auth.orgId, personId, zone(ctx)),
      }),

      activeStatuses: defineAction({
        input: peopleInput,
        roles: STAFF,
        handler: ({ personIds }, auth, ctx) => u().activeStatuses(auth.orgId, personIds, zone(ctx)),
      }),

      smsConsent: defineAction({
        input: personInput,
        roles: STAFF,
        handler: ({ personId }, auth) => u().smsConsent(auth.orgId, personId),
      }),

      setSmsConsent: defineAction({
        input: setSmsConsentInput,
        roles: DECIDERS,
        handler: (input, auth, ctx) => u().setSmsConsent(input, caller(auth, ctx)),
      }),

      smsConsentHistory: defineAction({
        input: personInput,
        roles: STAFF,
        handler: ({ personId }, auth) => u().smsConsentHistory(auth.orgId, personId),
      }),
    },

    async started() {
      rt = await openRuntime(config, SERVICE, this.logger);
      repo = Domiciliations.open(rt.db, config.DB_TIMEOUT_MS, { events: rt.events, dbTimeoutMs: config.DB_TIMEOUT_MS, logger: this.logger });
      await repo.init();
      repo.outbox!.start();
      useCases = new DomiciliationUseCases(repo);
    },

    async stopped() {
      await repo?.outbox?.stop();
      await rt?.close();
      rt = null;
    },
  };
}
