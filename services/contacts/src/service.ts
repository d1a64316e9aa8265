import { randomUUID } from 'node:crypto';
import type { ServiceSchema } from 'moleculer';
import {
  Outbox,
  STAFF,
  conflict,
  createdId,
  defineAction,
  healthAction,
  isDuplicateKey,
  notFound,
  openRuntime,
  orgOf,
  validationError,
  type AuthContext,
  type BaseConfig,
  type Envelope,
  type Logger,
  type RelaisContext,
  type ServiceRuntime,
} from '@relais/shared';
import {
  CHANNEL_WRITERS,
  addChannelInput,
  changeChannelInput,
  channelRefInput,
  createPersonInput,
  getPersonInput,
  listChannelsInput,
  qualifyChannelInput,
  searchPeopleInput,
  updatePersonInput,
  type QualifyChannelInput,
} from './api';
import { ConcurrentChangeError, People } from './data/parties';
import {
  addChannel,
  changeChannel,
  listChannels,
  locate,
  problemError,
  removeChannel,
  setPrimary,
  type ChannelInput,
  type ChannelProblem,
  type Outcome,
  type PartyChannels,
  type PrimaryChange,
  type Stamp,
} from './domain/channels';
import { checkObservation, sensitiveList, type CheckedObservation } from './domain/observation';
import { changedValue, partyChannelsOf, primaryChangedEvents, withChannels } from './domain/partyChannels';
import {
  applyChanges,
  birthDateProblem,
  newPerson,
  page,
  peopleQuery,
  toPerson,
  todayIn,
  type PersonDoc,
  type RemovedChannel,
} from './domain/people';
import { qualificationHistory, qualify, type QualificationCommand } from './domain/qualification';

export const SERVICE = 'contacts';

/** Refuses a birth date before 1900 or after today in the org's time zone. */
function checkBirthDate(ctx: RelaisContext, birthDate: string | null | undefined, now: Date): void {
  if (birthDate == null) return;
  const problem = birthDateProblem(birthDate, todayIn(orgOf(ctx).timeZone, now));
  if (problem) throw validationError(`Invalid input: birthDate: ${problem}`, [{ path: 'birthDate', message: problem }]);
}

/** The 409 of a customId already used by another party of the org. */
function customIdTaken(customId: string | null | undefined) {
  return conflict(`The identifier "${customId}" is already used by another file of this organisation.`);
}

/** Writes of a file's channels that lose a race are decided again on the fresh document this many times. */
const ATTEMPTS = 3;

/** The domain's accepted outcome, or its problem as the shared error (404/409/422). */
function accepted<T>(outcome: Outcome<T>): { ok: true } & T {
  if (!outcome.ok) throw problemError(outcome.problem);
  return outcome;
}

/** An observation checked against the org's list of sensitive terms (the French default), or its 422. */
function checkedObservation(text: string | null | undefined, acknowledged: readonly string[] | undefined): CheckedObservation | null {
  const checked = checkObservation(text, sensitiveList(), acknowledged);
  if (!checked.ok) throw problemError(checked.problem as ChannelProblem);
  return checked.observation;
}

const channelNotFound = () => problemError({ code: 'not-found', message: 'This contact channel was not found on this file; it may have been removed.' });

/** What a decision on a file's channels writes: the party after it, its primary changes, and the answer. */
interface ChannelDecision<R> {
  party: PartyChannels;
  primaryChanges: readonly (PrimaryChange | null)[];
  removed?: RemovedChannel;
  result: (party: PartyChannels) => R;
}

function qualificationCommand(input: QualifyChannelInput): QualificationCommand {
  const dated = <T extends { occurredAt?: string }>({ occurredAt, ...rest }: T) => ({ ...rest, ...(occurredAt ? { occurredAt: new Date(occurredAt) } : {}) });
  switch (input.action) {
    case 'validate':
      return { action: 'validate', evidence: dated(input.evidence!) };
    case 'invalidate':
      return { action: 'invalidate', invalidity: dated(input.invalidity!) };
    case 'cancel':
      return { action: 'cancel' };
    case 'setDefault':
      return { action: 'setDefault', ...(input.confirm !== undefined ? { confirm: input.confirm } : {}) };
  }
}

/** The contacts service: the files of the people (and later companies) each org keeps. */
export function contactsService(config: BaseConfig): ServiceSchema {
  let rt: ServiceRuntime | null = null;
  let people: People;
  let outbox: Outbox;

  async function existing(auth: AuthContext, personId: string): Promise<PersonDoc> {
    const doc = await people.byId(auth.orgId, personId);
    if (!doc) throw notFound('Person');
    return doc;
  }

  /**
   * Reads the person's file, decides the change of its channels on it (a refusal throws), writes it
   * only if the file did not change meanwhile (else decides again on the fresh one), and publishes
   * its contact.primaryChanged events through the outbox. `decide` returning null changes nothing.
   */
  async function writeChannels<R>(
    auth: AuthContext,
    personId: string,
    decide: (party: PartyChannels, stamp: Stamp, doc: PersonDoc) => ChannelDecision<R> | { unchanged: R },
  ): Promise<R> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const doc = await existing(auth, personId);
      const stamp = { by: auth.userId, at: new Date() };
      const decision = decide(partyChannelsOf(doc), stamp, doc);
      if ('unchanged' in decision) return decision.unchanged;
      const events: Envelope[] = primaryChangedEvents(auth.orgId, decision.primaryChanges, stamp, randomUUID);
      const next = withChannels(doc, decision.party, events, decision.removed);
      const written = await outbox.write(events, [doc._id], async () => {
        const ok = await people.replace(auth.orgId, next, doc.revision);
        return { result: ok, applied: ok ? events : [] };
      });
      if (written) return decision.result(decision.party);
    }
    throw conflict("This file's contact channels were being changed by someone else at the same time; reload them and try again.");
  }

  /** The list view of one channel of the party. */
  const viewOf = (party: PartyChannels, channelId: string) => listChannels(party, { showInvalid: true }).find((c) => c.id === channelId)!;
  const listOf = (party: PartyChannels, showInvalid = true) => ({ primaryChannelId: party.primaryChannelId, items: listChannels(party, { showInvalid }) });

  return {
    name: SERVICE,
    actions: {
      health: healthAction(SERVICE, () => rt),

      // Reception agents open files too, so every staff role may create and update.
      createPerson: defineAction({
        input: createPersonInput,
        roles: STAFF,
        async handler(input, auth, ctx) {
          const now = new Date();
          checkBirthDate(ctx, input.birthDate, now);
          const doc = newPerson(input, auth, createdId(ctx, auth.orgId), now);
          try {
            await people.insert(doc);
          } catch (err) {
            if (!isDuplicateKey(err)) throw err;
            // A retry of a creation whose answer was lost: the first one's person is the outcome.
            const first = await people.byId(auth.orgId, doc._id);
            if (first) return toPerson(first);
            throw customIdTaken(input.customId);
          }
          return toPerson(doc);
        },
      }),

      // Other services call this to check that a person exists in the caller's org.
      getPerson: defineAction({
        input: getPersonInput,
        roles: STAFF,
        async handler({ personId }, auth) {
          const doc = await people.byId(auth.orgId, personId);
          if (!doc) throw notFound('Person');
          return toPerson(doc);
        },
      }),

      updatePerson: defineAction({
        input: updatePersonInput,
        roles: STAFF,
        async handler({ personId, ...changes }, auth, ctx) {
          const now = new Date();
          checkBirthDate(ctx, changes.birthDate, now);
          let doc: PersonDoc | null;
          try {
            doc = await people.update(auth.orgId, personId, (current) => applyChanges(current, changes, auth, now));
          } catch (err) {
            if (isDuplicateKey(err)) throw customIdTaken(changes.customId);
            if (err instanceof ConcurrentChangeError) {
              throw conflict('This file was being changed by someone else at the same time; reload it and try again.');
            }
            throw err;
          }
          if (!doc) throw notFound('Person');
          return toPerson(doc);
        },
      }),

      listChannels: defineAction({
        input: listChannelsInput,
        roles: STAFF,
        async handler({ personId, showInvalid }, auth) {
          return listOf(partyChannelsOf(await existing(auth, personId)), showInvalid);
        },
      }),

      addChannel: defineAction({
        input: addChannelInput,
        roles: CHANNEL_WRITERS,
        async handler(input, auth, ctx) {
          const observation = checkedObservation(input.observation, input.acknowledgedTerms);
          const value = { kind: input.kind, type: input.type, number: input.number, address: input.address } as ChannelInput;
          const id = createdId(ctx, auth.orgId);
          return writeChannels(auth, input.personId, (party, stamp, doc) => {
            // A retry of an addition whose answer was lost: the first one's channel is the outcome.
            if (party.channels.some((c) => c.id === id)) return { unchanged: viewOf(party, id) };
            if (doc.removedChannels?.some((r) => r.channel.id === id)) {
              throw conflict('The channel this request added has been removed since; add it again with another Idempotency-Key.');
            }
            const added = accepted(addChannel(party, { value, observation }, { ...stamp, id, orgRegion: orgOf(ctx).region }));
            return { party: added.party, primaryChanges: [added.primaryChange], result: (p) => viewOf(p, id) };
          });
        },
      }),

      changeChannel: defineAction({
        input: changeChannelInput,
        roles: CHANNEL_WRITERS,
        async handler({ personId, channelId, observation, acknowledgedTerms, ...fields }, auth, ctx) {
          const checked = observation === undefined ? undefined : checkedObservation(observation, acknowledgedTerms);
          return writeChannels(auth, personId, (party, stamp) => {
            const current = party.channels.find((c) => c.id === channelId);
            if (!current) throw channelNotFound();
            const value = changedValue(current, fields);
            const changes = { ...(value ? { value } : {}), ...(checked !== undefined ? { observation: checked } : {}) };
            const changed = accepted(changeChannel(party, channelId, changes, { ...stamp, orgRegion: orgOf(ctx).region }));
            if (!changed.changed) return { unchanged: viewOf(party, channelId) };
            return { party: changed.party, primaryChanges: [changed.primaryChange], result: (p) => viewOf(p, channelId) };
          });
        },
      }),

      removeChannel: defineAction({
        input: channelRefInput,
        roles: CHANNEL_WRITERS,
        async handler({ personId, channelId }, auth) {
          return writeChannels(auth, personId, (party, stamp) => {
            const removed = accepted(removeChannel([party], party.partyId, channelId));
            return {
              party: removed.party,
              primaryChanges: [removed.primaryChange],
              removed: { channel: removed.removed, removedAt: stamp.at, removedBy: stamp.by },
              result: (p) => listOf(p),
            };
          });
        },
      }),

      setPrimaryChannel: defineAction({
        input: channelRefInput,
        roles: CHANNEL_WRITERS,
        async handler({ personId, channelId }, auth) {
          return writeChannels(auth, personId, (party) => {
            const set = accepted(setPrimary(party, channelId));
            if (!set.primaryChange) return { unchanged: listOf(party) };
            return { party: set.party, primaryChanges: [set.primaryChange], result: (p) => listOf(p) };
          });
        },
      }),

      qualifyChannel: defineAction({
        input: qualifyChannelInput,
        roles: CHANNEL_WRITERS,
        async handler(input, auth) {
          const command = qualificationCommand(input);
          return writeChannels(auth, input.personId, (party, stamp) => {
            const done = accepted(qualify([party], party.partyId, input.channelId, command, stamp));
            // A file of one party: the change is this party's.
            const after = done.parties.find((p) => p.partyId === party.partyId) ?? party;
            return { party: after, primaryChanges: done.primaryChanges, result: (p) => viewOf(p, input.channelId) };
          });
        },
      }),

      channelHistory: defineAction({
        input: channelRefInput,
        roles: STAFF,
        async handler({ personId, channelId }, auth) {
          const party = partyChannelsOf(await existing(auth, personId));
          const found = accepted(locate([party], party.partyId, channelId));
          return { items: qualificationHistory(found.channel) };
        },
      }),

      searchPeople: defineAction({
        input: searchPeopleInput,
        roles: STAFF,
        async handler(input, auth) {
          const query = peopleQuery(input);
          return page(await people.search(auth.orgId, query), query.limit);
        },
      }),
    },

    async started() {
      rt = await openRuntime(config, SERVICE, this.logger as unknown as Logger);
      people = People.open(rt.db);
      await people.init();
      outbox = new Outbox({ events: rt.events, model: people.raw, dbTimeoutMs: config.DB_TIMEOUT_MS, logger: this.logger as never });
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
