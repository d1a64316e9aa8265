import { OUTBOX_KEEP, makeEnvelope, type Envelope } from '@relais/shared';
import type { PartyKind } from '../contract/vocabulary';
import type { Channel, ChannelInput, PartyChannels, PrimaryChange, Stamp } from './channels';
import { partyName, type PartyBase, type RemovedChannel } from './parties';

type NamedParty = PartyBase & { firstName?: string; lastName?: string; companyName?: string };

/**
 * The channels stored on a party's document, read as the channel domain reads them and written
 * back with the events of the change. Pure: ids, clock and user come from the caller.
 */

/** A party's document as the channel domain reads it (a file of one party). */
export function partyChannelsOf(doc: NamedParty): PartyChannels {
  return {
    partyId: doc._id,
    name: partyName(doc),
    channels: doc.channels ?? [],
    primaryChannelId: doc.primaryChannelId ?? null,
  };
}

/** One contact.primaryChanged event per change of the primary. */
export function primaryChangedEvents(
  orgId: string,
  changes: readonly (PrimaryChange | null)[],
  kindOf: (partyId: string) => PartyKind,
  stamp: Stamp,
  newId: () => string,
): Envelope[] {
  return changes.flatMap((change) =>
    change
      ? [
          makeEnvelope(
            'contact.primaryChanged',
            orgId,
            {
              partyId: change.partyId,
              partyKind: kindOf(change.partyId),
              previousChannelId: change.previousChannelId,
              primary: change.primary,
              changedAt: stamp.at.toISOString(),
              changedBy: stamp.by,
            },
            { id: newId(), occurredAt: stamp.at },
          ),
        ]
      : [],
  );
}

/**
 * The document after a change of its channels, at the next revision, holding the ids of the
 * events the change publishes (the outbox's proof that the write happened). The civil status
 * and its stamps are untouched: channels carry their own.
 */
export function withChannels<D extends PartyBase>(doc: D, party: PartyChannels, events: readonly Envelope[], removed?: RemovedChannel): D {
  return {
    ...doc,
    channels: party.channels,
    primaryChannelId: party.primaryChannelId,
    ...(removed ? { removedChannels: [...(doc.removedChannels ?? []), removed] } : {}),
    eventIds: [...(doc.eventIds ?? []), ...events.map((e) => e.id)].slice(-OUTBOX_KEEP),
    revision: doc.revision + 1,
  };
}

/** What PATCH fields mean for a channel of a given value: the new value in full, or none when only the observation changes. */
export function changedValue(
  current: Channel,
  fields: { kind?: 'phone' | 'email' | 'postal'; type?: string; number?: string; email?: string; address?: unknown },
): ChannelInput | undefined {
  const { type, number, email, address } = fields;
  if (type === undefined && number === undefined && email === undefined && address === undefined && fields.kind === undefined) return undefined;
  const kind = fields.kind ?? (number !== undefined ? 'phone' : email !== undefined ? 'email' : address !== undefined ? 'postal' : current.kind);
  if (kind === 'phone') {
    return {
      kind,
      type: (type ?? (current.kind === 'phone' ? current.type : 'mobile')) as never,
      number: number ?? (current.kind === 'phone' ? current.phone.e164 : ''),
    };
  }
  if (kind === 'email') {
    return {
      kind,
      type: (type ?? (current.kind === 'email' ? current.type : 'private')) as never,
      address: email ?? (current.kind === 'email' ? current.email : ''),
    };
  }
  const lines = address ?? (current.kind === 'postal' ? current.address : { street: '', city: '' });
  return { kind, address: lines as never };
}
