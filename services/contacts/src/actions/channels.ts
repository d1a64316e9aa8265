import type { ActionSchema } from 'moleculer';
import { STAFF, conflict, createdId, defineAction, forbidden, orgOf } from '@relais/shared';
import {
  WRITERS,
  addChannelInput,
  changeChannelInput,
  channelRefInput,
  listChannelsInput,
  qualifyChannelInput,
  removeChannelInput,
  type QualifyChannelInput,
} from '../api';
import {
  addChannel,
  changeChannel,
  listChannels,
  locate,
  problemError,
  removeChannel,
  setPrimary,
  type ChannelInput,
  type Outcome,
  type PartyChannels,
} from '../domain/channels';
import { checkObservation, type CheckedObservation } from '../domain/observation';
import { changedValue } from '../domain/partyChannels';
import { qualificationHistory, qualify, type QualificationCommand } from '../domain/qualification';
import type { FileRead } from '../files';
import type { ContactsDeps } from './deps';

/** The domain's accepted outcome, or its problem as the shared error (404/409/422). */
function accepted<T>(outcome: Outcome<T>): { ok: true } & T {
  if (!outcome.ok) throw problemError(outcome.problem);
  return outcome;
}

/** An observation checked against the org's list of sensitive terms (its settings, cached a few seconds), or its 422. */
async function checkedObservation(
  deps: ContactsDeps,
  orgId: string,
  text: string | null | undefined,
  acknowledged: readonly string[] | undefined,
): Promise<CheckedObservation | null> {
  const checked = checkObservation(text, await deps.settings.sensitiveList(orgId), acknowledged);
  if (!checked.ok) throw problemError(checked.problem);
  return checked.observation;
}

const channelNotFound = () => problemError({ code: 'not-found', message: 'This contact channel was not found on this file; it may have been removed.' });

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

/** The named party of a file, as the channel domain reads it. */
const partyOf = (file: FileRead): PartyChannels => file.parties.find((p) => p.partyId === file.doc._id)!;
/** The list view of one channel of the named party. */
const viewOf = (file: FileRead, channelId: string) => listChannels(partyOf(file), { showInvalid: true }).find((c) => c.id === channelId)!;
const listOf = (file: FileRead, options: { showInvalid?: boolean; file?: boolean } = { showInvalid: true }) => ({
  primaryChannelId: partyOf(file).primaryChannelId,
  items: (options.file ? file.parties : [partyOf(file)]).flatMap((p) => listChannels(p, options)),
});

/** A party's contact channels (seeds 000, 002): add, change, remove, star, qualify, and their history. */
export function channelActions(deps: ContactsDeps): Record<string, ActionSchema> {
  return {
    listChannels: defineAction({
      input: listChannelsInput,
      roles: STAFF,
      async handler({ partyId, showInvalid, file }, auth) {
        return listOf(await deps.files.read(auth.orgId, partyId), { showInvalid, file });
      },
    }),

    addChannel: defineAction({
      input: addChannelInput,
      roles: WRITERS,
      async handler(input, auth, ctx) {
        const observation = await checkedObservation(deps, auth.orgId, input.observation, input.acknowledgedTerms);
        const value = {
          kind: input.kind,
          type: input.type,
          number: input.number,
          address: input.kind === 'email' ? input.email : input.address,
        } as ChannelInput;
        const id = createdId(ctx, auth.orgId);
        return deps.files.changeChannels(auth, input.partyId, (file, stamp) => {
          const party = partyOf(file);
          // A retry of an addition whose answer was lost: the first one's channel is the outcome.
          if (party.channels.some((c) => c.id === id)) return { unchanged: viewOf(file, id) };
          if (file.doc.removedChannels?.some((r) => r.channel.id === id)) {
            throw conflict('The channel this request added has been removed since; add it again with another Idempotency-Key.');
          }
          const added = accepted(addChannel(party, { value, observation }, { ...stamp, id, orgRegion: orgOf(ctx).region }));
          return { changed: [added.party], primaryChanges: [added.primaryChange], result: (f) => viewOf(f, id) };
        });
      },
    }),

    changeChannel: defineAction({
      input: changeChannelInput,
      roles: WRITERS,
      async handler({ partyId, channelId, observation, acknowledgedTerms, ...fields }, auth, ctx) {
        const checked = observation === undefined ? undefined : await checkedObservation(deps, auth.orgId, observation, acknowledgedTerms);
        return deps.files.changeChannels(auth, partyId, (file, stamp) => {
          const party = partyOf(file);
          const current = party.channels.find((c) => c.id === channelId);
          if (!current) throw channelNotFound();
          const value = changedValue(current, fields);
          const changes = { ...(value ? { value } : {}), ...(checked !== undefined ? { observation: checked } : {}) };
          const changed = accepted(changeChannel(party, channelId, changes, { ...stamp, orgRegion: orgOf(ctx).region }));
          if (!changed.changed) return { unchanged: viewOf(file, channelId) };
          return { changed: [changed.party], primaryChanges: [changed.primaryChange], result: (f) => viewOf(f, channelId) };
        });
      },
    }),

    removeChannel: defineAction({
      input: removeChannelInput,
      roles: WRITERS,
      async handler({ partyId, channelId, erase, reason }, auth) {
        return deps.files.changeChannels(auth, partyId, (file, stamp) => {
          // Checked on the file read, so that another org's file is a 404 whatever the role.
          if (erase && auth.role !== 'admin')
            throw forbidden('Only an admin can erase a channel for good; remove it instead (it stays in the file as removed).');
          const party = partyOf(file);
          const removedBefore = file.doc.removedChannels?.find((r) => r.channel.id === channelId);
          // Erasing a channel already removed: nothing left to refuse, only its trace to drop.
          if (erase && removedBefore && !party.channels.some((c) => c.id === channelId)) {
            const erased = { channelId, kind: removedBefore.channel.kind, erasedAt: stamp.at, erasedBy: stamp.by, ...(reason ? { reason } : {}) };
            return { changed: [party], primaryChanges: [], erased, result: (f) => listOf(f) };
          }
          const removed = accepted(removeChannel(file.parties, party.partyId, channelId));
          const erased = erase ? { channelId, kind: removed.removed.kind, erasedAt: stamp.at, erasedBy: stamp.by, ...(reason ? { reason } : {}) } : undefined;
          return {
            changed: [removed.party],
            primaryChanges: [removed.primaryChange],
            ...(erased ? { erased } : { removed: { channel: removed.removed, removedAt: stamp.at, removedBy: stamp.by, ...(reason ? { reason } : {}) } }),
            result: (f) => listOf(f),
          };
        });
      },
    }),

    setPrimaryChannel: defineAction({
      input: channelRefInput,
      roles: WRITERS,
      async handler({ partyId, channelId }, auth) {
        return deps.files.changeChannels(auth, partyId, (file) => {
          const set = accepted(setPrimary(partyOf(file), channelId));
          if (!set.primaryChange) return { unchanged: listOf(file) };
          return { changed: [set.party], primaryChanges: [set.primaryChange], result: (f) => listOf(f) };
        });
      },
    }),

    qualifyChannel: defineAction({
      input: qualifyChannelInput,
      roles: WRITERS,
      async handler(input, auth) {
        const command = qualificationCommand(input);
        return deps.files.changeChannels(auth, input.partyId, (file, stamp) => {
          // The default rule holds across the file's debtors: the change may take the default off another one.
          const result = accepted(qualify(file.parties, input.partyId, input.channelId, command, stamp));
          return { changed: result.parties, primaryChanges: result.primaryChanges, result: (f) => viewOf(f, input.channelId) };
        });
      },
    }),

    channelHistory: defineAction({
      input: channelRefInput,
      roles: STAFF,
      async handler({ partyId, channelId }, auth) {
        const file = await deps.files.read(auth.orgId, partyId);
        const found = accepted(locate(file.parties, partyId, channelId));
        if (!found) throw channelNotFound();
        return { items: qualificationHistory(found.channel) };
      },
    }),
  };
}
