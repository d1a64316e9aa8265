import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import { DurableEvents, makeEnvelope, type AuthContext, type BaseConfig, type MailKind } from '@relais/shared';
import { as, eventually, startNode, testConfig, uniqueNamespace } from '@relais/shared/testing';
import { notificationsService } from '../src/service';
import { MemoryProvider, TestClock, notificationsTestConfig } from './testkit';

/**
 * Seed 001's schedule over the real database and NATS, with a clock the test moves: the
 * notifications service is fed the events the domiciliation and mail services publish.
 */
describe('notifications: mail digests and reminders on the org clock', function () {
  this.timeout(120_000);
  let config: BaseConfig;
  let client: ServiceBroker;
  let node: ServiceBroker;
  let events: DurableEvents;
  const provider = new MemoryProvider();
  // Monday 15 June 2026, 10:00 in Paris.
  const clock = new TestClock(new Date('2026-06-15T08:00:00Z'));

  const newOrg = (zone = 'Europe/Paris', region = 'FR') => {
    const admin: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
    const call = <T = any>(action: string, params: object = {}) =>
      client.call(action, params, as(admin, { org: { region, timeZone: zone } })) as Promise<T>;
    return { admin, call, orgId: admin.orgId };
  };

  const publish = async (orgId: string, ...evs: Parameters<typeof makeEnvelope>[]) => {
    await events.publish(evs.map(([type, , data]) => makeEnvelope(type, orgId, data as never, { occurredAt: clock.now() })));
  };
  const consent = (orgId: string, personId: string, phoneE164: string | null, changedAt = clock.now()) =>
    publish(orgId, ['domiciliation.smsConsentChanged', orgId, { personId, consent: phoneE164 !== null, phoneE164, region: 'FR', changedAt: changedAt.toISOString(), changedBy: 'u' }]);
  const mail = (orgId: string, personId: string, kind: MailKind, quantity: number, at = clock.now()) => {
    const mailItemId = randomUUID();
    return publish(orgId, ['mail.registered', orgId, { mailItemId, personId, kind, quantity, registeredAt: at.toISOString(), registeredBy: 'u' }]).then(() => mailItemId);
  };
  const sentTo = (phone: string) => provider.sent.filter((m) => m.to === phone).map((m) => m.body);

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client');
    node = await startNode(config, 'notifications', [notificationsService(notificationsTestConfig(config, { MAX_LATENESS_MS: String(2 * 3600_000) }), { smsProvider: provider, clock })]);
    await client.waitForServices(['notifications'], 20_000);
    events = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'test' });
  });
  after(async () => {
    await events?.close();
    await Promise.all([client, node].map((b) => b?.stop()));
  });

  it('requires a sender id and a signature to switch SMS on; only admins change settings', async () => {
    const org = newOrg();
    const err = await org.call('notifications.updateSettings', { smsEnabled: true }).catch((e) => e);
    expect(err.code).to.equal(422);
    expect(err.data.errors.map((e: { path: string }) => e.path)).to.have.members(['senderId', 'signature']);
    const digits = await org.call('notifications.updateSettings', { smsEnabled: true, senderId: '0612', signature: 'CCAS' }).catch((e) => e);
    expect(digits.code).to.equal(422);
    const agent = { ...org.admin, role: 'agent' as const };
    const forbidden = await client.call('notifications.getSettings', {}, as(agent)).catch((e) => e);
    expect(forbidden.code).to.equal(403);
    const saved = await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS Paris', signature: 'CCAS' });
    expect(saved).to.include({ smsEnabled: true, senderId: 'CCAS Paris', timeZone: 'Europe/Paris' });
    expect(saved.sendDays).to.deep.equal([2, 4]);
  });

  it('previews every SMS with its encoding and segments', async () => {
    const org = newOrg();
    await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS de Lyon' });
    const { previews } = await org.call('notifications.preview', { templates: { 'mail.parcel': 'Colis: {{count}} {{signature}}' } });
    const letter = previews.find((p: { kind: string }) => p.kind === 'mail.letter');
    expect(letter).to.include({ text: 'Bonjour, Vous avez reçu 2 nouveaux courriers CCAS de Lyon', encoding: 'UCS-2', segments: 1 });
    expect(previews.find((p: { kind: string }) => p.kind === 'mail.parcel')).to.include({ text: 'Colis: 2 CCAS de Lyon', encoding: 'GSM-7' });
    const bad = await org.call('notifications.preview', { templates: { 'mail.parcel': 'Colis {{nom}}' } }).catch((e) => e);
    expect(bad.code).to.equal(422);
    expect(bad.message).to.match(/\{\{count\}\}/);
  });

  it('seed 001: 3 letters and 2 parcels on Monday give 2 SMS on Tuesday at 19:00 Paris; hand-over and withdrawn consent are honoured', async () => {
    const org = newOrg();
    await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });
    const lucas = randomUUID();
    const marie = randomUUID();
    const paul = randomUUID();
    await consent(org.orgId, lucas, '+33612345678');
    await consent(org.orgId, marie, '+33612345679');
    await consent(org.orgId, paul, '+33612345670');
    await mail(org.orgId, lucas, 'letter', 3);
    await mail(org.orgId, lucas, 'parcel', 1);
    await mail(org.orgId, lucas, 'parcel', 1);
    const parcel = await mail(org.orgId, marie, 'parcel', 1);
    await mail(org.orgId, paul, 'deliveryNotice', 2);
    await eventually(async () => (await org.call('notifications.pendingMail', { personId: paul })).counts.deliveryNotice === 2, { what: 'mail known' });
    // Marie collects her parcel on Monday evening; Paul withdraws his consent on Tuesday morning.
    await publish(org.orgId, ['mail.handedOver', org.orgId, { personId: marie, mailItemIds: [parcel], handedOverAt: '2026-06-15T17:00:00.000Z', handedOverBy: 'u' }]);
    await consent(org.orgId, paul, null, new Date('2026-06-16T07:00:00Z'));
    await eventually(async () => (await org.call('notifications.pendingMail', { personId: marie })).counts.parcel === 0, { what: 'hand-over known' });
    await new Promise((r) => setTimeout(r, 300));

    clock.set('2026-06-16T16:59:00Z'); // 18:59 in Paris: nothing yet
    await new Promise((r) => setTimeout(r, 400));
    expect(sentTo('+33612345678')).to.deep.equal([]);

    clock.set('2026-06-16T17:00:05Z');
    await eventually(() => sentTo('+33612345678').length === 2, { what: 'two SMS for Lucas' });
    expect(sentTo('+33612345678')).to.have.members([
      'Bonjour, Vous avez reçu 3 nouveaux courriers CCAS',
      'Bonjour, Vous avez reçu 2 nouveaux colis CCAS',
    ]);
    const history = await eventually(async () => {
      const h = await org.call('notifications.history', { personId: lucas });
      return h.entries.every((e: { status: string }) => e.status === 'queued') && h.entries.length === 2 && h;
    }, { what: 'history queued' });
    expect(history.entries[0]).to.include({ date: '2026-06-16T17:00:00.000Z', encoding: 'UCS-2', segments: 1 });
    expect(history.entries.map((e: { typeLabel: string }) => e.typeLabel)).to.have.members(['Courrier enregistré', 'Colis enregistré']);

    const marieHistory = await org.call('notifications.history', { personId: marie });
    expect(marieHistory.entries).to.have.length(1);
    expect(marieHistory.entries[0]).to.include({ status: 'cancelled', type: 'mail.parcel' });
    expect(marieHistory.entries[0].reason).to.match(/handed over before the slot/);
    const paulHistory = await org.call('notifications.history', { personId: paul });
    expect(paulHistory.entries[0]).to.include({ status: 'skipped' });
    expect(paulHistory.entries[0].reason).to.match(/not accepted SMS/);
    expect(sentTo('+33612345679').concat(sentTo('+33612345670'))).to.deep.equal([]);

    // The ops list counts the slot's deliveries by status.
    const ops = await org.call('notifications.deliveries', { from: '2026-06-16T00:00:00Z', to: '2026-06-17T00:00:00Z' });
    expect(ops.counts).to.deep.equal({ queued: 2, cancelled: 1, skipped: 1 });
    expect(ops.total).to.equal(4);
    const skippedOnly = await org.call('notifications.deliveries', { status: 'skipped' });
    expect(skippedOnly.items.map((i: { personId: string }) => i.personId)).to.deep.equal([paul]);

    // Nothing new by Thursday's slot: no SMS at all.
    clock.set('2026-06-18T17:00:05Z');
    await new Promise((r) => setTimeout(r, 600));
    expect(sentTo('+33612345678')).to.have.length(2);
  });
});
