import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import type { Connection } from 'mongoose';
import { connectDatabase, type AuthContext, type BaseConfig } from '@relais/shared';
import { as, deleteTestStreams, dropTestDatabases, startNode, testConfig, uniqueNamespace, refusal, type CallProblem } from '@relais/testing';
import { contactsService } from '../src/service';
import type { ClientContactView, Person, RecipientsView } from '../src/api';

type Problem = CallProblem;

/**
 * Client contacts through the contacts service's actions, called from another broker as the
 * gateway calls them, with two instances of the service sharing the work: numbers stay unique
 * and an individual client's own contact is created once whichever instance answers.
 */
describe('contacts service: client contacts across instances', function () {
  this.timeout(120_000);
  const reunion = { org: { region: 'RE', timeZone: 'Indian/Reunion' } };
  const orgId = randomUUID();
  const caseworker: AuthContext = { orgId, userId: randomUUID(), role: 'caseworker' };
  const admin: AuthContext = { orgId, userId: randomUUID(), role: 'admin' };
  let config: BaseConfig;
  let client: ServiceBroker;
  let services: ServiceBroker[] = [];
  let db: Connection;

  const call = <T = ClientContactView>(action: string, params: object, auth = caseworker, extra: object = {}) =>
    client.call<T, object>(`contacts.${action}`, params, as(auth, { ...reunion, ...extra }));
  const fails = refusal;
  const company = async () => (await call<{ id: string }>('createCompany', { companyName: `Payet ${randomUUID().slice(0, 6)}` })).id;

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client');
    services = [await startNode(config, 'contacts-1', [contactsService(config)]), await startNode(config, 'contacts-2', [contactsService(config)])];
    await client.waitForServices(['contacts'], 30_000);
    db = await connectDatabase(config, 'contacts');
  });

  after(async () => {
    await db?.close();
    await Promise.all([client, ...services].map((b) => b?.stop()));
    if (config) {
      await Promise.allSettled([dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE), deleteTestStreams(config.NATS_URL, config.RELAIS_NAMESPACE)]);
    }
  });

  it('gives each of many concurrent creations on one client its own number, whichever instance serves it', async () => {
    const partyId = await company();
    const made = await Promise.all(Array.from({ length: 10 }, (_, i) => call('createClientContact', { partyId, name: `C${i}`, function: 'Agent' })));
    expect(made.map((c) => c.number).sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const stored = await db.collection('client_contacts').find({ orgId, partyId }).toArray();
    expect(new Set(stored.map((d) => d.number)).size).to.equal(10);
  });

  it("creates an individual client's own contact once when both instances are asked first at once", async () => {
    const person = await call<Person>('createPerson', { lastName: 'Hoarau', firstName: 'Marie' });
    const lists = await Promise.all(Array.from({ length: 6 }, () => call<{ items: ClientContactView[] }>('listClientContacts', { partyId: person.id })));
    for (const l of lists) expect(l.items.map((c) => [c.number, c.self])).to.deep.equal([[1, true]]);
    expect(await db.collection('client_contacts').countDocuments({ orgId, partyId: person.id })).to.equal(1);
  });

  it('records a consent once when a request is retried with its Idempotency-Key', async () => {
    const partyId = await company();
    const { number } = await call('createClientContact', { partyId, name: 'Jeanne', function: 'DAF' });
    const change = { partyId, contactNumber: number, consent: 'partnerEmails', granted: true, method: 'paper', wording: 'Partenaires ?' };
    const key = { idempotencyKey: randomUUID() };
    type Change = { entry: { id: string } | null };
    const first = await call<Change>('changeClientContactConsent', change, caseworker, key);
    // Withdrawn meanwhile by someone else, the retry still answers the first entry and changes nothing.
    await call('changeClientContactConsent', { ...change, granted: false, wording: undefined }, admin);
    const retry = await call<Change>('changeClientContactConsent', change, caseworker, key);
    expect(retry.entry?.id).to.equal(first.entry?.id);
    const ledger = await call<{ consents: { partnerEmails: boolean }; items: unknown[] }>('clientContactConsents', { partyId, contactNumber: number });
    expect(ledger.items).to.have.length(2);
    expect(ledger.consents.partnerEmails).to.equal(false);
  });

  it('answers the platform who receives a role, in the time zone it gives, and refuses an unknown zone with a 422', async () => {
    const partyId = await company();
    await call('createClientContact', { partyId, name: 'Jeanne', function: 'DAF', routingRoles: ['dueNotices'], email: 'daf@payet.re' });
    const system = { meta: { system: true } };
    const answer = await client.call<RecipientsView, object>('contacts.recipientsFor', { orgId, partyId, role: 'dueNotices', date: '2026-01-15' }, system);
    expect(answer).to.deep.include({ partyId, role: 'dueNotices', date: '2026-01-15' });
    expect(answer.items.map((r) => [r.number, r.email])).to.deep.equal([[1, 'daf@payet.re']]);
    const bad = await client.call('contacts.recipientsFor', { orgId, partyId, role: 'dueNotices', timeZone: 'Mars/Olympus' }, system).then(
      () => null,
      (e: Problem) => e,
    );
    expect(bad?.code).to.equal(422);
    // Another org's client is no client.
    await fails(client.call('contacts.recipientsFor', { orgId: randomUUID(), partyId, role: 'dueNotices' }, system), 404);
  });
});
