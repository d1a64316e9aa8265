import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { connectDatabase } from '@relais/shared';
import { testConfig, uniqueNamespace } from '@relais/testing';
import { ClientContacts } from '../src/data/clientContacts';
import { newContact, nextNumber, tombstoneOf, updateContact, type ClientContactDoc, type ContactState } from '../src/domain/clientContacts';

const state = (name: string, fields: Partial<ContactState> = {}): ContactState => ({
  name,
  function: 'Comptable',
  displayOrder: 1,
  email: null,
  phones: [],
  address: null,
  addressCopiedFrom: null,
  routingRoles: [],
  endDate: null,
  ...fields,
});
const stamp = { by: 'u1', at: new Date() };

describe('client contacts repository (real database)', function () {
  this.timeout(60_000);
  const config = testConfig(uniqueNamespace());
  let db: Connection;
  let contacts: ClientContacts;
  const make = (orgId: string, partyId: string, number: number, fields: Partial<ContactState> = {}) =>
    newContact({ id: randomUUID(), orgId, partyId, number, state: state(`Contact ${number}`, fields) }, stamp);

  before(async () => {
    db = await connectDatabase(config, 'contacts');
    contacts = ClientContacts.open(db);
    await contacts.init();
  });
  after(async () => {
    await db?.dropDatabase();
    await db?.close();
  });

  it('stores a contact as the domain built it, nulls and nested data included', async () => {
    const [orgId, partyId] = [randomUUID(), randomUUID()];
    const doc = make(orgId, partyId, 1, {
      email: 'a@b.fr',
      phones: [{ type: 'mobile', phone: { e164: '+33612345678', region: 'FR', raw: '06 12 34 56 78', lineType: 'MOBILE' } }],
      address: { street: '1 rue A', postalCode: '75011', city: 'Paris', country: 'FR' },
      routingRoles: ['dueNotices'],
    });
    expect(await contacts.insert(doc)).to.equal(true);
    expect(await contacts.byNumber(orgId, partyId, 1)).to.deep.equal(doc);
    // A retried insert of the same document is told apart from a new one.
    expect(await contacts.insert(doc)).to.equal(false);
  });

  it('lets one of several creations computing the same number get it, on one client only', async () => {
    const [orgId, partyId, otherParty] = [randomUUID(), randomUUID(), randomUUID()];
    const racing = Array.from({ length: 6 }, (_, i) => make(orgId, partyId, 1, { name: `Racer ${i}` }));
    const inserted = await Promise.all(racing.map((d) => contacts.insert(d)));
    expect(inserted.filter(Boolean)).to.have.length(1);
    // The same number on another client, or in another org, is another contact.
    expect(await contacts.insert(make(orgId, otherParty, 1))).to.equal(true);
    expect(await contacts.insert(make(randomUUID(), partyId, 1))).to.equal(true);
    const docs = await contacts.ofParty(orgId, partyId);
    expect(docs.map((d) => d.number)).to.deep.equal([1]);
    expect(nextNumber(docs)).to.equal(2);
  });

  it('keeps a deleted contact as a tombstone that still holds its number, and lists in number order', async () => {
    const [orgId, partyId] = [randomUUID(), randomUUID()];
    for (const n of [2, 1, 3]) await contacts.insert(make(orgId, partyId, n, { email: `c${n}@x.fr` }));
    const deleted = await contacts.update(orgId, partyId, 3, (c) => tombstoneOf(c as ClientContactDoc, { by: 'admin', at: new Date() }, null));
    expect(deleted).to.include({ number: 3, deletedBy: 'admin', deletionReason: null });
    const raw = await db.collection('client_contacts').findOne({ orgId, partyId, number: 3 });
    expect(raw).to.not.have.any.keys('email', 'phones', 'consentLedger', 'revisions', 'consents');
    const docs = await contacts.ofParty(orgId, partyId);
    expect(docs.map((d) => d.number)).to.deep.equal([1, 2, 3]);
    expect(nextNumber(docs)).to.equal(4);
    expect(await contacts.insert(make(orgId, partyId, 3))).to.equal(false);
    // Another org sees none of them.
    expect(await contacts.ofParty(randomUUID(), partyId)).to.deep.equal([]);
    expect(await contacts.byNumber(randomUUID(), partyId, 1)).to.equal(null);
  });

  it('writes a change over the revision it was computed from, and nothing when nothing changes', async () => {
    const [orgId, partyId] = [randomUUID(), randomUUID()];
    await contacts.insert(make(orgId, partyId, 1));
    const changed = await contacts.update(orgId, partyId, 1, (c) => updateContact(c as ClientContactDoc, { function: 'DAF' }, stamp));
    expect(changed).to.include({ function: 'DAF', revision: 2 });
    expect(await contacts.update(orgId, partyId, 1, () => null)).to.deep.equal(changed);
    expect(await contacts.update(orgId, partyId, 9, () => null)).to.equal(null);
  });
});
