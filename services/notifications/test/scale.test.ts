import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import { DurableEvents, type AuthContext, type BaseConfig } from '@relais/shared';
import { as, eventually, startNode, testConfig, uniqueNamespace } from '@relais/testing';
import { notificationsService } from '../src/service';
import { MemoryProvider, TestClock, notificationsTestConfig, publishPeopleWithMail, waitUntilApplied } from '@relais/testing/notifications';

/** Three notification instances on separate brokers share one slot: every person gets each SMS once. */
describe('notifications scale-out', function () {
  this.timeout(180_000);
  const people = 300;
  let config: BaseConfig;
  let client: ServiceBroker;
  const instances: ServiceBroker[] = [];
  let events: DurableEvents;
  const provider = new MemoryProvider();
  const clock = new TestClock(new Date('2026-09-07T08:00:00Z')); // Monday

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client');
    const notifConfig = notificationsTestConfig(config, { SEND_BATCH: '40' });
    for (let i = 0; i < 3; i++) {
      instances.push(await startNode(config, `notif-${i}`, [notificationsService(notifConfig, { smsProvider: provider, clock })]));
    }
    await client.waitForServices(['notifications'], 20_000);
    events = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'test' });
  });
  after(async () => {
    await events?.close();
    await Promise.all([client, ...instances].map((b) => b?.stop()));
  });

  it(`sends one SMS per person for a slot of ${people} people, none twice`, async () => {
    const admin: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
    await client.call(
      'notifications.updateSettings',
      { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' },
      as(admin, { org: { region: 'FR', timeZone: 'Europe/Paris' } }),
    );
    const ids = Array.from({ length: people }, () => randomUUID());
    const at = clock.now().toISOString();
    await publishPeopleWithMail(
      events,
      admin.orgId,
      ids.map((_, i) => `+3361${String(i).padStart(7, '0')}`),
      'letter',
      at,
    );
    await waitUntilApplied(config, admin.orgId, people, 60_000);
    clock.set('2026-09-08T17:00:05Z'); // Tuesday 19:00 Paris
    await eventually(() => provider.sent.length >= people, { timeoutMs: 90_000, what: `${people} SMS sent` });
    await new Promise((r) => setTimeout(r, 1500));
    const perPhone = new Map<string, number>();
    for (const m of provider.sent) perPhone.set(m.to, (perPhone.get(m.to) ?? 0) + 1);
    expect(perPhone.size).to.equal(people);
    expect([...perPhone.values()].every((n) => n === 1)).to.equal(true);
    const ops = await client.call<{ counts: Record<string, number> }, object>('notifications.deliveries', { limit: 1 }, as(admin));
    expect(ops.counts).to.deep.equal({ queued: people });
  });
});
