import type { Connection } from 'mongoose';
import { SharedRateLimit, type Logger, type OutboxOptions, type ServiceRuntime, type Subscription } from '@relais/shared';
import type { Clock } from './clock';
import type { NotificationsConfig } from './config';
import { DeliveryLedger } from './delivery/ledger';
import { startLoop } from './loop';
import { waitForEvents } from './planning/backlog';
import { PendingMail } from './planning/pendingMail';
import { CONSENT_CHANGES_KEPT_MS, Recipients } from './planning/recipients';
import { Schedule } from './planning/schedule';
import { Scheduler, type SchedulerOptions } from './planning/scheduler';
import { Planning } from './planning/useCases';
import { Claims } from './sending/claims';
import { senderOptions, type SenderOptions } from './sending/options';
import type { Channel, Provider } from './sending/providers/provider';
import { Reconciler } from './sending/reconciler';
import { Sender } from './sending/sender';
import { SettingsCache } from './settings/cache';
import { SettingsRepo } from './settings/repo';
import { TemplateBook } from './settings/templateBook';
import { SettingsUseCases } from './settings/useCases';
import { StaffNotices } from './staff/notices';
import { StaffNotifying, type OrgCall } from './staff/useCases';

/*
 * The composition root of the notifications service: its stores on one database, the parts that
 * plan and send wired together, and, for a running instance, its event consumers and loops.
 *
 *   service.ts (actions) ─> SettingsUseCases, Planning, DeliveryLedger reads
 *   consumers ─> PendingMail, Recipients, Planning.onDomiciliationChanged, StaffNotifying (exchange.recorded)
 *   loops: Scheduler ─> DeliveryLedger.create ─(each lot)─> Sender ─> providers, DeliveryLedger.recordAttempt
 *          Reconciler ─> DeliveryLedger (abandoned lots, strays, unfinished) and the providers
 *   claims (sending/claims.ts) decide which instance takes a slot, a reminder or a lot.
 */

export const SERVICE = 'notifications';

/**
 * The events a slot or reminder is decided on (one durable consumer each): a due slot waits until
 * they are applied. contact.primaryChanged is consumed too, but no slot reads it.
 */
const CONSUMED = ['mail.registered', 'mail.handedOver', 'domiciliation.smsConsentChanged', 'domiciliation.changed'] as const;

/** How long a scheduler pass waits for the event backlog before leaving its due slots to the next pass. */
const BACKLOG_WAIT_MS = 30_000;

/** Claims and lots closed this long ago are removed. */
const KEEP_CLAIMS_AND_LOTS_MS = 7 * 86_400_000;

/** The service's collections, each behind its repository; the ledger owns every delivery's state. */
export function openStores(db: Connection, config: Pick<NotificationsConfig, 'DB_UPDATE_BATCH' | 'STUCK_AFTER_MS'>, outcomes?: Omit<OutboxOptions, 'model'>) {
  return {
    pending: PendingMail.open(db, config.DB_UPDATE_BATCH),
    recipients: Recipients.open(db, config.DB_UPDATE_BATCH),
    settings: SettingsRepo.open(db),
    schedule: Schedule.open(db, config.DB_UPDATE_BATCH),
    claims: Claims.open(db),
    ledger: DeliveryLedger.open(db, { stuckAfterMs: config.STUCK_AFTER_MS, outcomes }),
    notices: StaffNotices.open(db),
  };
}
export type Stores = ReturnType<typeof openStores>;

export async function initStores(stores: Stores): Promise<void> {
  await Promise.all(Object.values(stores).map((s) => s.init()));
}

export interface PartsOptions {
  scheduler: SchedulerOptions;
  sender: SenderOptions;
  reconciler: { owner: string; stuckAfterMs: number; unfinishedAfterMs: number };
  /** How long the send loop trusts the org settings it read. */
  settingsCacheMs: number;
}

/** What the parts call out to: providers per channel, the shared rate limit, the clock and the log. */
export interface PartsDeps {
  providers: Record<Channel, Provider>;
  rate: SharedRateLimit | null;
  clock: Clock;
  log: Pick<Logger, 'warn'>;
  /** Told after each lot the scheduler hands to the sender (the send loop wakes up). */
  wake?: () => void;
  /** See Scheduler: whether the consumed events are applied before a slot is decided. */
  eventsApplied?: () => Promise<boolean>;
}

/**
 * The parts that plan, send and settle, wired: each lot the scheduler writes goes to this
 * instance's sender first, without waiting for its next read of the ready lots.
 */
export function wireParts(stores: Stores, deps: PartsDeps, opts: PartsOptions) {
  const { ledger, claims, recipients, schedule } = stores;
  const templates = new TemplateBook();
  const cache = new SettingsCache(stores.settings, opts.settingsCacheMs);
  const sender = new Sender(
    { ledger, claims, recipients, settings: cache, providers: deps.providers, rate: deps.rate, clock: deps.clock, log: deps.log },
    opts.sender,
  );
  const scheduler = new Scheduler(
    {
      settings: stores.settings,
      schedule,
      claims,
      pendingMail: stores.pending,
      recipients,
      ledger,
      templates,
      clock: deps.clock,
      onLot: (lot) => {
        sender.offer(lot);
        deps.wake?.();
      },
      eventsApplied: deps.eventsApplied,
    },
    opts.scheduler,
  );
  const reconciler = new Reconciler({ ledger, claims, provider: deps.providers.sms, clock: deps.clock }, opts.reconciler);
  const planning = new Planning({ settings: stores.settings, schedule, recipients, scheduler, ledger, clock: deps.clock });
  const settings = new SettingsUseCases({ repo: stores.settings, cache, templates, hooks: planning, clock: deps.clock });
  return { sender, scheduler, reconciler, planning, settings };
}
export type Parts = ReturnType<typeof wireParts>;

/** The options of every part of an instance, from the service's config. */
export function partsOptions(config: NotificationsConfig, owner: string): PartsOptions {
  return {
    scheduler: { owner, leaseMs: Math.max(60_000, config.SCHEDULER_INTERVAL_MS * 12), maxLatenessMs: config.MAX_LATENESS_MS, lotSize: config.SEND_BATCH },
    sender: senderOptions(config, owner),
    reconciler: { owner, stuckAfterMs: config.STUCK_AFTER_MS, unfinishedAfterMs: config.UNFINISHED_AFTER_MS },
    settingsCacheMs: config.SETTINGS_CACHE_MS,
  };
}

export interface RunningEngine extends Parts {
  stores: Stores;
  stop(): Promise<void>;
}

/**
 * A running instance: its stores, the durable consumers of the events it plans from, and its four
 * loops (scheduler, sender, reconciler, prune).
 */
export async function startEngine(
  rt: ServiceRuntime,
  config: NotificationsConfig,
  deps: {
    providers: Record<Channel, Provider>;
    clock: Clock;
    log: Logger;
    owner: string;
    /** Calls as the platform in an org: who works in a team, to tell them of a client's message. */
    call: OrgCall;
    maxDeliveries?: number;
    backoffMs?: number[];
  },
): Promise<RunningEngine> {
  const { clock, log } = deps;
  const stores = openStores(rt.db, config, { events: rt.events, dbTimeoutMs: config.DB_TIMEOUT_MS, logger: log });
  await initStores(stores);
  // Publishes the delivery.outcome events a crash or a NATS outage left unpublished.
  stores.ledger.outbox?.start();

  const rate = config.SMS_RATE_LIMIT > 0 ? await SharedRateLimit.open(rt.events.connection, `${config.RELAIS_NAMESPACE.toUpperCase()}_RATE`) : null;
  const parts = wireParts(
    stores,
    {
      providers: deps.providers,
      rate,
      clock,
      log,
      // The sender loop starts below, before the scheduler's: no lot is written before it exists.
      wake: () => senderLoop.wake(),
      eventsApplied: () => waitForEvents(rt.events, SERVICE, CONSUMED, { maxWaitMs: BACKLOG_WAIT_MS, pollMs: 200 }, log),
    },
    partsOptions(config, deps.owner),
  );

  const staff = new StaffNotifying({ notices: stores.notices, planning: parts.planning, call: deps.call, now: () => clock.now() });
  const common = { group: SERVICE, db: rt.db, dbTimeoutMs: config.DB_TIMEOUT_MS, maxDeliveries: deps.maxDeliveries, backoffMs: deps.backoffMs };
  const { pending, recipients } = stores;
  const subscriptions: Subscription[] = [
    await rt.events.consume({ ...common, type: 'mail.registered', handle: (evs) => pending.applyRegistered(evs) }),
    await rt.events.consume({ ...common, type: 'mail.handedOver', handle: (evs) => pending.applyHandedOver(evs) }),
    await rt.events.consume({ ...common, type: 'domiciliation.smsConsentChanged', handle: (evs) => recipients.applyConsents(evs, clock.now()) }),
    await rt.events.consume({ ...common, type: 'domiciliation.changed', handle: (evs) => parts.planning.onDomiciliationChanged(evs) }),
    await rt.events.consume({ ...common, type: 'contact.primaryChanged', handle: (evs) => recipients.applyPrimaries(evs) }),
    await rt.events.consume({ ...common, type: 'exchange.recorded', handle: (evs) => staff.apply(evs) }),
  ];

  const senderLoop = startLoop('sender', () => parts.sender.runOnce(), config.SEND_INTERVAL_MS, log);
  const loops = [
    startLoop('scheduler', () => parts.scheduler.runOnce(), config.SCHEDULER_INTERVAL_MS, log, { waitAtMost: () => parts.scheduler.msUntilNextDue() }),
    senderLoop,
    startLoop('reconciler', () => parts.reconciler.runOnce(), Math.max(config.SEND_INTERVAL_MS, Math.min(config.STUCK_AFTER_MS / 2, 60_000)), log),
    startLoop(
      'prune',
      async () => {
        const now = clock.now().getTime();
        await stores.claims.prune(new Date(now - KEEP_CLAIMS_AND_LOTS_MS));
        await stores.ledger.prune(new Date(now - KEEP_CLAIMS_AND_LOTS_MS));
        await recipients.pruneChanges(new Date(now - CONSENT_CHANGES_KEPT_MS));
      },
      3600_000,
      log,
    ),
  ];

  return {
    ...parts,
    stores,
    async stop() {
      await Promise.all(loops.map((l) => l.stop()));
      await Promise.all(subscriptions.map((s) => s.stop()));
      await stores.ledger.outbox?.stop();
    },
  };
}
