import { Outbox, type Logger, type ServiceRuntime, type Subscription } from '@relais/shared';
import type { ExchangesConfig } from './config';
import { Drafts } from './data/drafts';
import { Exchanges } from './data/exchanges';
import { RecipientAddresses } from './data/recipients';
import { InterventionRequests } from './data/requests';
import { SettingsRepo } from './data/settings';
import { Summaries } from './data/summaries';
import type { Call } from './directory';
import { MailFiles } from './data/mailFiles';
import { Drafting } from './drafting';
import { InboundListener } from './inbound';
import { Inbox } from './inbox';
import { Portal } from './portal';
import { Recording } from './recording';
import { Registry } from './registry';

/*
 * The composition root of the exchanges service: its collections, the outbox new exchanges
 * publish through, the use cases the actions call, and the events it consumes.
 *
 *   service.ts (actions) ─> Registry, Recording, Drafting, Portal (portal actions), SettingsRepo
 *   Recording ─> contacts.listClientContacts, accounts.getUser (as the caller), notifications.sendContactEmail
 *   delivery.outcome ─> Recording.applyOutcomes;  contact.primaryChanged ─> RecipientAddresses
 *   InboundListener (SMTP) ─> Inbox ─> Recording.store, MailFiles
 */

export interface RunningEngine {
  registry: Registry;
  recording: Recording;
  drafting: Drafting;
  portal: Portal;
  settings: SettingsRepo;
  addresses: RecipientAddresses;
  files: MailFiles;
  stop(): Promise<void>;
}

/** `systemCall`: a broker call as the platform in an org, for what no signed-in user asks (an inbound e-mail). */
export async function startEngine(rt: ServiceRuntime, config: ExchangesConfig, log: Logger, systemCall: (orgId: string) => Call): Promise<RunningEngine> {
  const requests = InterventionRequests.open(rt.db);
  const exchanges = Exchanges.open(rt.db);
  const summaries = Summaries.open(rt.db, config.DB_UPDATE_BATCH);
  const drafts = Drafts.open(rt.db);
  const settings = SettingsRepo.open(rt.db);
  const addresses = RecipientAddresses.open(rt.db, config.DB_UPDATE_BATCH);
  await Promise.all([requests.init(), exchanges.init(), summaries.init(), drafts.init()]);
  const outbox = new Outbox({ events: rt.events, model: exchanges.raw, dbTimeoutMs: config.DB_TIMEOUT_MS, logger: log });
  await outbox.init();
  outbox.start();

  const registry = new Registry(requests, summaries);
  const recording = new Recording({
    registry,
    exchanges,
    summaries,
    settings,
    addresses,
    outbox,
    mailDomain: config.EXCHANGES_MAIL_DOMAIN,
    systemCall,
    log,
  });
  const drafting = new Drafting(drafts, registry, recording);
  const files = MailFiles.open(rt.db);
  const portal = new Portal({ requests, exchanges, summaries, files, settings, recording, call: systemCall });
  const inbox = new Inbox({ requests, exchanges, files, settings, recording, call: systemCall, mailDomain: config.EXCHANGES_MAIL_DOMAIN });
  const listener =
    config.INBOUND_SMTP_PORT === undefined
      ? null
      : await InboundListener.start({
          host: config.INBOUND_SMTP_HOST,
          port: config.INBOUND_SMTP_PORT,
          domain: config.EXCHANGES_MAIL_DOMAIN,
          maxBytes: config.INBOUND_MAX_BYTES,
          inbox,
          log,
        });

  const common = { group: 'exchanges', db: rt.db, dbTimeoutMs: config.DB_TIMEOUT_MS };
  const subscriptions: Subscription[] = [
    await rt.events.consume({ ...common, type: 'contact.primaryChanged', handle: (evs) => addresses.apply(evs) }),
    await rt.events.consume({ ...common, type: 'delivery.outcome', handle: (evs) => recording.applyOutcomes(evs) }),
  ];

  // E-mails left `sending` (the notifications service was down) are handed over again.
  const sweep = setInterval(
    () => void recording.resendStuck(config.EMAIL_RESEND_AFTER_MS).catch((err: Error) => log.warn({ error: err.message }, 'e-mail sweep failed')),
    Math.min(60_000, Math.max(200, Math.floor(config.EMAIL_RESEND_AFTER_MS / 2))),
  );
  sweep.unref();

  return {
    registry,
    recording,
    drafting,
    portal,
    settings,
    addresses,
    files,
    async stop() {
      clearInterval(sweep);
      await listener?.close();
      await Promise.all(subscriptions.map((s) => s.stop()));
      await outbox.stop();
    },
  };
}
