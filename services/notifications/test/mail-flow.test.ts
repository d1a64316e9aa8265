import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import { connect } from 'nats';
import { connectDatabase, makeEnvelope, type AuthContext, type BaseConfig } from '@relais/shared';
import { as, eventually, startNode, testConfig, uniqueNamespace } from '@relais/testing';
import { mailService } from '@relais/mail';
import { notificationsService } from '../src/service';
import { MemoryProvider, notificationsTestConfig } from '@relais/testing/notifications';

/** Stands in for the domiciliation service: everyone is domiciled (its own tests cover the real rules). */
const everyoneDomiciled = {
  name: 'domiciliation',
  actions: {
    activeStatuses: (ctx: { params: { personIds: string[] } }) => ({
      statuses: ctx.params.personIds.map((personId) => ({ personId, active: true, status: 'active' })),
    }),
  },
};

/**
 * The proving flow across separate brokers over real NATS and the real database:
 * mail.register -> mail_items -> mail.registered (JetStream) -> notifications counts it once.
 */
describe('mail registered -> counted by notifications', function () {
  this.timeout(180_000);
  const orgA: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'agent' };
  let config: BaseConfig;
  let client: ServiceBroker;
  let mail: ServiceBroker;
  const notifications: ServiceBroker[] = [];

  const counts = (personId: string, auth = orgA) =>
    client.call<{ counts: Record<string, number> }, object>('notifications.pendingMail', { personId }, as(auth));
  const register = (personId: string, kind: string, auth = orgA) => client.call<{ id: string }, object>('mail.register', { personId, kind }, as(auth));
  const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client');
    mail = await startNode(config, 'mail', [mailService(config), everyoneDomiciled]);
    await client.waitForServices(['mail', 'domiciliation'], 20_000);
  });

  after(async () => {
    await Promise.all([client, mail, ...notifications].map((b) => b?.stop()));
  });

  it('two notifications instances count each event exactly once', async () => {
    notifications.push(await startNode(config, 'notif-1', [notificationsService(notificationsTestConfig(config), { smsProvider: new MemoryProvider() })]));
    notifications.push(await startNode(config, 'notif-2', [notificationsService(notificationsTestConfig(config), { smsProvider: new MemoryProvider() })]));
    await client.waitForServices(['notifications'], 20_000);
    const person = randomUUID();
    await Promise.all([...Array.from({ length: 30 }, () => register(person, 'letter')), ...Array.from({ length: 20 }, () => register(person, 'parcel'))]);
    const c = await eventually(
      async () => {
        const { counts: now } = await counts(person);
        return total(now) >= 50 && now;
      },
      { what: '50 items counted' },
    );
    // Let any late duplicate land before asserting it did not.
    await new Promise((r) => setTimeout(r, 1500));
    expect((await counts(person)).counts).to.deep.equal({ letter: 30, parcel: 20, deliveryNotice: 0 });
    expect(c.letter).to.equal(30);
  });

  it('counts all 1,000 items registered while notifications was stopped, none twice', async () => {
    await Promise.all(notifications.splice(0).map((b) => b.stop()));
    const people = Array.from({ length: 4 }, () => randomUUID());
    for (let i = 0; i < 1000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => register(people[(i + j) % 4], 'letter')));
    }
    notifications.push(await startNode(config, 'notif-3', [notificationsService(notificationsTestConfig(config), { smsProvider: new MemoryProvider() })]));
    await client.waitForServices(['notifications'], 20_000);
    for (const person of people) {
      await eventually(async () => (await counts(person)).counts.letter === 250, {
        timeoutMs: 120_000,
        what: '250 letters counted for each person',
      });
    }
    await new Promise((r) => setTimeout(r, 1500));
    for (const person of people) expect((await counts(person)).counts.letter).to.equal(250);
  });

  it('counts an event delivered twice once', async () => {
    const person = randomUUID();
    const env = makeEnvelope('mail.registered', orgA.orgId, {
      mailItemId: randomUUID(),
      personId: person,
      kind: 'deliveryNotice',
      quantity: 2,
      registeredAt: new Date().toISOString(),
      registeredBy: orgA.userId,
    });
    // Published without a message id, so JetStream stores and delivers both copies, as on a redelivery.
    const nc = await connect({ servers: config.NATS_URL });
    try {
      const js = nc.jetstream();
      const subject = `${config.RELAIS_NAMESPACE}.events.mail.registered`;
      const bytes = Buffer.from(JSON.stringify(env));
      await js.publish(subject, bytes);
      await js.publish(subject, bytes);
      await eventually(async () => (await counts(person)).counts.deliveryNotice === 2, { what: 'notice counted' });
      // Once more after losing the processed mark: the read model itself is keyed by mail item.
      const db = await connectDatabase(config, 'notifications');
      await db.collection('processed_events').deleteMany({});
      await db.close();
      await js.publish(subject, bytes);
      await new Promise((r) => setTimeout(r, 2000));
      expect((await counts(person)).counts.deliveryNotice).to.equal(2);
    } finally {
      await nc.close();
    }
  });

  it("does not show org A's mail to org B (404) nor let an unauthenticated caller in", async () => {
    const person = randomUUID();
    const item = await register(person, 'parcel');
    const orgB: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
    await client.call('mail.get', { mailItemId: item.id }, as(orgB)).then(
      () => expect.fail('org B read org A mail'),
      (err) => expect(err.code).to.equal(404),
    );
    expect((await client.call<{ id: string }, object>('mail.get', { mailItemId: item.id }, as(orgA))).id).to.equal(item.id);
    await client.call('mail.get', { mailItemId: item.id }).then(
      () => expect.fail('no auth accepted'),
      (err) => expect(err.code).to.equal(401),
    );
    await client.call('mail.register', { personId: person, kind: 'parcel', colour: 'red' }, as(orgA)).then(
      () => expect.fail('unknown key accepted'),
      (err) => {
        expect(err.code).to.equal(422);
        expect(err.message).to.match(/unknown field\(s\): colour/);
      },
    );
  });
});
