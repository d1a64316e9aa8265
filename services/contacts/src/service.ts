import { randomUUID } from 'node:crypto';
import type { ServiceSchema } from 'moleculer';
import { Outbox, healthAction, openRuntime, type BaseConfig, type Logger, type ServiceRuntime, type Subscription } from '@relais/shared';
import { attachmentActions } from './actions/attachments';
import { channelActions } from './actions/channels';
import { clientContactActions } from './actions/clientContacts';
import { applyDeliveryOutcomes, applyExchangesRecorded, contactActionActions } from './actions/contactActions';
import type { ContactsDeps } from './actions/deps';
import { noteActions } from './actions/notes';
import { partyActions } from './actions/parties';
import { screeningActions } from './actions/screening';
import { settingsActions } from './actions/settings';
import { Attachments } from './data/attachments';
import { ClientContacts } from './data/clientContacts';
import { ContactActions } from './data/contactActions';
import { Notes } from './data/notes';
import { Parties } from './data/parties';
import { Register } from './data/register';
import { RescreenJobs, ScreeningLog } from './data/screening';
import { ContactSettings } from './data/settings';
import { SEARCH_VERSION } from './domain/search';
import { Files } from './files';
import { RESCREEN_DEFAULTS, Rescreen, clientContactSource, partySource, type RescreenOptions } from './rescreen';
import { REGISTER_REFRESH_MS, RegisterIndexCache, Screening } from './screening';

export const SERVICE = 'contacts';

export interface ContactsServiceOptions {
  /** Asset-freeze screening timings (tests shorten them): how often the publication is looked up, and the re-screen's. */
  screening?: { refreshMs?: number } & Partial<RescreenOptions>;
}

/** The contacts service: the files of the people and companies each org keeps, and their contact channels. */
export function contactsService(config: BaseConfig, options: ContactsServiceOptions = {}): ServiceSchema {
  let rt: ServiceRuntime | null = null;
  let outbox: Outbox | undefined;
  let subscriptions: Subscription[] = [];
  let backfill: { stop: AbortController; done: Promise<void> } | undefined;
  // Filled when the service starts; the actions read it at call time.
  const deps = {} as ContactsDeps;

  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),
      ...partyActions(deps),
      ...channelActions(deps),
      ...attachmentActions(deps),
      ...noteActions(deps),
      ...settingsActions(deps),
      ...contactActionActions(deps),
      ...clientContactActions(deps),
      ...screeningActions(deps),
    },

    async started() {
      rt = await openRuntime(config, SERVICE, this.logger);
      deps.parties = Parties.open(rt.db);
      await deps.parties.init();
      const logger = this.logger as unknown as Logger;
      // Parties stored with an older form of search keys get the current one, in the background so that the
      // service answers at once; until then a name search finds them only by whole words.
      const stop = new AbortController();
      backfill = {
        stop,
        done: deps.parties.backfillSearchKeys(config.DB_UPDATE_BATCH, stop.signal).then(
          (rewritten) => logger.info({ rewritten, searchVersion: SEARCH_VERSION }, 'search keys: parties of an older form rewritten'),
          (err: unknown) => logger.warn({ err: (err as Error).message }, 'search keys: backfill stopped by an error, resumed at the next start'),
        ),
      };
      deps.attachments = Attachments.open(rt.db, { maxBytes: config.ATTACHMENT_MAX_BYTES });
      await deps.attachments.init();
      outbox = new Outbox({ events: rt.events, model: deps.parties.raw, dbTimeoutMs: config.DB_TIMEOUT_MS, logger: this.logger });
      await outbox.init();
      outbox.start();
      deps.files = new Files(deps.parties, outbox);
      deps.notes = Notes.open(rt.db);
      deps.settings = ContactSettings.open(rt.db);
      await Promise.all([deps.notes.init(), deps.settings.init()]);
      deps.contactActions = ContactActions.open(rt.db);
      await deps.contactActions.init();
      deps.clientContacts = ClientContacts.open(rt.db);
      await deps.clientContacts.init();
      const register = Register.open(rt.db);
      const screeningLog = ScreeningLog.open(rt.db, config.DB_UPDATE_BATCH);
      const rescreenJobs = RescreenJobs.open(rt.db);
      await Promise.all([register.init(), screeningLog.init(), rescreenJobs.init()]);
      const cache = new RegisterIndexCache(register, options.screening?.refreshMs ?? REGISTER_REFRESH_MS, logger);
      deps.screening = new Screening(screeningLog, rescreenJobs, cache);
      const { refreshMs: _, ...rescreenOptions } = options.screening ?? {};
      deps.rescreen = new Rescreen(
        { jobs: rescreenJobs, log: screeningLog, cache, sources: [partySource(deps.parties.raw), clientContactSource(deps.clientContacts.raw)] },
        randomUUID(),
        { ...RESCREEN_DEFAULTS, ...rescreenOptions },
        logger,
      );
      deps.rescreen.start();
      const common = { group: SERVICE, db: rt.db, dbTimeoutMs: config.DB_TIMEOUT_MS };
      subscriptions = [
        await rt.events.consume({ ...common, type: 'delivery.outcome', handle: (evs) => applyDeliveryOutcomes(deps, evs) }),
        await rt.events.consume({ ...common, type: 'exchange.recorded', handle: (evs) => applyExchangesRecorded(deps, evs) }),
      ];
    },

    async stopped() {
      backfill?.stop.abort();
      await backfill?.done;
      await deps.rescreen?.stop();
      await Promise.all(subscriptions.map((s) => s.stop()));
      await outbox?.stop();
      await rt?.close();
      rt = null;
    },
  };
}
