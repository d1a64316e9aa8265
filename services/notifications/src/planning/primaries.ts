import type { EventData } from '@relais/shared';

/** A party's primary channel, as contact.primaryChanged carries it (the value is E.164 or the e-mail address). */
export type PrimaryChannel = NonNullable<EventData<'contact.primaryChanged'>['primary']>;

/** What notifications knows of a party's primary channel: one view per (org, party). */
export interface PrimaryView {
  orgId: string;
  partyId: string;
  partyKind: 'person' | 'company';
  /** Null when the party has no phone or e-mail left to be one. */
  primary: PrimaryChannel | null;
  /** The primary when it is an e-mail. */
  email: string | null;
  /** The primary when it is a phone of type mobile: the number an SMS may go to. */
  mobile: string | null;
  changedAt: Date;
}

/** The view a contact.primaryChanged event gives its party. Pure. */
export function primaryView(orgId: string, data: EventData<'contact.primaryChanged'>): PrimaryView {
  const primary = data.primary;
  return {
    orgId,
    partyId: data.partyId,
    partyKind: data.partyKind,
    primary,
    email: primary?.kind === 'email' ? primary.value : null,
    mobile: primary?.kind === 'phone' && primary.type === 'mobile' ? primary.value : null,
    changedAt: new Date(data.changedAt),
  };
}

/**
 * What an event's view does to the stored one: it replaces it unless the stored one is newer, so an
 * older event delivered late changes nothing, and the same event again leaves the same view. At the
 * same time the incoming view wins, as the database's guard (`changedAt <= incoming`) lets it. Pure.
 */
export function afterPrimaryChange(stored: PrimaryView | null, incoming: PrimaryView): PrimaryView {
  return stored && stored.changedAt.getTime() > incoming.changedAt.getTime() ? stored : incoming;
}
