import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import { DurableEvents, makeEnvelope, type AuthContext, type BaseConfig, type MailKind } from '@relais/shared';
import { as, eventually, startNode, testConfig, uniqueNamespace, type Parsed } from '@relais/testing';
import { notificationsService } from '../src/service';
import { MemoryProvider, ProviderError, TestClock, notificationsTestConfig } from '@relais/testing/notifications';

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
    const call = <T = Parsed>(action: string, params: object = {}) => client.call<T, object>(action, params, as(admin, { org: { region, timeZone: zone } }));
    return { admin, call, orgId: admin.orgId };
  };

  const publish = async (orgId: string, ...evs: Parameters<typeof makeEnvelope>[]) => {
    await events.publish(evs.map(([type, , data]) => makeEnvelope(type, orgId, data as never, { occurredAt: clock.now() })));
  };
  const consent = (orgId: string, personId: string, phoneE164: string | null, changedAt = clock.now()) =>
    publish(orgId, [
      'domiciliation.smsConsentChanged',
      orgId,
      { personId, consent: phoneE164 !== null, phoneE164, region: 'FR', changedAt: changedAt.toISOString(), changedBy: 'u' },
    ]);
  const mail = (orgId: string, personId: string, kind: MailKind, quantity: number, at = clock.now()) => {
    const mailItemId = randomUUID();
    return publish(orgId, ['mail.registered', orgId, { mailItemId, personId, kind, quantity, registeredAt: at.toISOString(), registeredBy: 'u' }]).then(
      () => mailItemId,
    );
  };
  const sentTo = (phone: string) => provider.sent.filter((m) => m.to === phone).map((m) => m.body);

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client');
    node = await startNode(config, 'notifications', [
      notificationsService(notificationsTestConfig(config, { MAX_LATENESS_MS: String(2 * 3600_000) }), { smsProvider: provider, clock }),
    ]);
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
    const forbidden = (await client.call('notifications.getSettings', {}, as(agent)).catch((e) => e)) as { code: number };
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
    await publish(org.orgId, [
      'mail.handedOver',
      org.orgId,
      { personId: marie, mailItemIds: [parcel], handedOverAt: '2026-06-15T17:00:00.000Z', handedOverBy: 'u' },
    ]);
    await consent(org.orgId, paul, null, new Date('2026-06-16T07:00:00Z'));
    await eventually(async () => (await org.call('notifications.pendingMail', { personId: marie })).counts.parcel === 0, { what: 'hand-over known' });
    await new Promise((r) => setTimeout(r, 300));

    clock.set('2026-06-16T16:59:00Z'); // 18:59 in Paris: nothing yet
    await new Promise((r) => setTimeout(r, 400));
    expect(sentTo('+33612345678')).to.deep.equal([]);

    clock.set('2026-06-16T17:00:05Z');
    await eventually(() => sentTo('+33612345678').length === 2, { what: 'two SMS for Lucas' });
    expect(sentTo('+33612345678')).to.have.members(['Bonjour, Vous avez reçu 3 nouveaux courriers CCAS', 'Bonjour, Vous avez reçu 2 nouveaux colis CCAS']);
    const history = await eventually(
      async () => {
        const h = await org.call('notifications.history', { personId: lucas });
        return h.entries.every((e: { status: string }) => e.status === 'queued') && h.entries.length === 2 && h;
      },
      { what: 'history queued' },
    );
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

  it("sends at each org's own 19:00: Réunion (UTC+4) and Martinique (UTC-4, still Tuesday when Paris is Wednesday)", async () => {
    const reunion = newOrg('Indian/Reunion', 'RE');
    const martinique = newOrg('America/Martinique', 'MQ');
    clock.set('2026-06-22T08:00:00Z'); // Monday
    for (const org of [reunion, martinique]) {
      await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });
    }
    const r = randomUUID();
    const m = randomUUID();
    await consent(reunion.orgId, r, '+262692010203');
    await consent(martinique.orgId, m, '+596696010203');
    await mail(reunion.orgId, r, 'letter', 1);
    await mail(martinique.orgId, m, 'letter', 1);
    await eventually(async () => (await martinique.call('notifications.pendingMail', { personId: m })).counts.letter === 1, { what: 'mail known' });

    clock.set('2026-06-23T15:00:05Z'); // Tuesday 19:00 in Réunion, 11:00 in Martinique
    await eventually(() => sentTo('+262692010203').length === 1, { what: 'Réunion SMS' });
    expect(sentTo('+262692010203')).to.deep.equal(['Bonjour, Vous avez reçu 1 nouveau courrier CCAS']);
    await new Promise((r) => setTimeout(r, 400));
    expect(sentTo('+596696010203')).to.deep.equal([]);

    clock.set('2026-06-23T23:00:05Z'); // Tuesday 19:00 in Martinique (Wednesday 01:00 in Paris)
    await eventually(() => sentTo('+596696010203').length === 1, { what: 'Martinique SMS' });
    const [entry] = (await martinique.call('notifications.history', { personId: m })).entries;
    expect(entry.date).to.equal('2026-06-23T23:00:00.000Z');
  });

  it('keeps 19:00 Paris across the October DST change and skips a slot missed beyond the allowed lateness', async () => {
    const org = newOrg();
    clock.set('2026-10-21T08:00:00Z'); // Wednesday, summer time
    await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });
    const p = randomUUID();
    await consent(org.orgId, p, '+33700000001');
    await mail(org.orgId, p, 'letter', 1);
    await eventually(async () => (await org.call('notifications.pendingMail', { personId: p })).counts.letter === 1, { what: 'mail known' });
    clock.set('2026-10-22T17:00:05Z'); // Thursday 19:00 CEST
    await eventually(() => sentTo('+33700000001').length === 1, { what: 'Thursday SMS' });

    // Mail on Friday, then the service is "down" over Tuesday 27 October's slot (19:00 CET = 18:00Z) and comes back 3 h later.
    await mail(org.orgId, p, 'parcel', 1, new Date('2026-10-23T09:00:00Z'));
    await eventually(async () => (await org.call('notifications.pendingMail', { personId: p })).counts.parcel === 1, { what: 'parcel known' });
    clock.set('2026-10-27T21:00:00Z');
    const late = await eventually(
      async () => {
        const h = await org.call('notifications.history', { personId: p });
        return h.entries.find((e: { type: string }) => e.type === 'mail.parcel');
      },
      { what: 'late slot recorded' },
    );
    expect(late).to.include({ status: 'skipped', date: '2026-10-27T18:00:00.000Z' });
    expect(late.reason).to.match(/missed by more than the allowed lateness/);
    expect(sentTo('+33700000001')).to.have.length(1);
  });

  it('sends the end-of-domiciliation reminder at 19:00 two months before the end; a renewal moves it, an end cancels it', async () => {
    const org = newOrg();
    clock.set('2026-03-02T08:00:00Z');
    await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });
    const p = randomUUID();
    const q = randomUUID();
    await consent(org.orgId, p, '+33700000002');
    await consent(org.orgId, q, '+33700000003');
    const changed = (personId: string, status: 'active' | 'ended', endDate: string | null, at: string) =>
      publish(org.orgId, [
        'domiciliation.changed',
        org.orgId,
        { domiciliationId: randomUUID(), personId, status, startDate: '2025-06-01', endDate, changedAt: at, changedBy: 'u' },
      ]);
    await changed(p, 'active', '2026-05-31', '2026-03-02T08:00:00Z');
    await changed(q, 'active', '2026-05-31', '2026-03-02T08:00:00Z');
    await new Promise((r) => setTimeout(r, 500));
    // p renews before the reminder: the end date moves to 30 April 2027 -> reminder 28 February 2027.
    await changed(p, 'active', '2027-04-30', '2026-03-02T09:00:00Z');
    // q's domiciliation ends: nothing is sent.
    await changed(q, 'ended', '2026-03-02', '2026-03-02T09:00:00Z');
    await new Promise((r) => setTimeout(r, 500));

    clock.set('2026-03-31T17:00:05Z'); // 31 March 19:00 CEST: the original date
    await new Promise((r) => setTimeout(r, 600));
    expect(sentTo('+33700000002').concat(sentTo('+33700000003'))).to.deep.equal([]);

    clock.set('2027-02-28T18:00:05Z'); // 28 February 2027 19:00 CET
    await eventually(() => sentTo('+33700000002').length === 1, { what: 'reminder sent' });
    expect(sentTo('+33700000002')[0]).to.match(/^Bonjour, Votre domiciliation prend fin le 30\/04\/2027\./);
    const [entry] = (await org.call('notifications.history', { personId: p })).entries;
    expect(entry).to.include({ type: 'domiciliation.reminder', date: '2027-02-28T18:00:00.000Z' });
    expect(sentTo('+33700000003')).to.deep.equal([]);
  });

  it('retries a transient provider error with backoff, and records a permanent one with its code without retrying', async () => {
    const org = newOrg();
    clock.set('2027-03-01T08:00:00Z'); // Monday
    await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });
    const a = randomUUID();
    const b = randomUUID();
    await consent(org.orgId, a, '+33700000004');
    await consent(org.orgId, b, '+33700000005');
    await mail(org.orgId, a, 'letter', 1);
    await eventually(async () => (await org.call('notifications.pendingMail', { personId: a })).counts.letter === 1, { what: 'mail known' });
    provider.failNext(new ProviderError('Too Many Requests', true, '20429'));
    clock.set('2027-03-02T18:00:05Z');
    // The first attempt fails; the retry is due RETRY_BASE_MS later on the service clock.
    await eventually(() => provider.refused.some((r) => r.to === '+33700000004'), { what: 'first attempt refused' });
    clock.set('2027-03-02T18:05:00Z');
    await eventually(() => sentTo('+33700000004').length === 1, { what: 'sent on retry' });
    const [entry] = (await org.call('notifications.history', { personId: a })).entries;
    expect(entry).to.include({ status: 'queued', attempts: 2 });
    expect(entry.events.some((e: { detail?: string }) => /transient error/.test(e.detail ?? ''))).to.equal(true);

    await mail(org.orgId, b, 'letter', 1);
    await eventually(async () => (await org.call('notifications.pendingMail', { personId: b })).counts.letter === 1, { what: 'mail known' });
    provider.failNext(new ProviderError('The number is a landline', false, '21614'));
    clock.set('2027-03-04T18:00:05Z');
    const failed = await eventually(
      async () => {
        const [e] = (await org.call('notifications.history', { personId: b })).entries;
        return e?.status === 'failed' && e;
      },
      { what: 'permanent failure recorded' },
    );
    expect(failed.error).to.deep.equal({ code: '21614', message: 'The number is a landline' });
    expect(failed.attempts).to.equal(1);
    clock.set('2027-03-05T18:00:05Z');
    await new Promise((r) => setTimeout(r, 400));
    expect(sentTo('+33700000005')).to.deep.equal([]);
  });
});
