import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import type { Connection } from 'mongoose';
import { DurableEvents, connectDatabase, makeEnvelope, type AuthContext, type BaseConfig } from '@relais/shared';
import { as, eventually, startNode, testConfig, uniqueNamespace } from '@relais/testing';
import { notificationsService } from '../src/service';
import { MemoryProvider, TestClock, notificationsTestConfig } from '@relais/testing/notifications';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The notifications service is down across a slot while mail keeps being registered: the
 * `mail.registered` events wait in JetStream. When it comes back, the slot it catches up is
 * processed only once those events are applied, so nobody misses the SMS.
 */
describe('notifications: a slot caught up after an outage waits for the events stored before it', function () {
  this.timeout(180_000);
  const people = 600;
  let config: BaseConfig;
  let client: ServiceBroker;
  let node: ServiceBroker | undefined;
  let events: DurableEvents;
  let db: Connection;
  const provider = new MemoryProvider();
  // Monday 8 March 2027, 10:00 in Paris.
  const clock = new TestClock(new Date('2027-03-08T09:00:00Z'));
  const admin: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
  const meta = { org: { region: 'FR', timeZone: 'Europe/Paris' } };

  const startNotifications = () =>
    startNode(config, 'notifications', [notificationsService(notificationsTestConfig(config), { smsProvider: provider, clock })]);
  const registered = (personId: string, at: string) =>
    makeEnvelope('mail.registered', admin.orgId, { mailItemId: randomUUID(), personId, kind: 'letter', quantity: 1, registeredAt: at, registeredBy: 'u' });

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client');
    node = await startNotifications();
    await client.waitForServices(['notifications'], 20_000);
    events = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'test' });
    db = await connectDatabase(config, 'notifications');
  });
  after(async () => {
    await events?.close();
    await db?.close();
    await Promise.all([client, node].filter((b) => b !== undefined).map((b) => b.stop()));
  });

  it('every person with mail registered before the slot gets the SMS, although the events were applied after it', async () => {
    await client.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' }, as(admin, meta));
    const persons = Array.from({ length: people }, () => randomUUID());
    const phones = persons.map((_, i) => `+3361${String(i).padStart(7, '0')}`);
    await events.publish(
      persons.map((personId, i) =>
        makeEnvelope('domiciliation.smsConsentChanged', admin.orgId, {
          personId,
          consent: true,
          phoneE164: phones[i],
          region: 'FR',
          changedAt: clock.now().toISOString(),
          changedBy: 'u',
        }),
      ),
    );
    await eventually(async () => (await db.collection('recipient_consents').countDocuments({ orgId: admin.orgId })) === people, {
      timeoutMs: 60_000,
      what: 'consents applied',
    });

    // Down from Tuesday noon; the mail of the day is registered meanwhile.
    await node!.stop();
    node = undefined;
    clock.set('2027-03-09T12:00:00Z');
    for (let i = 0; i < people; i += 100) await events.publish(persons.slice(i, i + 100).map((p) => registered(p, clock.now().toISOString())));

    // Back one minute after Tuesday's 19:00 slot, while mail is still being registered (after the slot).
    clock.set('2027-03-09T18:01:00Z');
    let registering = true;
    const more = (async () => {
      for (let round = 0; registering && round < 200; round++) {
        await events.publish(Array.from({ length: 10 }, () => registered(randomUUID(), '2027-03-09T18:00:30.000Z')));
        await pause(25);
      }
    })();
    node = await startNotifications();
    const reached = () => new Set(provider.sent.map((m) => m.to)).size;
    try {
      await eventually(() => reached() === people, { timeoutMs: 60_000, what: 'every person reached' }).catch(async (err) => {
        const rows = await db.collection('deliveries').countDocuments({ orgId: admin.orgId });
        throw new Error(`${(err as Error).message}: ${reached()} of ${people} reached, ${rows} deliveries written`);
      });
    } finally {
      registering = false;
      await more;
    }
    await pause(500);
    expect(provider.sent).to.have.length(people);
    const history = await client.call<{ entries: object[] }, object>('notifications.history', { personId: persons[0] }, as(admin));
    const [entry] = history.entries;
    expect(entry).to.include({ date: '2027-03-09T18:00:00.000Z', type: 'mail.letter' });
  });
});
