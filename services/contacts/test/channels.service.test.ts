import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import type { Connection } from 'mongoose';
import { DurableEvents, connectDatabase, type AuthContext, type BaseConfig, type Envelope, type Subscription } from '@relais/shared';
import { as, deleteTestStreams, dropTestDatabases, eventually, startNode, testConfig, uniqueNamespace, refusal } from '@relais/testing';
import { contactsService } from '../src/service';
import type { ChannelViewOutput, Person } from '../src/api';

type List = { primaryChannelId: string | null; items: ChannelViewOutput[] };
type History = { items: { action: string; from: string; to: string; by: string; summary: string; otherChannelId?: string }[] };

/**
 * A person's channels through the contacts service's actions, called from another broker as the
 * gateway calls them, over real NATS and the real database; contact.primaryChanged is read by a
 * durable consumer on its own connection, as the notifications service would.
 */
describe('contacts service: contact channels', function () {
  this.timeout(120_000);
  const reunion = { org: { region: 'RE', timeZone: 'Indian/Reunion' } };
  const orgId = randomUUID();
  const caseworker: AuthContext = { orgId, userId: randomUUID(), role: 'caseworker' };
  const agent: AuthContext = { orgId, userId: randomUUID(), role: 'agent' };
  const otherOrg: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
  const events: Envelope<'contact.primaryChanged'>[] = [];
  let config: BaseConfig;
  let client: ServiceBroker;
  let service: ServiceBroker;
  let bus: DurableEvents;
  let eventsDb: Connection;
  let sub: Subscription;

  const call = <T = ChannelViewOutput>(action: string, params: object, auth = caseworker, extra: object = {}) =>
    client.call<T, object>(`contacts.${action}`, params, as(auth, { ...reunion, ...extra }));
  const fails = refusal;
  const person = async () => (await call<Person>('createPerson', { lastName: 'Hoarau', firstName: 'Marie' }, agent)).id;
  const addMobile = (partyId: string, number = '0692 12 34 56') => call('addChannel', { partyId, kind: 'phone', type: 'mobile', number });
  const addEmail = (partyId: string, address: string) => call('addChannel', { partyId, kind: 'email', type: 'private', email: address });
  const list = (partyId: string, showInvalid?: string) => call<List>('listChannels', { partyId, ...(showInvalid ? { showInvalid } : {}) }, agent);
  const primaryEvents = (partyId: string) => events.filter((e) => e.data.partyId === partyId);
  const awaitEvents = (partyId: string, n: number) =>
    eventually(() => primaryEvents(partyId).length >= n && primaryEvents(partyId), { what: `${n} contact.primaryChanged of ${partyId}` });

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client');
    service = await startNode(config, 'contacts', [contactsService(config)]);
    await client.waitForServices(['contacts'], 30_000);
    bus = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'test' });
    eventsDb = await connectDatabase(config, 'contactstest');
    sub = await bus.consume({
      group: 'test',
      type: 'contact.primaryChanged',
      db: eventsDb,
      handle: (evs) => {
        events.push(...evs);
        return Promise.resolve();
      },
    });
  });

  after(async () => {
    await sub?.stop();
    await bus?.close();
    await eventsDb?.close();
    await Promise.all([client, service].map((b) => b?.stop()));
    if (config) {
      await Promise.allSettled([dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE), deleteTestStreams(config.NATS_URL, config.RELAIS_NAMESPACE)]);
    }
  });

  it('adds a mobile that becomes the primary, publishes it in E.164, and lists phones before e-mails', async () => {
    const partyId = await person();
    const email = await addEmail(partyId, 'Marie.Hoarau@Example.RE');
    const mobile = await addMobile(partyId);
    expect(email).to.deep.include({ kind: 'email', email: 'Marie.Hoarau@example.re', state: 'pending', primary: true, invalid: false });
    expect(mobile).to.deep.include({ kind: 'phone', type: 'mobile', display: '+262 692 12 34 56', state: 'pending', primary: false });
    expect(mobile.phone).to.deep.include({ e164: '+262692123456', region: 'RE' });

    const listed = await list(partyId);
    expect(listed.items.map((c) => c.id)).to.deep.equal([mobile.id, email.id]);
    expect(listed.primaryChannelId).to.equal(email.id);

    const [first] = await awaitEvents(partyId, 1);
    expect(first.orgId).to.equal(orgId);
    expect(first.data).to.deep.include({ partyId, previousChannelId: null, changedBy: caseworker.userId });
    expect(first.data.primary).to.deep.equal({ channelId: email.id, kind: 'email', type: 'private', value: 'Marie.Hoarau@example.re' });

    // Setting the primary moves the star and publishes the number in E.164.
    const moved = await call<List>('setPrimaryChannel', { partyId, channelId: mobile.id });
    expect(moved.primaryChannelId).to.equal(mobile.id);
    expect(moved.items.find((c) => c.id === mobile.id)!.primary).to.equal(true);
    const [, second] = await awaitEvents(partyId, 2);
    expect(second.data).to.deep.include({ previousChannelId: email.id });
    expect(second.data.primary).to.deep.equal({ channelId: mobile.id, kind: 'phone', type: 'mobile', value: '+262692123456' });
    // Setting it again changes nothing and publishes nothing.
    expect((await call<List>('setPrimaryChannel', { partyId, channelId: mobile.id })).primaryChannelId).to.equal(mobile.id);
    await new Promise((r) => setTimeout(r, 500));
    expect(primaryEvents(partyId)).to.have.length(2);
  });

  it('refuses a duplicate (409), a landline as a mobile (422 on type) and a postal address as primary (409)', async () => {
    const partyId = await person();
    await addMobile(partyId);
    const duplicate = await fails(call('addChannel', { partyId, kind: 'phone', type: 'private', number: '+262 692 12 34 56' }), 409);
    expect(duplicate.message).to.equal(
      '+262 692 12 34 56 is already on this file, as its mobile phone (pending qualification); the same value cannot be added twice.',
    );
    const landline = await fails(call('addChannel', { partyId, kind: 'phone', type: 'mobile', number: '0262 40 00 00' }), 422, /not a mobile number/);
    expect(landline.data!.errors!.map((e) => e.path)).to.deep.equal(['type']);
    const missing = await fails(call('addChannel', { partyId, kind: 'email', type: 'private' }), 422);
    expect(missing.data!.errors).to.deep.equal([{ path: 'email', message: 'is required for an e-mail: the address' }]);
    const postal = await call('addChannel', { partyId, kind: 'postal', address: { street: '12 rue des Lilas', postalCode: '97 400', city: 'Saint-Denis' } });
    expect(postal).to.deep.include({ display: '12 rue des Lilas, 97400 Saint-Denis', primary: false });
    await fails(call('setPrimaryChannel', { partyId, channelId: postal.id }), 409, /Only a phone number or an e-mail address can be the primary/);
  });

  it('replays an addition with the same Idempotency-Key, and adds another with a new one', async () => {
    const partyId = await person();
    const key = { idempotencyKey: `k-${randomUUID()}` };
    const first = await call('addChannel', { partyId, kind: 'email', type: 'professional', email: 'compta@acme.re' }, caseworker, key);
    const again = await call('addChannel', { partyId, kind: 'email', type: 'professional', email: 'compta@acme.re' }, caseworker, key);
    expect(again).to.deep.equal(first);
    expect((await list(partyId)).items).to.have.length(1);
    await fails(call('addChannel', { partyId, kind: 'email', type: 'professional', email: 'compta@acme.re' }, caseworker, { idempotencyKey: 'another' }), 409);
  });

  it('refuses to remove or invalidate the last phone or e-mail, and hands the star on when it can', async () => {
    const partyId = await person();
    const mobile = await addMobile(partyId);
    await fails(
      call('removeChannel', { partyId, channelId: mobile.id }),
      409,
      /must keep at least one phone number or e-mail address.*add another before removing/,
    );
    await fails(
      call('qualifyChannel', { partyId, channelId: mobile.id, action: 'invalidate', invalidity: { reason: 'numberNotAttributed' } }),
      409,
      /marking this one invalid/,
    );

    const email = await addEmail(partyId, 'marie@example.re');
    const invalid = await call('qualifyChannel', { partyId, channelId: mobile.id, action: 'invalidate', invalidity: { reason: 'numberNotAttributed' } });
    expect(invalid).to.deep.include({ state: 'invalid', invalid: true, primary: false });
    // Hidden by default (seed 002), listed and marked with showInvalid.
    expect((await list(partyId)).items.map((c) => c.id)).to.deep.equal([email.id]);
    const all = await list(partyId, 'true');
    expect(all.items.map((c) => [c.id, c.invalid])).to.deep.equal([
      [mobile.id, true],
      [email.id, false],
    ]);
    expect(all.primaryChannelId).to.equal(email.id);
    const published = await awaitEvents(partyId, 2);
    expect(published.map((e) => e.data.primary?.channelId ?? null)).to.deep.equal([mobile.id, email.id]);

    // Removing the invalid phone leaves the e-mail; the e-mail, now the last one, stays.
    const left = await call<List>('removeChannel', { partyId, channelId: mobile.id });
    expect(left.items.map((c) => c.id)).to.deep.equal([email.id]);
    await fails(call('removeChannel', { partyId, channelId: email.id }), 409);
    await fails(call('channelHistory', { partyId, channelId: mobile.id }, agent), 404, /not found on this file/);
  });

  it("publishes the new value when the primary's number changes, and the successor when the primary is removed", async () => {
    const partyId = await person();
    const mobile = await addMobile(partyId, '0692 11 22 33');
    const other = await addMobile(partyId, '0693 44 55 66');
    const changed = await call('changeChannel', { partyId, channelId: mobile.id, number: '0692 99 88 77' });
    expect(changed).to.deep.include({ display: '+262 692 99 88 77', state: 'pending', primary: true });
    await call('removeChannel', { partyId, channelId: mobile.id });
    const published = await awaitEvents(partyId, 3);
    expect(published.map((e) => e.data.primary?.value)).to.deep.equal(['+262692112233', '+262692998877', '+262693445566']);
    expect(published[2].data.previousChannelId).to.equal(mobile.id);
    expect((await list(partyId)).primaryChannelId).to.equal(other.id);
    // A type change alone keeps the qualification; a kind change is refused.
    expect(await call('changeChannel', { partyId, channelId: other.id, type: 'private' })).to.deep.include({ type: 'private', state: 'pending' });
    await fails(call('changeChannel', { partyId, channelId: other.id, email: 'marie@example.re' }), 422, /cannot become another kind of channel/);
  });

  it('validates with evidence, makes the default only with confirmation over another, and records it all in the history', async () => {
    const partyId = await person();
    const first = await addMobile(partyId, '0692 10 20 30');
    const second = await addMobile(partyId, '0692 40 50 60');
    const validate = (channelId: string) =>
      call('qualifyChannel', { partyId, channelId, action: 'validate', evidence: { kind: 'outboundCall', note: 'Spoke to Mrs Hoarau' } });

    await fails(call('qualifyChannel', { partyId, channelId: first.id, action: 'setDefault' }), 409, /Only a validated channel can be the default/);
    await fails(
      call('qualifyChannel', { partyId, channelId: first.id, action: 'validate', evidence: { kind: 'emailDelivered' } }),
      422,
      /cannot validate the mobile phone/,
    );
    await validate(first.id);
    expect(await call('qualifyChannel', { partyId, channelId: first.id, action: 'setDefault' })).to.deep.include({ state: 'default', isDefault: true });
    await validate(second.id);
    const refused = await fails(call('qualifyChannel', { partyId, channelId: second.id, action: 'setDefault' }), 409);
    expect(refused.message).to.equal(
      'The default phone of this file is the mobile phone +262 692 10 20 30; confirm to use the mobile phone +262 692 40 50 60 instead.',
    );
    expect(await call('qualifyChannel', { partyId, channelId: second.id, action: 'setDefault', confirm: true })).to.deep.include({ state: 'default' });
    expect((await list(partyId)).items.map((c) => c.state)).to.deep.equal(['validated', 'default']);

    const history = await call<History>('channelHistory', { partyId, channelId: first.id }, agent);
    expect(history.items.map((h) => [h.action, h.from, h.to])).to.deep.equal([
      ['defaultReplaced', 'default', 'validated'],
      ['setDefault', 'validated', 'default'],
      ['validate', 'pending', 'validated'],
    ]);
    expect(history.items[0].otherChannelId).to.equal(second.id);
    expect(history.items[2]).to.deep.include({ by: caseworker.userId, summary: 'validated: an outbound call got through (Spoke to Mrs Hoarau)' });
    await fails(call('qualifyChannel', { partyId, channelId: first.id, action: 'validate' }), 422, /evidence: is required to validate/);
    expect(await call('qualifyChannel', { partyId, channelId: first.id, action: 'cancel' })).to.deep.include({ state: 'pending' });
  });

  it('refuses a sensitive observation unless each term is acknowledged', async () => {
    const partyId = await person();
    const refused = await fails(
      call('addChannel', { partyId, kind: 'email', type: 'professional', email: 'daf@acme.re', observation: 'DAF, diabétique' }),
      422,
      /"diabétique" \(health\)/,
    );
    expect(refused.data!.errors).to.deep.equal([{ path: 'observation', message: '"diabétique": health' }]);
    const saved = await call('addChannel', {
      partyId,
      kind: 'email',
      type: 'professional',
      email: 'daf@acme.re',
      observation: ' DAF,  diabétique ',
      acknowledgedTerms: ['diabétique'],
    });
    expect(saved.observation).to.equal('DAF, diabétique');
    expect((await call('changeChannel', { partyId, channelId: saved.id, observation: null })).observation).to.equal(undefined);
  });

  it("answers 404 for another org's file and channels, and 403 to an agent who writes", async () => {
    const partyId = await person();
    const mobile = await addMobile(partyId);
    await fails(call('listChannels', { partyId }, otherOrg), 404, /Party was not found/);
    await fails(call('addChannel', { partyId, kind: 'email', type: 'private', email: 'x@example.re' }, otherOrg), 404);
    await fails(call('channelHistory', { partyId, channelId: mobile.id }, otherOrg), 404);
    await fails(call('removeChannel', { partyId, channelId: mobile.id }, otherOrg), 404);
    await fails(call('qualifyChannel', { partyId, channelId: randomUUID(), action: 'cancel' }), 404, /not found on this file/);
    await fails(call('addChannel', { partyId, kind: 'email', type: 'private', email: 'x@example.re' }, agent), 403);
    expect((await list(partyId)).items.map((c) => c.id)).to.deep.equal([mobile.id]);
  });
});
