import { randomBytes } from 'node:crypto';
import type { ServiceSchema } from 'moleculer';
import {
  STAFF,
  conflict,
  defineAction,
  defineSystemAction,
  forbidden,
  healthAction,
  notFound,
  openRuntime,
  orgOf,
  unavailable,
  validationError,
  type Logger,
  type ServiceRuntime,
} from '@relais/shared';
import {
  CONTACT_SENDERS,
  deliveriesInput,
  emptyInput,
  historyInput,
  markNoticeInput,
  noticesInput,
  pendingMailInput,
  previewInput,
  primaryContactInput,
  providerStatusInput,
  sendContactEmailInput,
  sendContactSmsInput,
  setTemplateInput,
  templateKindInput,
  updateSettingsInput,
} from './api';
import { systemClock, type Clock } from './clock';
import type { NotificationsConfig } from './config';
import { SERVICE, startEngine, type RunningEngine } from './engine';
import type { OrgCall } from './staff/useCases';
import { contactDelivery, contactEmailDelivery } from './planning/deliveries';
import { nextSlot } from './planning/slots';
import { LogProvider } from './sending/providers/log';
import type { Provider } from './sending/providers/provider';
import { twilioStatus } from './sending/providers/twilio';
import { decodeCursor, encodeCursor, primaryContactView, toDelivery, toNotice } from './views';

export { SERVICE } from './engine';

export interface NotificationsOptions {
  /** The SMS provider (Twilio, or the log provider in development). */
  smsProvider: Provider;
  /** The e-mail provider (SMTP); the log provider when left out, as EMAIL_PROVIDER=log. */
  emailProvider?: Provider;
  clock?: Clock;
  /** Deliveries before an event is dead-lettered, and the redelivery backoff (tests shorten them). */
  maxDeliveries?: number;
  backoffMs?: number[];
  /** Whether admins may rehearse a slot now (`rehearse`): never in production. */
  rehearsals?: boolean;
}

/**
 * The notifications service: keeps its view of mail and people current from durable events,
 * owns the org SMS settings and templates, turns send slots, reminders and the messages staff send
 * from a file into deliveries and sends them, and publishes each delivery's final provider status as
 * `delivery.outcome`. Any number of instances may run: claims are unique inserts and every
 * delivery's id is its dedupe key. The actions below call the engine's use cases (engine.ts).
 */
export function notificationsService(config: NotificationsConfig, opts: NotificationsOptions): ServiceSchema {
  const clock = opts.clock ?? systemClock(config.CLOCK_OFFSET_MS);
  const owner = `${SERVICE}-${randomBytes(4).toString('hex')}`;
  const providers = { sms: opts.smsProvider, email: opts.emailProvider ?? new LogProvider('email') };
  let rt: ServiceRuntime | null = null;
  let engine: RunningEngine | null = null;
  /** The engine of a started instance (actions only run once it is). */
  const e = () => engine!;
  const editor = (auth: { orgId: string; userId: string }, ctx: Parameters<typeof orgOf>[0]) => ({
    orgId: auth.orgId,
    userId: auth.userId,
    zone: orgOf(ctx).timeZone,
  });

  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),

      pendingMail: defineAction({
        input: pendingMailInput,
        roles: STAFF,
        async handler({ personId }, auth) {
          return { personId, counts: await e().stores.pending.counts(auth.orgId, personId) };
        },
      }),

      primaryContact: defineAction({
        input: primaryContactInput,
        roles: STAFF,
        handler: async ({ partyId }, auth) => primaryContactView(partyId, await e().stores.recipients.primaryOf(auth.orgId, partyId)),
      }),

      getSettings: defineAction({
        input: emptyInput,
        roles: ['admin'],
        handler: (_input, auth, ctx) => e().settings.view(auth.orgId, orgOf(ctx).timeZone),
      }),

      updateSettings: defineAction({
        input: updateSettingsInput,
        roles: ['admin'],
        handler: (input, auth, ctx) => e().settings.update(input, editor(auth, ctx)),
      }),

      preview: defineAction({
        input: previewInput,
        roles: ['admin'],
        handler: (input, auth, ctx) => e().settings.preview(input, auth.orgId, orgOf(ctx).timeZone),
      }),

      templates: defineAction({
        input: emptyInput,
        roles: ['admin'],
        handler: (_input, auth, ctx) => e().settings.templates(auth.orgId, orgOf(ctx).timeZone),
      }),

      setTemplate: defineAction({
        input: setTemplateInput,
        roles: ['admin'],
        handler: ({ kind, source }, auth, ctx) => e().settings.setTemplate(kind, source, editor(auth, ctx)),
      }),

      resetTemplate: defineAction({
        input: templateKindInput,
        roles: ['admin'],
        handler: ({ kind }, auth, ctx) => e().settings.resetTemplate(kind, editor(auth, ctx)),
      }),

      history: defineAction({
        input: historyInput,
        roles: STAFF,
        async handler({ personId, limit }, auth, ctx) {
          const [{ timeZone }, entries] = await Promise.all([
            e().settings.current(auth.orgId, orgOf(ctx).timeZone),
            e().stores.ledger.history(auth.orgId, personId, limit),
          ]);
          return { personId, timeZone, entries: entries.map((d) => toDelivery(d, timeZone)) };
        },
      }),

      deliveries: defineAction({
        input: deliveriesInput,
        roles: ['admin', 'manager'],
        async handler(input, auth, ctx) {
          const filter = {
            status: input.status,
            type: input.type,
            from: input.from ? new Date(input.from) : undefined,
            to: input.to ? new Date(input.to) : undefined,
          };
          const cursor = input.cursor ? decodeCursor(input.cursor) : undefined;
          if (cursor === null)
            throw validationError('Invalid cursor: use the nextCursor of the previous page', [{ path: 'cursor', message: 'is not a cursor of this list' }]);
          const { ledger } = e().stores;
          const [page, counts, { timeZone }] = await Promise.all([
            ledger.page(auth.orgId, filter, input.limit, cursor),
            ledger.counts(auth.orgId, filter),
            e().settings.current(auth.orgId, orgOf(ctx).timeZone),
          ]);
          return {
            counts,
            total: Object.values(counts).reduce((a, b) => a + b, 0),
            timeZone,
            items: page.items.map((d) => toDelivery(d, timeZone)),
            nextCursor: page.last ? encodeCursor(page.last) : null,
          };
        },
      }),

      rehearse: defineAction({
        input: emptyInput,
        roles: ['admin'],
        async handler(_input, auth, ctx) {
          if (!opts.rehearsals) throw forbidden('Rehearsing a slot is not available in production.');
          const org = await e().settings.current(auth.orgId, orgOf(ctx).timeZone);
          if (!org.smsEnabled) throw conflict('SMS are off for this org: switch them on (PUT /v1/notifications/settings) first.');
          const rehearsal = await e().scheduler.rehearse(org);
          if (!rehearsal) throw unavailable('Mail registered just now is still being counted; try again in a few seconds.');
          return {
            ...rehearsal,
            nextSlotAt: nextSlot(rehearsal.slotAt, org.sendDays, org.timeZone).toISOString(),
            slotAt: rehearsal.slotAt.toISOString(),
            from: rehearsal.from.toISOString(),
          };
        },
      }),

      sendContactSms: defineAction({
        input: sendContactSmsInput,
        roles: CONTACT_SENDERS,
        handler: (input, auth, ctx) =>
          e().planning.sendContact(auth.orgId, input.ref, orgOf(ctx).timeZone, (org) => {
            if (!org.smsEnabled) throw conflict('SMS are switched off for this organisation: an admin switches them on in the SMS settings first.');
            if (!org.senderId) throw conflict('No SMS sender id is set for this organisation: an admin sets one in the SMS settings first.');
            return contactDelivery(auth.orgId, input, { senderId: org.senderId, signature: org.signature }, clock.now());
          }),
      }),

      sendContactEmail: defineAction({
        input: sendContactEmailInput,
        roles: CONTACT_SENDERS,
        handler: (input, auth, ctx) =>
          e().planning.sendContact(auth.orgId, input.ref, orgOf(ctx).timeZone, (org) => contactEmailDelivery(auth.orgId, input, org.signature, clock.now())),
      }),

      myNotices: defineAction({
        input: noticesInput,
        roles: STAFF,
        async handler({ unread, limit }, auth) {
          const { notices } = e().stores;
          const [items, count] = await Promise.all([notices.ofUser(auth.orgId, auth.userId, unread, limit), notices.unread(auth.orgId, auth.userId)]);
          return { unread: count, items: items.map(toNotice) };
        },
      }),

      markNotice: defineAction({
        input: markNoticeInput,
        roles: STAFF,
        async handler({ noticeId, read }, auth) {
          const doc = await e().stores.notices.mark(auth.orgId, auth.userId, noticeId, read, clock.now());
          // Another user's notification is as unknown as a missing one.
          if (!doc) throw notFound('Notification');
          return toNotice(doc);
        },
      }),

      providerStatus: defineSystemAction({
        input: providerStatusInput,
        async handler({ status, ...report }) {
          // A status Twilio adds later reads as 'queued' and changes nothing, rather than failing the callback.
          return { moved: await e().stores.ledger.providerStatus(report, twilioStatus(status.toLowerCase()), clock.now()) };
        },
      }),
    },

    async started() {
      const log = this.logger as unknown as Logger;
      rt = await openRuntime(config, SERVICE, log);
      const broker = this.broker;
      // The platform acting in an org: an event has no caller whose auth could be passed on.
      const call: OrgCall =
        (orgId) =>
        <T>(action: string, params: object) =>
          broker.call<T, object>(action, params, { meta: { auth: { orgId, userId: SERVICE, role: 'admin' } } });
      engine = await startEngine(rt, config, { providers, clock, log, owner, call, maxDeliveries: opts.maxDeliveries, backoffMs: opts.backoffMs });
    },

    async stopped() {
      await engine?.stop();
      engine = null;
      await rt?.close();
      rt = null;
    },
  };
}
