import { randomUUID } from 'node:crypto';
import type { ServiceSchema } from 'moleculer';
import {
  AppError,
  Outbox,
  STAFF,
  conflict,
  defineAction,
  healthAction,
  openRuntime,
  orgOf,
  parseMobile,
  todayIn,
  validationError,
  type AuthContext,
  type BaseConfig,
  type Envelope,
  type RelaisContext,
  type ServiceRuntime,
} from '@relais/shared';
import {
  DECIDERS,
  activateInput,
  changeEndDateInput,
  endInput,
  peopleInput,
  personInput,
  refuseInput,
  renewInput,
  setSmsConsentInput,
} from './api';
import { Domiciliations } from './data/domiciliations';
import {
  activeStatus,
  domiciliationChange,
  newDomiciliation,
  noDomiciliation,
  stateOf,
  transition,
  type Change,
  type Command,
  type DomiciliationDoc,
} from './domain/domiciliation';
import { smsConsentChange, type ConsentChoice } from './domain/smsConsent';
import { CONSENT_FIELDS, toDomiciliation, toHistory, toSmsConsent } from './domain/views';

export const SERVICE = 'domiciliation';

/** Writes that lose a race are decided again on the fresh document this many times. */
const ATTEMPTS = 3;

/** The domiciliation service: a person's domiciliation, its periods and the SMS consent, with their events. */
export function domiciliationService(config: BaseConfig): ServiceSchema {
  let rt: ServiceRuntime | null = null;
  let repo: Domiciliations;
  let outbox: Outbox;

  /**
   * Reads the person's domiciliation, decides the write on it, applies it only if the
   * document did not change meanwhile (else decides again), and publishes its events.
   */
  async function write(
    auth: AuthContext,
    personId: string,
    decide: (
      doc: DomiciliationDoc | null,
      at: Date,
    ) => { create: { doc: DomiciliationDoc; events: Envelope[] } } | { change: Change | null },
  ): Promise<DomiciliationDoc> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const doc = await repo.forPerson(auth.orgId, personId);
      const at = new Date();
      const decision = decide(doc, at);
      if ('create' in decision) {
        const { doc: created, events } = decision.create;
        const inserted = await outbox.write(events, [created._id], async () => {
          const ok = await repo.insert(created);
          return { result: ok, applied: ok ? events : [] };
        });
        if (inserted) return created;
        continue;
      }
      const change = decision.change;
      if (!change) return doc!;
      const saved = await outbox.write(change.events, [doc!._id], async () => {
        const after = await repo.apply(doc!, change, at);
        return { result: after, applied: after ? change.events : [] };
      });
      if (saved) return saved;
    }
    throw conflict('The domiciliation was changed by someone else at the same time; reload it and try again.');
  }

  function run(auth: AuthContext, ctx: RelaisContext, personId: string, command: (doc: DomiciliationDoc | null) => Command) {
    return write(auth, personId, (doc, at) => {
      const t = transition(doc && stateOf(doc), command(doc));
      const actor = { orgId: auth.orgId, userId: auth.userId, timeZone: orgOf(ctx).timeZone };
      if (!doc) return { create: newDomiciliation(personId, t, { domiciliationId: randomUUID(), eventId: randomUUID() }, actor, at) };
      return { change: domiciliationChange(doc, t, randomUUID(), actor, at) };
    }).then(toDomiciliation);
  }

  async function existing(auth: AuthContext, personId: string): Promise<DomiciliationDoc> {
    const doc = await repo.forPerson(auth.orgId, personId);
    if (!doc) throw noDomiciliation();
    return doc;
  }

  /** The person must exist in the caller's org: contacts answers 404 otherwise. */
  const ensurePerson = (ctx: RelaisContext, personId: string) => ctx.call('contacts.getPerson', { personId });

  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),

      request: defineAction({
        input: personInput,
        roles: STAFF,
        async handler({ personId }, auth, ctx) {
          await ensurePerson(ctx, personId);
          return run(auth, ctx, personId, () => ({ action: 'request' }));
        },
      }),

      activate: defineAction({
        input: activateInput,
        roles: DECIDERS,
        handler: ({ personId, startDate, endDate }, auth, ctx) => run(auth, ctx, personId, () => ({ action: 'activate', startDate, endDate })),
      }),

      refuse: defineAction({
        input: refuseInput,
        roles: DECIDERS,
        handler: ({ personId, reason }, auth, ctx) => run(auth, ctx, personId, () => ({ action: 'refuse', reason })),
      }),

      renew: defineAction({
        input: renewInput,
        roles: DECIDERS,
        handler: ({ personId, startDate, endDate }, auth, ctx) => run(auth, ctx, personId, () => ({ action: 'renew', startDate, endDate })),
      }),

      changeEndDate: defineAction({
        input: changeEndDateInput,
        roles: DECIDERS,
        handler: ({ personId, endDate }, auth, ctx) => run(auth, ctx, personId, () => ({ action: 'changeEndDate', endDate })),
      }),

      end: defineAction({
        input: endInput,
        roles: DECIDERS,
        handler({ personId, endDate }, auth, ctx) {
          const date = endDate ?? todayIn(orgOf(ctx).timeZone, new Date());
          return run(auth, ctx, personId, () => ({ action: 'end', endDate: date }));
        },
      }),

      get: defineAction({
        input: personInput,
        roles: STAFF,
        handler: async ({ personId }, auth) => toDomiciliation(await existing(auth, personId)),
      }),

      history: defineAction({
        input: personInput,
        roles: STAFF,
        handler: async ({ personId }, auth) => toHistory(await existing(auth, personId), (f) => !CONSENT_FIELDS.includes(f)),
      }),

      /** For other services: is this person domiciled today? */
      activeStatus: defineAction({
        input: personInput,
        roles: STAFF,
        async handler({ personId }, auth, ctx) {
          const doc = await repo.forPerson(auth.orgId, personId);
          return activeStatus(personId, doc, todayIn(orgOf(ctx).timeZone, new Date()));
        },
      }),

      activeStatuses: defineAction({
        input: peopleInput,
        roles: STAFF,
        async handler({ personIds }, auth, ctx) {
          const docs = new Map((await repo.forPeople(auth.orgId, personIds)).map((d) => [d.personId, d]));
          const today = todayIn(orgOf(ctx).timeZone, new Date());
          return { statuses: personIds.map((id) => activeStatus(id, docs.get(id) ?? null, today)) };
        },
      }),

      smsConsent: defineAction({
        input: personInput,
        roles: STAFF,
        handler: async ({ personId }, auth) => toSmsConsent(await existing(auth, personId)),
      }),

      setSmsConsent: defineAction({
        input: setSmsConsentInput,
        roles: DECIDERS,
        async handler(input, auth, ctx) {
          let choice: ConsentChoice = { consent: false };
          if (input.consent) {
            const parsed = parseMobile(input.phone!, orgOf(ctx).region);
            if (!parsed.ok) throw validationError(`Invalid input: phone: ${parsed.reason}`, [{ path: 'phone', message: parsed.reason }]);
            choice = { consent: true, phone: parsed.phone };
          }
          const actor = { orgId: auth.orgId, userId: auth.userId };
          const saved = await write(auth, input.personId, (doc, at) => {
            if (!doc) throw new AppError('This person has no domiciliation: request one before setting SMS consent.', 404, 'NOT_FOUND');
            return { change: smsConsentChange(doc, choice, randomUUID(), actor, at) };
          });
          return toSmsConsent(saved);
        },
      }),

      smsConsentHistory: defineAction({
        input: personInput,
        roles: STAFF,
        handler: async ({ personId }, auth) => toHistory(await existing(auth, personId), (f) => CONSENT_FIELDS.includes(f)),
      }),
    },

    async started() {
      rt = await openRuntime(config, SERVICE, this.logger as never);
      repo = Domiciliations.open(rt.db, config.DB_TIMEOUT_MS);
      await repo.init();
      outbox = new Outbox({
        events: rt.events,
        model: repo.raw,
        dbTimeoutMs: config.DB_TIMEOUT_MS,
        logger: this.logger as never,
      });
      await outbox.init();
      outbox.start();
    },

    async stopped() {
      await outbox?.stop();
      await rt?.close();
      rt = null;
    },
  };
}
