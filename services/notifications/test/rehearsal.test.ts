import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import { DurableEvents, makeEnvelope, type AuthContext, type BaseConfig } from '@relais/shared';
import { as, eventually, startNode, testConfig, uniqueNamespace, type Parsed } from '@relais/testing';
import { notificationsService } from '../src/service';
import { MemoryProvider, TestClock, notificationsTestConfig } from '@relais/testing/notifications';

/** The next slot in the settings answer, and a slot rehearsed now in a development stack (real database and NATS). */
describe('notifications: next slot and rehearsal', function () {
  this.timeout(120_000);
  // Monday 7 December 2026, 10:00 in Paris (winter time, UTC+1).
  const clock = new TestClock(new Date('2026-12-07T09:00:00Z'));
  const provider = new MemoryProvider();
  let config: BaseConfig;
  let client: ServiceBroker;
  let node: ServiceBroker;
  let events: DurableEvents;

  const newOrg = (broker: () => ServiceBroker = () => client) => {
    const admin: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
    const call = <T = Parsed>(action: string, params: object = {}) =>
      broker().call<T, object>(action, params, as(admin, { org: { region: 'FR', timeZone: 'Europe/Paris' } }));
    return { orgId: admin.orgId, call };
  };
  const mailFor = async (orgId: string, personId: string, phoneE164: string) => {
    const at = clock.now().toISOString();
    await events.publish([
      makeEnvelope('domiciliation.smsConsentChanged', orgId, { personId, consent: true, phoneE164, region: 'FR', changedAt: at, changedBy: 'u' }),
      makeEnvelope('mail.registered', orgId, { mailItemId: randomUUID(), personId, kind: 'letter', quantity: 2, registeredAt: at, registeredBy: 'u' }),
    ]);
  };

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client');
    node = await startNode(config, 'notifications', [
      notificationsService(notificationsTestConfig(config), { smsProvider: provider, clock, rehearsals: true }),
    ]);
    await client.waitForServices(['notifications'], 20_000);
    events = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'test' });
  });
  after(async () => {
    await events?.close();
    await Promise.all([client, node].map((b) => b?.stop()));
  });

  it('the settings give the next slot once SMS are on, in UTC and in the org zone', async () => {
    const org = newOrg();
    expect(await org.call('notifications.getSettings')).to.include({ nextSlotAt: null, nextSlotLocal: null });
    const saved = await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });
    expect(saved).to.include({ nextSlotAt: '2026-12-08T18:00:00.000Z', nextSlotLocal: '2026-12-08T19:00:00+01:00' });
  });

  it('a rehearsal sends now what the next slot would, once; the history names the provider', async () => {
    const org = newOrg();
    const off = await org.call('notifications.rehearse').catch((e) => e);
    expect(off.code).to.equal(409);
    await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });
    const person = randomUUID();
    await mailFor(org.orgId, person, '+33612345601');
    await eventually(async () => (await org.call('notifications.pendingMail', { personId: person })).counts.letter === 2, { what: 'mail known' });

    const rehearsal = await org.call('notifications.rehearse');
    expect(rehearsal).to.include({ slotAt: clock.now().toISOString(), deliveries: 1, nextSlotAt: '2026-12-08T18:00:00.000Z' });
    const history = await eventually(
      async () => {
        const h = await org.call('notifications.history', { personId: person });
        return h.entries[0]?.provider ? h : null;
      },
      { what: 'the rehearsed SMS sent' },
    );
    expect(history.entries).to.have.length(1);
    expect(history.entries[0]).to.include({ provider: 'memory', content: 'Bonjour, Vous avez reçu 2 nouveaux courriers CCAS' });
    expect(provider.sent.filter((m) => m.to === '+33612345601')).to.have.length(1);

    // The mail was announced: rehearsing again sends nothing.
    expect(await org.call('notifications.rehearse')).to.include({ deliveries: 0 });
  });

  it('is refused with 403 where rehearsals are off (production)', async () => {
    const prodConfig = testConfig(uniqueNamespace());
    const prodClient = await startNode(prodConfig, 'client');
    const prod = await startNode(prodConfig, 'notifications', [
      notificationsService(notificationsTestConfig(prodConfig), { smsProvider: new MemoryProvider(), clock }),
    ]);
    try {
      await prodClient.waitForServices(['notifications'], 20_000);
      const org = newOrg(() => prodClient);
      await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });
      const err = await org.call('notifications.rehearse').catch((e) => e);
      expect(err.code).to.equal(403);
      expect(err.message).to.match(/production/);
    } finally {
      await Promise.all([prodClient.stop(), prod.stop()]);
    }
  });
});
