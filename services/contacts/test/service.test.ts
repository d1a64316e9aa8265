import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import type { AuthContext, BaseConfig } from '@relais/shared';
import { as, deleteTestStreams, dropTestDatabases, startNode, testConfig, uniqueNamespace } from '@relais/testing';
import { contactsService } from '../src/service';
import type { Person } from '../src/api';

describe('contacts service', function () {
  this.timeout(120_000);
  const orgId = randomUUID();
  const agent: AuthContext = { orgId, userId: randomUUID(), role: 'agent' };
  const caseworker: AuthContext = { orgId, userId: randomUUID(), role: 'caseworker' };
  const otherOrg: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
  const reunion = { org: { region: 'RE', timeZone: 'Indian/Reunion' } };
  let config: BaseConfig;
  let client: ServiceBroker;
  let service: ServiceBroker;

  const call = <T = Person>(action: string, params: object, auth = agent) => client.call<T, object>(action, params, as(auth, reunion));
  const rejects = async (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('accepted'),
      (err) => err,
    );
  const open = (fields: object = {}) => call('contacts.createPerson', { lastName: 'Doe', firstName: 'Sam', ...fields });

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client');
    service = await startNode(config, 'contacts', [contactsService(config)]);
    await client.waitForServices(['contacts'], 20_000);
  });
  after(async () => {
    await Promise.all([client, service].map((b) => b?.stop()));
    if (config) {
      await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
      await deleteTestStreams(config.NATS_URL, config.RELAIS_NAMESPACE);
    }
  });

  it('an agent opens a file (seed 001) that a caseworker reads, changes and finds again', async () => {
    const created = await open({
      lastName: ' Pierre ',
      firstName: 'Lucas',
      sex: 'male',
      birthDate: '1976-10-03',
      birthPlace: 'Saint Denis',
      spokenLanguage: 'FRA',
      customId: ' 3 ',
    });
    expect(created).to.deep.include({
      kind: 'person',
      lastName: 'Pierre',
      sex: 'male',
      spokenLanguage: 'fr',
      customId: '3',
      createdBy: agent.userId,
    });
    expect(await call('contacts.getPerson', { personId: created.id }, caseworker)).to.deep.equal(created);

    const updated = await call('contacts.updatePerson', { personId: created.id, usageName: 'Lulu', birthPlace: null }, caseworker);
    expect(updated).to.deep.include({ usageName: 'Lulu', birthDate: '1976-10-03', createdBy: agent.userId, updatedBy: caseworker.userId });
    expect(updated).not.to.have.property('birthPlace');

    const anne = await open({ lastName: 'Pièrre', firstName: 'Anne' });
    const found = await call<{ items: Person[]; nextCursor: string | null }>('contacts.searchPeople', { name: 'pier', limit: '1' });
    expect(found.items).to.deep.equal([anne]);
    const next = await call<{ items: Person[]; nextCursor: string | null }>('contacts.searchPeople', { name: 'pier', cursor: found.nextCursor });
    expect(next).to.deep.equal({ items: [updated], nextCursor: null });
    const byCustomId = await call<{ items: Person[] }>('contacts.searchPeople', { customId: created.customId, name: 'LULU' });
    expect(byCustomId.items.map((p) => p.id)).to.deep.equal([created.id]);
  });

  it("answers 404 for another org's files, and finds none of them", async () => {
    const person = await open({ customId: 'shared-ref' });
    expect((await rejects(call('contacts.getPerson', { personId: person.id }, otherOrg))).code).to.equal(404);
    const err = await rejects(call('contacts.updatePerson', { personId: person.id, firstName: 'Eve' }, otherOrg));
    expect(err.code).to.equal(404);
    expect(err.message).to.equal('Person was not found');
    expect((await call<{ items: Person[] }>('contacts.searchPeople', { customId: 'shared-ref' }, otherOrg)).items).to.deep.equal([]);
    // The other org may use the same identifier for its own file.
    expect((await call('contacts.createPerson', { lastName: 'Roe', firstName: 'Eve', customId: 'shared-ref' }, otherOrg)).customId).to.equal('shared-ref');
  });

  it('refuses a customId already used in the org (409), naming it', async () => {
    await open({ customId: 'D-42' });
    const again = await rejects(open({ customId: 'D-42' }));
    expect(again.code).to.equal(409);
    expect(again.message).to.equal('The identifier "D-42" is already used by another file of this organisation.');
    const other = await open({});
    const moved = await rejects(call('contacts.updatePerson', { personId: other.id, customId: ' D-42' }));
    expect(moved.code).to.equal(409);
    expect(moved.message).to.match(/"D-42"/);
  });

  it('explains invalid input in words a person understands (422)', async () => {
    const problem = async (action: string, params: object) => {
      const err = await rejects(call(action, params));
      expect(err.code).to.equal(422);
      return { message: err.message, errors: err.data.errors };
    };
    expect(await problem('contacts.createPerson', { lastName: 'Doe', firstName: 'Sam', colour: 'red' })).to.deep.equal({
      message: 'Invalid input: unknown field(s): colour',
      errors: [{ path: '', message: 'unknown field(s): colour' }],
    });
    expect((await problem('contacts.createPerson', { lastName: 'Doe', firstName: 'Sam', birthDate: '03/10/1976' })).message).to.equal(
      'Invalid input: birthDate: must be a date (YYYY-MM-DD)',
    );
    // Tomorrow in Réunion, the org's time zone, whatever the server's clock says.
    const tomorrow = new Date(Date.now() + 24 * 3600_000).toLocaleDateString('en-CA', { timeZone: 'Indian/Reunion' });
    expect(await problem('contacts.createPerson', { lastName: 'Doe', firstName: 'Sam', birthDate: tomorrow })).to.deep.equal({
      message: 'Invalid input: birthDate: cannot be in the future',
      errors: [{ path: 'birthDate', message: 'cannot be in the future' }],
    });
    expect((await problem('contacts.updatePerson', { personId: randomUUID(), birthDate: '1899-12-31' })).message).to.equal(
      'Invalid input: birthDate: must be on or after 1900-01-01',
    );
    expect((await problem('contacts.updatePerson', { personId: 'p-1', lastName: '' })).errors).to.deep.equal([
      { path: 'personId', message: 'must be a person id (UUID)' },
      { path: 'lastName', message: 'cannot be empty' },
    ]);
    expect((await problem('contacts.searchPeople', { limit: '0' })).message).to.equal('Invalid input: limit: must be at least 1');
  });
});
