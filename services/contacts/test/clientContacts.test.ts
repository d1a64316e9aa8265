import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { parseInput } from '@relais/shared';
import { changeConsentInput, createClientContactInput, listClientContactsInput, updateClientContactInput } from '../src/api';
import type { Channel } from '../src/domain/channels';
import {
  applyConsent,
  byDisplayOrder,
  changesBetween,
  clientAddressOf,
  deletionProblem,
  deletionsView,
  defaultDisplayOrder,
  isValidOn,
  listed,
  newContact,
  nextNumber,
  readContactFields,
  recipientsOf,
  revisionsView,
  selfContactId,
  selfContactState,
  tombstoneOf,
  toContactView,
  updateContact,
  type ClientContactDoc,
  type ContactState,
  type StoredContact,
} from '../src/domain/clientContacts';
import { DEFAULT_CONSENTS, changeConsent, consentsFromLedger } from '../src/domain/consent';

const orgId = randomUUID();
const partyId = randomUUID();
const at = (minute: number) => new Date(Date.UTC(2026, 2, 12, 9, minute));
const stamp = (minute = 0, by = 'u1') => ({ by, at: at(minute) });

const state = (fields: Partial<ContactState> = {}): ContactState => ({
  name: 'Jeanne Payet',
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
const contact = (number: number, fields: Partial<ContactState> = {}): ClientContactDoc =>
  newContact({ id: randomUUID(), orgId, partyId, number, state: state({ name: `Contact ${number}`, ...fields }) }, stamp());

const qualification = (state: 'pending' | 'validated' | 'default' | 'invalid') => ({ state, history: [] });
const meta = { createdAt: at(0), createdBy: 'u', updatedAt: at(0), updatedBy: 'u' };
const postal = (id: string, street: string, q: 'pending' | 'validated' | 'default' | 'invalid'): Channel => ({
  kind: 'postal',
  address: { street, postalCode: '97400', city: 'Saint-Denis', country: 'FR' },
  id,
  qualification: qualification(q),
  ...meta,
});

describe('client contacts (seed 003)', () => {
  describe('numbering', () => {
    it('numbers 1 on a client without contacts, then one more than any it ever had', () => {
      expect(nextNumber([])).to.equal(1);
      expect(nextNumber([contact(1), contact(2)])).to.equal(3);
    });

    it('never gives again the number of a deleted contact: its tombstone keeps it', () => {
      const third = contact(3);
      const docs: StoredContact[] = [contact(1), contact(2), tombstoneOf(third, stamp(5, 'admin'), null)];
      expect(nextNumber(docs)).to.equal(4);
    });
  });

  describe('display order', () => {
    it('lists 1 first, and contacts of the same order by number', () => {
      const docs = [contact(1, { displayOrder: 3 }), contact(2, { displayOrder: 1 }), contact(3, { displayOrder: 3 }), contact(4, { displayOrder: 2 })];
      expect(listed(docs, null).map((d) => d.number)).to.deep.equal([2, 4, 1, 3]);
      expect([...docs].sort(byDisplayOrder).map((d) => d.number)).to.deep.equal([2, 4, 1, 3]);
    });

    it('puts a new contact last by default, deleted contacts aside', () => {
      expect(defaultDisplayOrder([])).to.equal(1);
      const fifth = contact(5, { displayOrder: 9 });
      expect(defaultDisplayOrder([contact(1, { displayOrder: 2 }), tombstoneOf(fifth, stamp(), null)])).to.equal(3);
    });
  });

  describe('validity on a date', () => {
    it('keeps a contact valid through its end date, and hides it after', () => {
      const ended = contact(1, { endDate: '2026-03-31' });
      expect(isValidOn(ended, '2026-03-31')).to.equal(true);
      expect(isValidOn(ended, '2026-04-01')).to.equal(false);
      expect(isValidOn(contact(2), '2099-01-01')).to.equal(true);
      expect(isValidOn(tombstoneOf(contact(3), stamp(), null), '2020-01-01')).to.equal(false);
    });

    it('lists the contacts valid on a day, or the whole history without one', () => {
      const docs = [contact(1, { endDate: '2026-01-31' }), contact(2), tombstoneOf(contact(3), stamp(), null)];
      expect(listed(docs, '2026-01-31').map((d) => d.number)).to.deep.equal([1, 2]);
      expect(listed(docs, '2026-02-01').map((d) => d.number)).to.deep.equal([2]);
      expect(listed(docs, null).map((d) => d.number)).to.deep.equal([1, 2]);
    });
  });

  describe('routing', () => {
    it('answers the valid contacts holding the role on the date, in display order', () => {
      const docs = [
        contact(1, { displayOrder: 2, routingRoles: ['dueNotices'] }),
        contact(2, { displayOrder: 1, routingRoles: ['dueNotices', 'unpaidReminders'] }),
        contact(3, { routingRoles: ['claimSettlements'] }),
        contact(4, { displayOrder: 1, routingRoles: ['dueNotices'], endDate: '2026-05-31' }),
        tombstoneOf(contact(5, { routingRoles: ['dueNotices'] }), stamp(), null),
      ];
      expect(recipientsOf(docs, 'dueNotices', '2026-05-31').map((d) => d.number)).to.deep.equal([2, 4, 1]);
      expect(recipientsOf(docs, 'dueNotices', '2026-06-01').map((d) => d.number)).to.deep.equal([2, 1]);
      expect(recipientsOf(docs, 'documentReminders', '2026-06-01')).to.deep.equal([]);
    });
  });

  describe('physical deletion', () => {
    it('is refused while the contact holds a role no other contact valid today holds, naming the role', () => {
      const target = contact(1, { routingRoles: ['dueNotices', 'unpaidReminders'] });
      const docs = [target, contact(2, { routingRoles: ['dueNotices'] }), contact(3, { routingRoles: ['unpaidReminders'], endDate: '2026-01-01' })];
      const problem = deletionProblem(target, docs, '2026-03-12');
      expect(problem?.status).to.equal(409);
      expect(problem?.message).to.match(/only recipient of unpaidReminders \(unpaid reminders\)/);
      expect(problem?.message).to.not.match(/dueNotices/);
    });

    it('is allowed when every role it holds has another valid holder, or when it holds none', () => {
      const target = contact(1, { routingRoles: ['dueNotices'] });
      expect(deletionProblem(target, [target, contact(2, { routingRoles: ['dueNotices'] })], '2026-03-12')).to.equal(null);
      expect(deletionProblem(contact(3), [contact(3)], '2026-03-12')).to.equal(null);
    });

    it('keeps only its number, name and function with who deleted it, when and why', () => {
      const doc = contact(4, { email: 'j@payet.re', routingRoles: ['dueNotices'] });
      const tomb = tombstoneOf(doc, stamp(9, 'admin'), 'Doublon');
      expect(tomb).to.deep.equal({
        _id: doc._id,
        orgId,
        partyId,
        number: 4,
        name: 'Contact 4',
        function: 'Comptable',
        revision: 2,
        deletedAt: at(9),
        deletedBy: 'admin',
        deletionReason: 'Doublon',
      });
      expect(deletionsView([doc, tomb]).items).to.deep.equal([
        { number: 4, name: 'Contact 4', function: 'Comptable', deletedAt: at(9).toISOString(), deletedBy: 'admin', reason: 'Doublon' },
      ]);
    });
  });

  describe('reading what staff typed', () => {
    const ctx = { orgRegion: 'RE', clientAddress: null };

    it('reads e-mail and phones exactly as contact channels (national numbers in the org region)', () => {
      const read = readContactFields({ email: ' Compta@PAYET.re ', phones: [{ type: 'mobile', number: '0692 12 34 56' }] }, ctx);
      expect(read.ok).to.equal(true);
      if (!read.ok) return;
      expect(read.fields.email).to.equal('Compta@payet.re');
      expect(read.fields.phones).to.deep.equal([{ type: 'mobile', phone: { e164: '+262692123456', region: 'RE', raw: '0692 12 34 56', lineType: 'MOBILE' } }]);
    });

    it('reports every wrong field at once with its path', () => {
      const read = readContactFields(
        {
          email: 'not-an-address',
          phones: [
            { type: 'mobile', number: '0262 12 34 56' },
            { type: 'private', number: '0692 12 34 56' },
            { type: 'professional', number: '+262 692 12 34 56' },
          ],
          address: { street: '', city: 'Saint-Denis' },
        },
        ctx,
      );
      expect(read.ok).to.equal(false);
      if (read.ok) return;
      expect(read.problem.status).to.equal(422);
      expect(read.problem.fields!.map((f) => f.path)).to.deep.equal(['email', 'phones.0.type', 'phones.2.number', 'address.street']);
      expect(read.problem.fields![0].message).to.match(/has no @/);
      expect(read.problem.fields![2].message).to.match(/already among this contact's phones/);
    });

    it("copies the client's postal address, its default one first, or says it has none", () => {
      const channels = [postal('p1', '1 rue A', 'pending'), postal('p2', '2 rue B', 'default'), postal('p3', '3 rue C', 'invalid')];
      expect(clientAddressOf(channels)?.channelId).to.equal('p2');
      const read = readContactFields({ copyClientAddress: true }, { orgRegion: 'RE', clientAddress: clientAddressOf(channels) });
      expect(read.ok && read.fields).to.deep.equal({ address: channels[1].kind === 'postal' && channels[1].address, addressCopiedFrom: 'p2' });
      const both = readContactFields(
        { copyClientAddress: true, address: { street: 'x', city: 'y' } },
        { orgRegion: 'RE', clientAddress: clientAddressOf(channels) },
      );
      expect(!both.ok && both.problem.fields).to.deep.equal([{ path: 'copyClientAddress', message: 'give either address or copyClientAddress, not both' }]);
      const none = readContactFields({ copyClientAddress: true }, { orgRegion: 'RE', clientAddress: clientAddressOf([postal('p3', '3 rue C', 'invalid')]) });
      expect(!none.ok && none.problem.fields).to.deep.equal([
        { path: 'copyClientAddress', message: 'the client has no postal address to copy: add one to its contact channels, or type the address' },
      ]);
    });

    it('refuses a contact without a name or a function, naming what is missing', () => {
      expect(() => parseInput(createClientContactInput, { partyId })).to.throw(/name: is required; function: is required/);
      expect(() => parseInput(createClientContactInput, { partyId, name: '  ', function: 'DAF' })).to.throw(/name: cannot be empty/);
      expect(() => parseInput(updateClientContactInput, { partyId, contactNumber: '1', function: '' })).to.throw(/function: cannot be empty/);
      expect(() => parseInput(createClientContactInput, { partyId, name: 'A', function: 'B', routingRoles: ['dueNotices', 'dueNotices'] })).to.throw(
        /lists a role twice/,
      );
      expect(parseInput(listClientContactsInput, { partyId, all: 'true', validAsOf: '2026-01-01' })).to.include({ all: true, validAsOf: '2026-01-01' });
      expect(parseInput(listClientContactsInput, { partyId }).all).to.equal(false);
      expect(() => parseInput(listClientContactsInput, { partyId, all: 'yes' })).to.throw(/all: must be true or false/);
      expect(() => parseInput(updateClientContactInput, { partyId, contactNumber: 'x' })).to.throw(/contactNumber: must be a contact number/);
    });
  });

  describe('changes and their revisions', () => {
    it('keeps the creation and each change with who, when and each field before and after', () => {
      const doc = contact(1, { routingRoles: ['dueNotices'] });
      expect(doc.revisions).to.have.length(1);
      expect(doc.revisions[0]).to.deep.include({ revision: 1, action: 'created', by: 'u1' });
      const changed = updateContact(doc, { function: 'DAF', endDate: '2026-12-31' }, stamp(5, 'u2'))!;
      expect(changed.revision).to.equal(2);
      expect(revisionsView(changed).items[0]).to.deep.equal({
        revision: 2,
        at: at(5).toISOString(),
        by: 'u2',
        action: 'updated',
        changes: [
          { field: 'function', from: 'Comptable', to: 'DAF' },
          { field: 'endDate', from: null, to: '2026-12-31' },
        ],
      });
      expect(updateContact(changed, { function: 'DAF' }, stamp(6))).to.equal(null);
    });

    it('shows phones, address and roles as people read them', () => {
      const phone = { type: 'mobile' as const, phone: { e164: '+262692123456', region: 'RE', raw: '0692123456', lineType: 'MOBILE' as const } };
      const changes = changesBetween(state(), state({ phones: [phone], routingRoles: ['dueNotices', 'claimSettlements'] }));
      expect(changes).to.deep.equal([
        { field: 'phones', from: null, to: 'mobile +262 692 12 34 56' },
        { field: 'routingRoles', from: null, to: 'dueNotices, claimSettlements' },
      ]);
    });
  });

  describe('consents', () => {
    const ctx = (minute: number) => ({ id: randomUUID(), ...stamp(minute) });

    it('start refused, commercial and partner e-mails included (CPCE L.34-5)', () => {
      expect(contact(1).consents).to.deep.equal({ electronicSignature: false, commercialEmails: false, partnerEmails: false });
      expect(DEFAULT_CONSENTS).to.deep.equal(contact(2).consents);
    });

    it('records a consent given with how it was collected and the wording shown, then its withdrawal', () => {
      const given = changeConsent(DEFAULT_CONSENTS, { consent: 'commercialEmails', granted: true, method: 'phone', wording: 'Offres ?' }, ctx(1));
      expect(given.ok && given.entry).to.deep.include({ consent: 'commercialEmails', granted: true, method: 'phone', wording: 'Offres ?', recordedBy: 'u1' });
      if (!given.ok) return;
      const withdrawn = changeConsent(given.consents, { consent: 'commercialEmails', granted: false, method: 'email' }, ctx(2));
      expect(withdrawn.ok && withdrawn.consents.commercialEmails).to.equal(false);
      expect(withdrawn.ok && withdrawn.entry).to.deep.include({ granted: false, method: 'email', wording: null });
      expect(consentsFromLedger([given.entry!, withdrawn.ok ? withdrawn.entry! : given.entry!])).to.deep.equal(DEFAULT_CONSENTS);
    });

    it('records nothing for a value the consent already has, and refuses a consent given without its wording', () => {
      expect(changeConsent(DEFAULT_CONSENTS, { consent: 'partnerEmails', granted: false, method: 'paper' }, ctx(1))).to.deep.include({ ok: true, entry: null });
      expect(changeConsent(DEFAULT_CONSENTS, { consent: 'partnerEmails', granted: true, method: 'paper' }, ctx(1))).to.deep.include({
        ok: false,
        field: 'wording',
      });
      const future = changeConsent(
        DEFAULT_CONSENTS,
        { consent: 'electronicSignature', granted: true, method: 'portal', wording: 'x', collectedAt: at(60) },
        ctx(1),
      );
      expect(future).to.deep.include({ ok: false, field: 'collectedAt' });
    });

    it('writes the entry in the ledger and a revision of the contact', () => {
      const doc = contact(1);
      const applied = applyConsent(doc, { consent: 'electronicSignature', granted: true, method: 'paper', wording: 'Signature électronique' }, ctx(3));
      expect(applied.ok).to.equal(true);
      if (!applied.ok) return;
      expect(applied.doc!.consents.electronicSignature).to.equal(true);
      expect(applied.doc!.consentLedger).to.deep.equal([applied.entry]);
      expect(applied.doc!.revisions.at(-1)).to.deep.include({ action: 'consent', changes: [{ field: 'consents.electronicSignature', from: 'no', to: 'yes' }] });
      expect(
        parseInput(changeConsentInput, { partyId, contactNumber: 2, consent: 'commercialEmails', granted: true, method: 'portal', wording: ' x ' }).wording,
      ).to.equal('x');
    });
  });

  describe('the client themself', () => {
    it("is an individual client's first contact, with the file's best e-mail, phones and address, and every role", () => {
      const email = (id: string, address: string, q: 'pending' | 'validated' | 'invalid'): Channel => ({
        kind: 'email',
        type: 'private',
        email: address,
        id,
        qualification: qualification(q),
        ...meta,
      });
      const channels = [email('e1', 'old@x.re', 'invalid'), email('e2', 'marie@x.re', 'pending'), postal('p1', '1 rue A', 'validated')];
      const s = selfContactState({ name: 'Marie Hoarau', channels });
      expect(s).to.deep.include({ name: 'Marie Hoarau', function: 'Client', displayOrder: 1, email: 'marie@x.re', addressCopiedFrom: 'p1', endDate: null });
      expect(s.routingRoles).to.deep.equal(['dueNotices', 'unpaidReminders', 'documentReminders', 'claimSettlements']);
      const doc = newContact({ id: selfContactId(orgId, partyId), orgId, partyId, number: 1, state: s, self: true }, stamp());
      expect(toContactView(doc, '2026-03-12')).to.deep.include({ number: 1, self: true, active: true });
      expect(doc.revisions[0].action).to.equal('createdFromClient');
      // The same id for every instance that creates it, another for another client.
      expect(selfContactId(orgId, partyId)).to.equal(doc._id).and.not.equal(selfContactId(orgId, randomUUID()));
    });
  });
});
