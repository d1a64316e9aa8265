import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import type { Connection } from 'mongoose';
import { connectDatabase, type AuthContext, type BaseConfig } from '@relais/shared';
import { as, deleteTestStreams, dropTestDatabases, startNode, testConfig, uniqueNamespace, refusal } from '@relais/testing';
import { ContactSettings } from '../src/data/settings';
import { contactsService } from '../src/service';
import type { ChannelViewOutput, NoteView, Person } from '../src/api';

type Page = { items: NoteView[]; nextCursor: string | null };
type Terms = {
  defaults: { term: string; category: string; disabled: boolean }[];
  added: { term: string; category: string }[];
  updatedAt: string | null;
  updatedBy: string | null;
};

/**
 * The notepad of a file and the org's sensitive-term list through the contacts service's actions,
 * called from another broker as the gateway calls them, over real NATS and the real database.
 */
describe('contacts service: notes and sensitive terms', function () {
  this.timeout(120_000);
  const reunion = { org: { region: 'RE', timeZone: 'Indian/Reunion' } };
  const orgId = randomUUID();
  const caseworker: AuthContext = { orgId, userId: randomUUID(), role: 'caseworker' };
  const colleague: AuthContext = { orgId, userId: randomUUID(), role: 'manager' };
  const admin: AuthContext = { orgId, userId: randomUUID(), role: 'admin' };
  const agent: AuthContext = { orgId, userId: randomUUID(), role: 'agent' };
  const otherOrg: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
  let config: BaseConfig;
  let client: ServiceBroker;
  let service: ServiceBroker;
  let db: Connection;

  const call = <T = NoteView>(action: string, params: object, auth = caseworker, extra: object = {}) =>
    client.call<T, object>(`contacts.${action}`, params, as(auth, { ...reunion, ...extra }));
  const fails = refusal;
  const person = async (auth = agent) => (await call<Person>('createPerson', { lastName: 'Hoarau', firstName: 'Marie' }, auth)).id;
  const addNote = (partyId: string, text: string, auth = caseworker, extra: object = {}) => call('addNote', { partyId, text }, auth, extra);
  const list = (partyId: string, params: object = {}, auth = agent) => call<Page>('listNotes', { partyId, ...params }, auth);
  const addChannel = (partyId: string, observation: string, auth = caseworker, acknowledgedTerms?: string[]) =>
    call<ChannelViewOutput>(
      'addChannel',
      {
        partyId,
        kind: 'email',
        type: 'professional',
        email: `${randomUUID().slice(0, 8)}@acme.re`,
        observation,
        ...(acknowledgedTerms ? { acknowledgedTerms } : {}),
      },
      auth,
    );
  const setTerms = (terms: object, auth = admin) => call<Terms>('setSensitiveTerms', terms, auth);

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client');
    service = await startNode(config, 'contacts', [contactsService(config)]);
    await client.waitForServices(['contacts'], 30_000);
    // The service's own database, to look at what it stored and to open more instances of its settings.
    db = await connectDatabase(config, 'contacts');
  });

  after(async () => {
    await db?.close();
    await Promise.all([client, service].map((b) => b?.stop()));
    if (config) {
      await Promise.allSettled([dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE), deleteTestStreams(config.NATS_URL, config.RELAIS_NAMESPACE)]);
    }
  });

  describe('the notepad', () => {
    it('leaves notes that every staff role reads, newest first, page after page, with author and date', async () => {
      const partyId = await person();
      const first = await addNote(partyId, '  Called: promised to pay on the 15th.\nCall back if nothing comes.  ');
      expect(first).to.deep.include({
        partyId,
        text: 'Called: promised to pay on the 15th.\nCall back if nothing comes.',
        author: caseworker.userId,
        editedAt: null,
      });
      expect(Date.parse(first.createdAt)).to.be.closeTo(Date.now(), 10_000);
      const second = await addNote(partyId, 'Sent the payment plan.', colleague);
      const third = await addNote(partyId, 'Payment received.', admin);

      const page1 = await list(partyId, { limit: '2' });
      expect(page1.items.map((n) => n.id)).to.deep.equal([third.id, second.id]);
      const page2 = await list(partyId, { limit: '2', cursor: page1.nextCursor });
      expect(page2.items.map((n) => n.id)).to.deep.equal([first.id]);
      expect(page2.nextCursor).to.equal(null);
      // Another party's notepad is its own.
      expect((await list(await person())).items).to.deep.equal([]);
    });

    it('lets only the author edit, keeping the replaced text, and refuses anyone else with a 403', async () => {
      const partyId = await person();
      const note = await addNote(partyId, 'Promised a payment on the 15th.');
      const edited = await call('editNote', { partyId, noteId: note.id, text: 'Promised a payment on the 20th.' });
      expect(edited).to.deep.include({ id: note.id, text: 'Promised a payment on the 20th.', createdAt: note.createdAt });
      expect(edited.editedAt).to.be.a('string');
      expect(edited.history).to.deep.equal([{ text: 'Promised a payment on the 15th.', replacedAt: edited.editedAt }]);
      for (const who of [colleague, admin]) {
        await fails(call('editNote', { partyId, noteId: note.id, text: 'Changed' }, who), 403, /^Only its author can edit this note/);
      }
      await fails(call('addNote', { partyId, text: 'An agent writes' }, agent), 403);
      expect((await list(partyId)).items).to.deep.equal([edited]);
    });

    it('deletes a note by its author or an admin, no longer listed, and refuses a colleague', async () => {
      const partyId = await person();
      const mine = await addNote(partyId, 'Mine');
      const other = await addNote(partyId, 'Another one');
      await fails(call('deleteNote', { partyId, noteId: mine.id }, colleague), 403, /author or an admin/);
      expect(await call('deleteNote', { partyId, noteId: mine.id })).to.equal(null);
      expect(await call('deleteNote', { partyId, noteId: other.id }, admin)).to.equal(null);
      expect((await list(partyId)).items).to.deep.equal([]);
      await fails(call('deleteNote', { partyId, noteId: mine.id }), 404, /not found on this file/);
      await fails(call('editNote', { partyId, noteId: mine.id, text: 'Back' }), 404, /not found on this file/);
      // The deletion is recorded with who and when.
      const stored = await db.collection('notes').findOne({ _id: other.id as never });
      expect(stored).to.deep.include({ deletedBy: admin.userId });
      expect(stored!.deletedAt).to.be.instanceOf(Date);
    });

    it("answers 404 for another org's file and notes, and for a note of another file", async () => {
      const partyId = await person();
      const note = await addNote(partyId, 'Private to this org');
      await fails(list(partyId, {}, otherOrg), 404, /Party was not found/);
      await fails(addNote(partyId, 'x', otherOrg), 404, /Party was not found/);
      await fails(call('editNote', { partyId, noteId: note.id, text: 'x' }, otherOrg), 404);
      await fails(call('deleteNote', { partyId, noteId: note.id }, otherOrg), 404);
      // The other org's own file does not reach this org's note.
      const theirs = await person(otherOrg);
      await fails(call('deleteNote', { partyId: theirs, noteId: note.id }, otherOrg), 404, /not found on this file/);
      await fails(call('editNote', { partyId: await person(), noteId: note.id, text: 'x' }), 404, /not found on this file/);
      await fails(list(randomUUID()), 404);
      expect((await list(partyId)).items.map((n) => n.text)).to.deep.equal(['Private to this org']);
    });

    it('creates one note for a retried creation with the same Idempotency-Key, another with a new key', async () => {
      const partyId = await person();
      const key = { idempotencyKey: `k-${randomUUID()}` };
      const first = await addNote(partyId, 'Only once', caseworker, key);
      const again = await addNote(partyId, 'Only once', caseworker, key);
      expect(again).to.deep.equal(first);
      const other = await addNote(partyId, 'Only once', caseworker, { idempotencyKey: `k-${randomUUID()}` });
      expect(other.id).to.not.equal(first.id);
      expect((await list(partyId)).items.map((n) => n.id)).to.deep.equal([other.id, first.id]);
      // The same key on another file names a note that is not this file's.
      await fails(addNote(await person(), 'Only once', caseworker, key), 409, /another file/);
    });
  });

  describe('sensitive terms', () => {
    it("refuses an observation with the org's own term, with the warning, and leaves another org alone", async () => {
      const partyId = await person();
      const saved = await setTerms({ added: [{ term: 'huissier' }, { term: 'mauvais payeur', category: 'insult' }], disabled: [] });
      expect(saved.added).to.deep.equal([
        { term: 'huissier', category: 'org' },
        { term: 'mauvais payeur', category: 'insult' },
      ]);
      expect(saved.updatedBy).to.equal(admin.userId);
      const refused = await fails(addChannel(partyId, 'Voir avec les huissiers'), 422, /"huissiers" \(a term your organisation's list flags\)/);
      expect(refused.data!.errors).to.deep.equal([{ path: 'observation', message: `"huissiers": a term your organisation's list flags` }]);
      await fails(addChannel(partyId, 'DAF, Mauvais payeur'), 422, /"Mauvais payeur" \(an insulting or subjective judgement\)/);
      // Acknowledged, it is saved as it is.
      expect((await addChannel(partyId, 'Voir avec les huissiers', caseworker, ['huissier'])).observation).to.equal('Voir avec les huissiers');

      // Another org still has the default list only.
      const theirs = await person(otherOrg);
      expect((await addChannel(theirs, 'Voir avec les huissiers', otherOrg)).observation).to.equal('Voir avec les huissiers');
      const theirTerms = await call<Terms>('sensitiveTerms', {}, otherOrg);
      expect(theirTerms).to.deep.include({ added: [], updatedAt: null, updatedBy: null });
    });

    it('lets an observation with a disabled default term through, and the default terms still warn', async () => {
      const partyId = await person();
      await fails(addChannel(partyId, 'Comptable, pénible'), 422, /"pénible"/);
      const saved = await setTerms({ added: [], disabled: ['Pénible'] }, colleague);
      expect(saved.defaults.find((t) => t.term === 'pénible')).to.deep.equal({ term: 'pénible', category: 'insult', disabled: true });
      expect(saved.defaults.filter((t) => t.disabled)).to.have.length(1);
      expect((await addChannel(partyId, 'Comptable, pénible')).observation).to.equal('Comptable, pénible');
      // The change of an existing channel's observation reads the same list.
      const channel = await addChannel(partyId, 'Comptable');
      expect((await call<ChannelViewOutput>('changeChannel', { partyId, channelId: channel.id, observation: 'DAF pénible' })).observation).to.equal(
        'DAF pénible',
      );
      await fails(call('changeChannel', { partyId, channelId: channel.id, observation: 'DAF diabétique' }), 422, /"diabétique" \(health\)/);
      expect((await call<Terms>('sensitiveTerms', {}, agent)).defaults.find((t) => t.term === 'pénible')!.disabled).to.equal(true);
    });

    it('refuses a list with an unknown disabled term or a term already listed, and writers other than admins and managers', async () => {
      const before = await call<Terms>('sensitiveTerms', {}, admin);
      const refused = await fails(setTerms({ added: [{ term: 'Malades' }], disabled: ['huissier'] }), 422);
      expect(refused.data!.errors).to.deep.equal([
        { path: 'disabled.0', message: '"huissier" is not a term of the default list' },
        { path: 'added.0.term', message: '"Malades" is already in the list (an active default term or an earlier added term)' },
      ]);
      await fails(setTerms({ added: [{ term: '…' }], disabled: [] }), 422, /added\.0\.term: must contain a letter or a digit/);
      await fails(setTerms({ added: [], disabled: [] }, caseworker), 403);
      expect(await call<Terms>('sensitiveTerms', {}, admin)).to.deep.equal(before);
    });
  });

  it("keeps an org's list in memory for its TTL on other instances, and replaces it at once on the one that saves", async () => {
    const org = randomUUID();
    const saving = ContactSettings.open(db, 60_000);
    const other = ContactSettings.open(db, 2_000);
    const warns = async (settings: ContactSettings) => (await settings.sensitiveList(org)).terms.some((t) => t.term === 'huissier');
    expect([await warns(saving), await warns(other)]).to.deep.equal([false, false]);
    await saving.saveSensitiveTerms(org, { added: [{ term: 'huissier', category: 'org' }], disabled: [] }, admin.userId, new Date());
    expect([await warns(saving), await warns(other)]).to.deep.equal([true, false]);
    await new Promise((r) => setTimeout(r, 2_100));
    expect(await warns(other)).to.equal(true);
  });
});
