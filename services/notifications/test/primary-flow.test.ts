import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Context, ServiceBroker, ServiceSchema } from 'moleculer';
import type { Connection } from 'mongoose';
import { DurableEvents, connectDatabase, makeEnvelope, type AuthContext, type BaseConfig, type Envelope, type EventData } from '@relais/shared';
import { as, eventually, startNode, testConfig, uniqueNamespace } from '@relais/testing';
import { notificationsService } from '../src/service';
import { MemoryProvider, notificationsTestConfig } from '@relais/testing/notifications';

type Primary = EventData<'contact.primaryChanged'>['primary'];
type Answer = { partyId: string; primary: Primary; email: string | null; mobile: string | null; changedAt: string | null };

/**
 * contact.primaryChanged published from one broker (standing in for the contacts service) and
 * consumed by the notifications service in another, over real NATS and the real database.
 */
describe("notifications: each party's primary channel, from contact.primaryChanged", function () {
  this.timeout(120_000);
  const caseworker: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'caseworker' };
  const otherOrg: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
  const email = { channelId: randomUUID(), kind: 'email', type: 'private', value: 'Marie.Hoarau@example.re' } as const;
  const mobile = { channelId: randomUUID(), kind: 'phone', type: 'mobile', value: '+262692123456' } as const;
  const office = { channelId: randomUUID(), kind: 'phone', type: 'professional', value: '+262262400000' } as const;
  let config: BaseConfig;
  let contacts: ServiceBroker;
  let notifications: ServiceBroker;
  let bus: DurableEvents;
  let db: Connection;

  /** Stands in for the contacts service: publishes through the shared durable events, as its outbox does. */
  const publisher: ServiceSchema = {
    name: 'contacts',
    actions: {
      publish: (ctx: Context<{ envelopes: Envelope[] }>) => bus.publish(ctx.params.envelopes),
      // Stored again without a message id: a copy JetStream delivers as a new message, as a
      // republish after its duplicate window would be.
      publishCopy: async (ctx: Context<{ envelope: Envelope }>) => {
        await bus.connection.jetstream().publish(bus.subject(ctx.params.envelope.type), Buffer.from(JSON.stringify(ctx.params.envelope)));
      },
    },
    async started() {
      bus = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'contacts' });
    },
    async stopped() {
      await bus?.close();
    },
  };

  const changed = (partyId: string, primary: Primary, changedAt: string, partyKind: 'person' | 'company' = 'person') =>
    makeEnvelope('contact.primaryChanged', caseworker.orgId, { partyId, partyKind, previousChannelId: null, primary, changedAt, changedBy: caseworker.userId });
  const publish = (...envelopes: Envelope[]) => contacts.call('contacts.publish', { envelopes });
  /** Resolves once notifications has applied (and acknowledged) every event published so far. */
  const handled = async () => {
    const seq = await bus.lastSequence();
    await eventually(() => bus.backlogCleared('notifications', ['contact.primaryChanged'], seq), { what: 'contact.primaryChanged handled' });
  };
  const primaryContact = (partyId: string, auth = caseworker) => contacts.call<Answer, object>('notifications.primaryContact', { partyId }, as(auth));
  const stored = (partyId: string) => db.collection('recipient_primaries').findOne({ _id: `${caseworker.orgId}:${partyId}` as never });

  before(async () => {
    config = testConfig(uniqueNamespace());
    contacts = await startNode(config, 'contacts', [publisher]);
    notifications = await startNode(config, 'notifications', [notificationsService(notificationsTestConfig(config), { smsProvider: new MemoryProvider() })]);
    await contacts.waitForServices(['notifications'], 30_000);
    db = await connectDatabase(config, 'notifications');
  });
  after(async () => {
    await db?.close();
    await Promise.all([contacts, notifications].map((b) => b?.stop()));
  });

  it("keeps each party's latest primary, its e-mail and mobile, and answers it to the staff of its org", async () => {
    const person = randomUUID();
    await publish(changed(person, email, '2027-03-01T09:00:00.000Z'));
    await handled();
    expect(await primaryContact(person)).to.deep.equal({
      partyId: person,
      primary: email,
      email: email.value,
      mobile: null,
      changedAt: '2027-03-01T09:00:00.000Z',
    });

    await publish(changed(person, mobile, '2027-03-01T09:05:00.000Z'));
    await handled();
    expect(await primaryContact(person)).to.deep.equal({
      partyId: person,
      primary: mobile,
      email: null,
      mobile: mobile.value,
      changedAt: '2027-03-01T09:05:00.000Z',
    });
    expect(await stored(person)).to.deep.equal({
      _id: `${caseworker.orgId}:${person}`,
      orgId: caseworker.orgId,
      partyId: person,
      partyKind: 'person',
      primary: mobile,
      email: null,
      mobile: mobile.value,
      changedAt: new Date('2027-03-01T09:05:00.000Z'),
    });

    // No phone nor e-mail left: no primary.
    await publish(changed(person, null, '2027-03-02T10:00:00.000Z'));
    await handled();
    expect(await primaryContact(person)).to.deep.equal({ partyId: person, primary: null, email: null, mobile: null, changedAt: '2027-03-02T10:00:00.000Z' });

    // A company's office phone is its primary, but not a mobile.
    const company = randomUUID();
    await publish(changed(company, office, '2027-03-01T09:00:00.000Z', 'company'));
    await handled();
    expect(await primaryContact(company)).to.deep.include({ primary: office, email: null, mobile: null });
    expect(await stored(company)).to.deep.include({ partyKind: 'company' });

    // A party no event told of, or asked from another org: nothing known.
    const unknown = { primary: null, email: null, mobile: null, changedAt: null };
    expect(await primaryContact(randomUUID())).to.deep.include(unknown);
    expect(await primaryContact(company, otherOrg)).to.deep.equal({ partyId: company, ...unknown });
  });

  it('changes nothing for the same event twice, nor for an older event arriving late', async () => {
    const person = randomUUID();
    const latest = changed(person, mobile, '2027-03-01T09:05:00.000Z');
    await publish(latest);
    await handled();
    const before = await stored(person);
    const answer = await primaryContact(person);
    expect(answer).to.deep.include({ mobile: mobile.value, changedAt: '2027-03-01T09:05:00.000Z' });

    const seq = await bus.lastSequence();
    // Published again: JetStream drops the copy (same message id) within its duplicate window.
    await publish(latest);
    // A stored copy of it, and an older change published late (an outbox sweep after an outage).
    await contacts.call('contacts.publishCopy', { envelope: latest });
    await publish(changed(person, email, '2027-03-01T09:00:00.000Z'));
    expect((await bus.lastSequence()) - seq).to.equal(2);
    await handled();
    expect(await stored(person)).to.deep.equal(before);
    expect(await primaryContact(person)).to.deep.equal(answer);

    // Published together, the older one last: the newer wins, whether they come in one batch or two.
    const other = randomUUID();
    await publish(changed(other, mobile, '2027-03-01T09:05:00.000Z'), changed(other, email, '2027-03-01T09:00:00.000Z'));
    await handled();
    expect(await primaryContact(other)).to.deep.include({ primary: mobile, changedAt: '2027-03-01T09:05:00.000Z' });
  });
});
