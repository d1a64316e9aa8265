import { expect } from 'chai';
import type { EventData } from '@relais/shared';
import { afterPrimaryChange, primaryView, type PrimaryChannel } from '../src/planning/primaries';

const orgId = 'org-1';
const partyId = 'party-1';
const mobile: PrimaryChannel = { channelId: 'c-mobile', kind: 'phone', type: 'mobile', value: '+262692123456' };
const landline: PrimaryChannel = { channelId: 'c-home', kind: 'phone', type: 'private', value: '+262262400000' };
const email: PrimaryChannel = { channelId: 'c-mail', kind: 'email', type: 'private', value: 'Marie.Hoarau@example.re' };

const changed = (primary: PrimaryChannel | null, changedAt: string, partyKind: 'person' | 'company' = 'person'): EventData<'contact.primaryChanged'> => ({
  partyId,
  partyKind,
  previousChannelId: null,
  primary,
  changedAt,
  changedBy: 'u',
});

describe("a party's primary channel (contact.primaryChanged)", () => {
  it('derives the e-mail from an e-mail primary and the mobile from a mobile phone only', () => {
    expect(primaryView(orgId, changed(email, '2027-03-01T09:00:00.000Z'))).to.deep.equal({
      orgId,
      partyId,
      partyKind: 'person',
      primary: email,
      email: 'Marie.Hoarau@example.re',
      mobile: null,
      changedAt: new Date('2027-03-01T09:00:00.000Z'),
    });
    expect(primaryView(orgId, changed(mobile, '2027-03-01T09:00:00.000Z'))).to.deep.include({ email: null, mobile: '+262692123456' });
    // A landline or a professional phone is a primary, but no SMS goes to it.
    expect(primaryView(orgId, changed(landline, '2027-03-01T09:00:00.000Z', 'company'))).to.deep.include({
      partyKind: 'company',
      primary: landline,
      email: null,
      mobile: null,
    });
  });

  it('a party left without a phone or e-mail has no primary, e-mail nor mobile', () => {
    expect(primaryView(orgId, changed(null, '2027-03-01T09:00:00.000Z'))).to.deep.include({ primary: null, email: null, mobile: null });
  });

  it('a newer event replaces the stored view, the first event gives the view', () => {
    const first = primaryView(orgId, changed(email, '2027-03-01T09:00:00.000Z'));
    const newer = primaryView(orgId, changed(mobile, '2027-03-01T09:00:01.000Z'));
    expect(afterPrimaryChange(null, first)).to.equal(first);
    expect(afterPrimaryChange(first, newer)).to.equal(newer);
    const removed = primaryView(orgId, changed(null, '2027-03-02T09:00:00.000Z'));
    expect(afterPrimaryChange(newer, removed)).to.equal(removed);
  });

  it('an older event delivered late changes nothing, and the same event again gives the same view', () => {
    const stored = primaryView(orgId, changed(mobile, '2027-03-01T09:00:01.000Z'));
    const older = primaryView(orgId, changed(email, '2027-03-01T09:00:00.999Z'));
    expect(afterPrimaryChange(stored, older)).to.equal(stored);
    const again = primaryView(orgId, changed(mobile, '2027-03-01T09:00:01.000Z'));
    expect(afterPrimaryChange(stored, again)).to.deep.equal(stored);
  });
});
