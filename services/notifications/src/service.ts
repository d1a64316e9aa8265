import { randomBytes } from 'node:crypto';
import type { ServiceSchema } from 'moleculer';
import {
  DEFAULT_TIME_ZONE,
  SharedRateLimit,
  STAFF,
  conflict,
  defineAction,
  defineSystemAction,
  forbidden,
  healthAction,
  openRuntime,
  orgOf,
  unavailable,
  validationError,
  type Logger,
  type ServiceRuntime,
  type Subscription,
} from '@relais/shared';
import {
  CONTACT_SENDERS,
  deliveriesInput,
  emptyInput,
  historyInput,
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
import { PendingMail } from './planning/pendingMail';
import { CONSENT_CHANGES_KEPT_MS, Recipients } from './planning/recipients';
import { Schedule } from './planning/schedule';
import { SettingsRepo } from './settings/repo';
import { DeliveryLedger } from './delivery/ledger';
import type { DeliveryDoc } from './delivery/status';
import { contactDelivery, contactDeliveryId, contactEmailDelivery } from './planning/deliveries';
import { localTime } from './planning/localTime';
import { nextSlot, previousSlot, reminderAt, scheduleKey, type Weekday } from './planning/slots';
import { applySettings, defaultSettings, type OrgSettings } from './settings/settings';
import { smsSize, ucs2Characters } from './delivery/sms';
import { SMS_KINDS, SMS_KIND_LABELS, TEMPLATE_VARIABLES, sampleVariables, templateProblem, type SmsKind } from './settings/templates';
import { waitForEvents } from './planning/backlog';
import { startLoop } from './loop';
import { Reconciler } from './sending/reconciler';
import { Scheduler } from './planning/scheduler';
import { Sender } from './sending/sender';
import { SettingsCache } from './settings/cache';
import { TemplateBook } from './settings/templateBook';
import { LogProvider } from './sending/providers/log';
import type { Provider } from './sending/providers/provider';
import { twilioStatus } from './sending/providers/twilio';
import { decodeCursor, encodeCursor, segmentCosts, toDelivery } from './views';

export const SERVICE = 'notifications';

/**
 * The events a slot or reminder is decided on (one durable consumer each): a due slot waits until
 * they are applied. contact.primaryChanged is consumed too, but no slot reads it.
 */
const CONSUMED = ['mail.registered', 'mail.handedOver', 'domiciliation.smsConsentChanged', 'domiciliation.changed'] as const;

/** How long a scheduler pass waits for the event backlog before leaving its due slots to the next pass. */
const BACKLOG_WAIT_MS = 30_000;

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
 * owns the org SMS settings and templates, turns send slots, reminders and the SMS staff send from
 * a file (sendContactSms) into deliveries and sends them, and publishes each delivery's final
 * provider status as `delivery.outcome`. Any number of instances may run: claims are unique inserts and every delivery's
 * id is its dedupe key.
 */
export function notificationsService(config: NotificationsConfig, opts: NotificationsOptions): ServiceSchema {
  const clock = opts.clock ?? systemClock(config.CLOCK_OFFSET_MS);
  const owner = `${SERVICE}-${randomBytes(4).toString('hex')}`;
  const emailProvider = opts.emailProvider ?? new LogProvider('email');
  const templates = new TemplateBook();
  let rt: ServiceRuntime | null = null;
  let log: Logger;
  let pending: PendingMail;
  let recipients: Recipients;
  let settingsRepo: SettingsRepo;
  let settingsCache: SettingsCache;
  let schedule: Schedule;
  let ledger: DeliveryLedger;
  let scheduler: Scheduler;
  let subscriptions: Subscription[] = [];
  let loops: { stop(): Promise<void> }[] = [];

  const settingsOf = async (orgId: string, zone: string): Promise<OrgSettings> =>
    (await settingsRepo.get(orgId)) ?? defaultSettings(orgId, zone);

  /**
   * A message a staff member sends from a file: its delivery, built from the org's settings (which
   * may refuse it), sent now. The same request again (an answer lost) answers the first's delivery,
   * sent once, whatever changed since.
   */
  const sendContact = async (orgId: string, ref: string, zone: string, build: (org: OrgSettings) => DeliveryDoc) => {
    const deliveryId = contactDeliveryId(orgId, ref);
    if (!(await ledger.exists(deliveryId))) await scheduler.sendNow(build(await settingsOf(orgId, zone)));
    return { deliveryId };
  };

  const settingsView = (s: OrgSettings) => ({
    smsEnabled: s.smsEnabled,
    senderId: s.senderId,
    signature: s.signature,
    sendDays: s.sendDays,
    timeZone: s.timeZone,
    defaultWording: s.defaultWording,
    segmentCosts,
    ...nextSlotView(s),
    updatedAt: s.updatedAt ? s.updatedAt.toISOString() : null,
    updatedBy: s.updatedBy,
  });

  const nextSlotView = (s: OrgSettings) => {
    if (!s.smsEnabled) return { nextSlotAt: null, nextSlotLocal: null };
    const at = nextSlot(clock.now(), s.sendDays, s.timeZone);
    return { nextSlotAt: at.toISOString(), nextSlotLocal: localTime(at, s.timeZone).iso };
  };

  const templatesView = (s: OrgSettings) => ({
    templates: SMS_KINDS.map((kind) => ({
      kind,
      label: SMS_KIND_LABELS[kind],
      source: templates.source(s, kind),
      isDefault: s.templates[kind] === undefined,
      variables: TEMPLATE_VARIABLES[kind],
    })),
  });

  /**
   * Plans or cancels reminders from domiciliation changes that were newer than what was known. The
   * reminder is at 19:00 in the zone of the org's settings, else in the org's own zone, which the
   * event carries (events published before it did fall back to Paris; the first save replans them).
   */
  async function onDomiciliationChanged(events: Parameters<Recipients['applyDomiciliations']>[0]) {
    const applied = await recipients.applyDomiciliations(events);
    const orgZones = new Map(events.flatMap((e) => (e.data.timeZone ? [[e.orgId, e.data.timeZone] as const] : [])));
    const now = clock.now();
    for (const v of applied) {
      if (v.status === 'active' && v.endDate) {
        const zone = (await settingsRepo.get(v.orgId))?.timeZone ?? orgZones.get(v.orgId) ?? DEFAULT_TIME_ZONE;
        await ledger.cancelReminders(v.orgId, v.personId, 'the end date changed', now);
        await schedule.planReminder({ orgId: v.orgId, personId: v.personId, endDate: v.endDate, dueAt: reminderAt(v.endDate, zone) });
      } else {
        await schedule.cancelReminders(v.orgId, v.personId);
        await ledger.cancelReminders(v.orgId, v.personId, `the domiciliation is ${v.status}`, now);
      }
    }
  }

  /**
   * Before a save that changes the zone or the send days: the org's next slot becomes the new
   * schedule's first after now (none of it between the last slot sent and the change).
   */
  async function replanSlots(current: OrgSettings, next: OrgSettings, now: Date) {
    const key = scheduleKey(next.sendDays, next.timeZone);
    if (key !== scheduleKey(current.sendDays, current.timeZone)) await schedule.replanSlots(next.orgId, now, key);
  }

  /**
   * After the org's first save of its settings, or one that changes the zone: every scheduled reminder
   * gets 19:00 in the saved zone (those planned before the first save may have used a fallback).
   */
  async function replanReminders(current: OrgSettings, next: OrgSettings) {
    if (current.version === 0 || next.timeZone !== current.timeZone) {
      await schedule.replanReminders(next.orgId, (endDate) => reminderAt(endDate, next.timeZone));
    }
  }

  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),

      pendingMail: defineAction({
        input: pendingMailInput,
        roles: STAFF,
        async handler({ personId }, auth) {
          return { personId, counts: await pending.counts(auth.orgId, personId) };
        },
      }),

      primaryContact: defineAction({
        input: primaryContactInput,
        roles: STAFF,
        async handler({ partyId }, auth) {
          const view = await recipients.primaryOf(auth.orgId, partyId);
          return {
            partyId,
            primary: view?.primary ?? null,
            email: view?.email ?? null,
            mobile: view?.mobile ?? null,
            changedAt: view ? view.changedAt.toISOString() : null,
          };
        },
      }),

      getSettings: defineAction({
        input: emptyInput,
        roles: ['admin'],
        handler: async (_input, auth, ctx) => settingsView(await settingsOf(auth.orgId, orgOf(ctx).timeZone)),
      }),

      updateSettings: defineAction({
        input: updateSettingsInput,
        roles: ['admin'],
        async handler(input, auth, ctx) {
          const current = await settingsOf(auth.orgId, orgOf(ctx).timeZone);
          const result = applySettings(current, { ...input, sendDays: input.sendDays as Weekday[] | undefined });
          if (!result.ok) {
            throw validationError(`Invalid settings: ${result.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, result.problems);
          }
          const now = clock.now();
          const next: OrgSettings = { ...result.settings, version: current.version + 1, updatedAt: now, updatedBy: auth.userId };
          await replanSlots(current, next, now);
          await settingsRepo.save(next);
          settingsCache.forget(auth.orgId);
          if (next.smsEnabled && !current.smsEnabled) {
            // Slots while SMS were off are not caught up: the first slot is the next one.
            await schedule.setLastSlot(auth.orgId, previousSlot(now, next.sendDays, next.timeZone));
          }
          await replanReminders(current, next);
          return settingsView(next);
        },
      }),

      preview: defineAction({
        input: previewInput,
        roles: ['admin'],
        async handler(input, auth, ctx) {
          const stored = await settingsOf(auth.orgId, orgOf(ctx).timeZone);
          const draft = { ...stored, templates: { ...stored.templates, ...input.templates }, defaultWording: input.defaultWording ?? stored.defaultWording };
          const signature = input.signature ?? stored.signature ?? '';
          const problems = SMS_KINDS.flatMap((kind) => {
            const problem = input.templates?.[kind] ? templateProblem(kind, input.templates[kind]!) : null;
            return problem ? [{ path: `templates.${kind}`, message: problem }] : [];
          });
          if (problems.length) throw validationError(`Invalid template: ${problems[0].message}`, problems);
          return {
            senderId: input.senderId ?? stored.senderId,
            previews: SMS_KINDS.map((kind) => {
              const text = templates.render(draft, kind, sampleVariables(kind, signature));
              const size = smsSize(text);
              return {
                kind,
                label: SMS_KIND_LABELS[kind],
                text,
                encoding: size.encoding,
                characters: size.characters,
                segments: size.segments,
                ucs2Characters: ucs2Characters(text),
              };
            }),
          };
        },
      }),

      templates: defineAction({
        input: emptyInput,
        roles: ['admin'],
        handler: async (_input, auth, ctx) => templatesView(await settingsOf(auth.orgId, orgOf(ctx).timeZone)),
      }),

      setTemplate: defineAction({
        input: setTemplateInput,
        roles: ['admin'],
        async handler({ kind, source }, auth, ctx) {
          const problem = templateProblem(kind, source);
          if (problem) throw validationError(`Invalid template: ${problem}`, [{ path: 'source', message: problem }]);
          const current = await settingsOf(auth.orgId, orgOf(ctx).timeZone);
          const next = { ...current, templates: { ...current.templates, [kind]: source }, version: current.version + 1, updatedAt: clock.now(), updatedBy: auth.userId };
          await settingsRepo.save(next);
          settingsCache.forget(auth.orgId);
          await replanReminders(current, next);
          return templatesView(next);
        },
      }),

      resetTemplate: defineAction({
        input: templateKindInput,
        roles: ['admin'],
        async handler({ kind }, auth, ctx) {
          const current = await settingsOf(auth.orgId, orgOf(ctx).timeZone);
          const rest = { ...current.templates };
          delete rest[kind as SmsKind];
          const next = { ...current, templates: rest, version: current.version + 1, updatedAt: clock.now(), updatedBy: auth.userId };
          await settingsRepo.save(next);
          settingsCache.forget(auth.orgId);
          await replanReminders(current, next);
          return templatesView(next);
        },
      }),

      history: defineAction({
        input: historyInput,
        roles: STAFF,
        async handler({ personId, limit }, auth, ctx) {
          const [{ timeZone }, entries] = await Promise.all([settingsOf(auth.orgId, orgOf(ctx).timeZone), ledger.history(auth.orgId, personId, limit)]);
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
          if (cursor === null) throw validationError('Invalid cursor: use the nextCursor of the previous page', [{ path: 'cursor', message: 'is not a cursor of this list' }]);
          const [page, counts, { timeZone }] = await Promise.all([
            ledger.page(auth.orgId, filter, input.limit, cursor),
            ledger.counts(auth.orgId, filter),
            settingsOf(auth.orgId, orgOf(ctx).timeZone),
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
          const org = await settingsOf(auth.orgId, orgOf(ctx).timeZone);
          if (!org.smsEnabled) throw conflict('SMS are off for this org: switch them on (PUT /v1/notifications/settings) first.');
          const rehearsal = await scheduler.rehearse(org);
          if (!rehearsal) throw unavailable('Mail registered just now is still being counted; try again in a few seconds.');
          return { ...rehearsal, nextSlotAt: nextSlot(rehearsal.slotAt, org.sendDays, org.timeZone).toISOString(), slotAt: rehearsal.slotAt.toISOString(), from: rehearsal.from.toISOString() };
        },
      }),

      sendContactSms: defineAction({
        input: sendContactSmsInput,
        roles: CONTACT_SENDERS,
        handler: (input, auth, ctx) =>
          sendContact(auth.orgId, input.ref, orgOf(ctx).timeZone, (org) => {
            if (!org.smsEnabled) throw conflict('SMS are switched off for this organisation: an admin switches them on in the SMS settings first.');
            if (!org.senderId) throw conflict('No SMS sender id is set for this organisation: an admin sets one in the SMS settings first.');
            return contactDelivery(auth.orgId, input, { senderId: org.senderId, signature: org.signature }, clock.now());
          }),
      }),

      sendContactEmail: defineAction({
        input: sendContactEmailInput,
        roles: CONTACT_SENDERS,
        handler: (input, auth, ctx) => sendContact(auth.orgId, input.ref, orgOf(ctx).timeZone, (org) => contactEmailDelivery(auth.orgId, input, org.signature, clock.now())),
      }),

      providerStatus: defineSystemAction({
        input: providerStatusInput,
        async handler({ status, ...report }) {
          // A status Twilio adds later reads as 'queued' and changes nothing, rather than failing the callback.
          return { moved: await ledger.providerStatus(report, twilioStatus(status.toLowerCase()), clock.now()) };
        },
      }),
    },

    async started() {
      log = this.logger as unknown as Logger;
      rt = await openRuntime(config, SERVICE, log);
      pending = PendingMail.open(rt.db, config.DB_UPDATE_BATCH);
      recipients = Recipients.open(rt.db, config.DB_UPDATE_BATCH);
      settingsRepo = SettingsRepo.open(rt.db);
      settingsCache = new SettingsCache(settingsRepo, config.SETTINGS_CACHE_MS);
      schedule = Schedule.open(rt.db, config.DB_UPDATE_BATCH);
      ledger = DeliveryLedger.open(rt.db, {
        stuckAfterMs: config.STUCK_AFTER_MS,
        outcomes: { events: rt.events, dbTimeoutMs: config.DB_TIMEOUT_MS, logger: log },
      });
      await Promise.all([pending.init(), recipients.init(), settingsRepo.init(), schedule.init(), ledger.init()]);
      // Publishes the delivery.outcome events a crash or a NATS outage left unpublished.
      ledger.outbox?.start();

      const events = rt.events;
      const common = {
        group: SERVICE,
        db: rt.db,
        dbTimeoutMs: config.DB_TIMEOUT_MS,
        maxDeliveries: opts.maxDeliveries,
        backoffMs: opts.backoffMs,
      };
      subscriptions = [
        await rt.events.consume({ ...common, type: 'mail.registered', handle: (evs) => pending.applyRegistered(evs) }),
        await rt.events.consume({ ...common, type: 'mail.handedOver', handle: (evs) => pending.applyHandedOver(evs) }),
        await rt.events.consume({ ...common, type: 'domiciliation.smsConsentChanged', handle: (evs) => recipients.applyConsents(evs, clock.now()) }),
        await rt.events.consume({ ...common, type: 'domiciliation.changed', handle: onDomiciliationChanged }),
        await rt.events.consume({ ...common, type: 'contact.primaryChanged', handle: (evs) => recipients.applyPrimaries(evs) }),
      ];

      const rate = config.SMS_RATE_LIMIT > 0 ? await SharedRateLimit.open(rt.events.connection, `${config.RELAIS_NAMESPACE.toUpperCase()}_RATE`) : null;
      const sender = new Sender(
        { ledger, recipients, schedule, settings: settingsCache, providers: { sms: opts.smsProvider, email: emailProvider }, rate, clock, log },
        {
          owner,
          stuckAfterMs: config.STUCK_AFTER_MS,
          concurrency: config.SEND_CONCURRENCY,
          ratePerSecond: config.SMS_RATE_LIMIT,
          retryBaseMs: config.RETRY_BASE_MS,
          maxAttempts: config.MAX_ATTEMPTS,
          maxBatchMs: Math.max(1_000, config.STUCK_AFTER_MS / 3),
          applyAfterIdleMs: Math.max(1_000, 2 * config.SEND_INTERVAL_MS),
          // A slot of 150,000 at the default lot size leaves 300: a slot's rows catch up after it, not
          // between its lots; a longer backlog is applied as it goes.
          maxPendingResults: 300,
        },
      );
      const senderLoop = startLoop('sender', () => sender.runOnce(), config.SEND_INTERVAL_MS, log);
      scheduler = new Scheduler(
        {
          settings: settingsRepo,
          schedule,
          pendingMail: pending,
          recipients,
          ledger,
          templates,
          clock,
          onLot: (lot) => {
            sender.offer(lot);
            senderLoop.wake();
          },
          eventsApplied: () => waitForEvents(events, SERVICE, CONSUMED, { maxWaitMs: BACKLOG_WAIT_MS, pollMs: 200 }, log),
        },
        { owner, leaseMs: Math.max(60_000, config.SCHEDULER_INTERVAL_MS * 12), maxLatenessMs: config.MAX_LATENESS_MS, lotSize: config.SEND_BATCH },
      );
      const reconciler = new Reconciler(
        { ledger, schedule, provider: opts.smsProvider, clock },
        { owner, stuckAfterMs: config.STUCK_AFTER_MS, unfinishedAfterMs: config.UNFINISHED_AFTER_MS },
      );
      loops = [
        startLoop('scheduler', () => scheduler.runOnce(), config.SCHEDULER_INTERVAL_MS, log, { waitAtMost: () => scheduler.msUntilNextDue() }),
        senderLoop,
        startLoop('reconciler', () => reconciler.runOnce(), Math.max(config.SEND_INTERVAL_MS, Math.min(config.STUCK_AFTER_MS / 2, 60_000)), log),
        startLoop(
          'prune',
          async () => {
            const now = clock.now().getTime();
            await schedule.pruneClaims(new Date(now - 7 * 86_400_000));
            await ledger.prune(new Date(now - 7 * 86_400_000));
            await recipients.pruneChanges(new Date(now - CONSENT_CHANGES_KEPT_MS));
          },
          3600_000,
          log,
        ),
      ];
    },

    async stopped() {
      await Promise.all(loops.map((l) => l.stop()));
      loops = [];
      await Promise.all(subscriptions.map((s) => s.stop()));
      subscriptions = [];
      await ledger?.outbox?.stop();
      await rt?.close();
      rt = null;
    },
  };
}
