import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import { DurableEvents, makeEnvelope, type AuthContext } from '@relais/shared';
import { as, deleteTestStreams, dropTestDatabases, eventually, startNode, uniqueNamespace } from '@relais/testing';
import type { ExchangesConfig } from '../src/config';
import { exchangesService } from '../src/service';
import { exchangesTestConfig } from './fixtures';

/**
 * The default address of an exchange follows contact.primaryChanged, published as the contacts
 * service does, consumed by the exchanges service in its own broker, read from a third.
 */
describe("exchanges: a party's default address from contact.primaryChanged", function () {
  this.timeout(120_000);
  const orgId: string = randomUUID();
  const staff: AuthContext = { orgId, userId: randomUUID(), role: 'agent' };
  let config: ExchangesConfig;
  let client: ServiceBroker;
  let service: ServiceBroker;
  let bus: DurableEvents;

  const changed = (partyId: string, primary: { kind: 'phone' | 'email'; value: string } | null, changedAt: string, org = orgId) =>
    makeEnvelope('contact.primaryChanged', org, {
      partyId,
      partyKind: 'person',
      previousChannelId: null,
      primary: primary && { channelId: randomUUID(), kind: primary.kind, type: primary.kind === 'phone' ? 'mobile' : 'private', value: primary.value },
      changedAt,
      changedBy: staff.userId,
    });
  const address = (partyId: string, auth = staff) =>
    client.call<{ email: string | null; changedAt: string | null }, object>('exchanges.defaultAddress', { partyId }, as(auth));

  before(async () => {
    config = exchangesTestConfig(uniqueNamespace());
    service = await startNode(config, 'exchanges', [exchangesService(config)]);
    client = await startNode(config, 'client');
    await client.waitForServices(['exchanges'], 30_000);
    bus = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'contacts' });
  });

  after(async () => {
    await bus?.close();
    await Promise.all([client, service].map((b) => b?.stop()));
    if (config)
      await Promise.allSettled([dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE), deleteTestStreams(config.NATS_URL, config.RELAIS_NAMESPACE)]);
  });

  it('keeps the primary e-mail, forgets it when the primary becomes a phone, and ignores late and repeated events', async () => {
    const party = randomUUID();
    const first = changed(party, { kind: 'email', value: 'marie@example.re' }, '2027-01-01T09:00:00.000Z');
    await bus.publish([first]);
    await eventually(async () => (await address(party)).email === 'marie@example.re', { what: 'the primary e-mail' });

    await bus.publish([changed(party, { kind: 'phone', value: '+262692123456' }, '2027-01-01T10:00:00.000Z')]);
    await eventually(async () => (await address(party)).email === null && (await address(party)).changedAt === '2027-01-01T10:00:00.000Z', {
      what: 'no default e-mail',
    });

    // An older event delivered late, and the first one again under another message id: nothing changes.
    await bus.publish([changed(party, { kind: 'email', value: 'old@example.re' }, '2027-01-01T09:30:00.000Z'), { ...first, id: randomUUID() }]);
    const marker = randomUUID();
    await bus.publish([changed(marker, { kind: 'email', value: 'marker@example.re' }, '2027-01-01T11:00:00.000Z')]);
    await eventually(async () => (await address(marker)).email === 'marker@example.re', { what: 'the later marker event' });
    expect(await address(party)).to.deep.include({ email: null, changedAt: '2027-01-01T10:00:00.000Z' });
  });

  it("answers nothing of another org's party", async () => {
    const party = randomUUID();
    const other: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
    await bus.publish([changed(party, { kind: 'email', value: 'x@example.re' }, '2027-02-01T09:00:00.000Z', other.orgId)]);
    await eventually(async () => (await address(party, other)).email === 'x@example.re', { what: "the other org's address" });
    expect((await address(party)).email).to.equal(null);
  });
});
