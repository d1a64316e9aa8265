import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Context, ServiceBroker, ServiceSchema } from 'moleculer';
import type { Connection } from 'mongoose';
import { DurableEvents, connectDatabase, makeEnvelope, type AuthContext, type BaseConfig, type MailKind } from '@relais/shared';
import { as, eventually, startNode, testConfig, uniqueNamespace, type Parsed } from '@relais/testing';
import { domiciliationService } from '@relais/domiciliation';
import { notificationsService } from '../src/service';
import { MemoryProvider, TestClock, notificationsTestConfig } from '@relais/testing/notifications';

/** Stands in for the contacts service: every person asked about exists. */
const everyoneExists: ServiceSchema = {
  name: 'contacts',
  actions: { getPerson: (ctx: Context<{ personId: string }>) => ({ id: ctx.params.personId }) },
};

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Notifications fed by the real domiciliation service over NATS (its `domiciliation.changed` and
 * consent events), with the mail events published as the mail service would, on a clock the test moves.
 */
describe('notifications: the org zone and ended domiciliations, from the domiciliation service', function () {
  this.timeout(120_000);
  let config: BaseConfig;
  let client: ServiceBroker;
  let domiciliation: ServiceBroker;
  let notifications: ServiceBroker;
  let events: DurableEvents;
  let db: Connection;
  const provider = new MemoryProvider();
  // Monday 1 March 2027.
  const clock = new TestClock(new Date('2027-03-01T09:00:00Z'));

  const newOrg = (zone: string, region: string) => {
    const admin: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'admin' };
    const call = <T = Parsed>(action: string, params: object = {}) => client.call<T, object>(action, params, as(admin, { org: { region, timeZone: zone } }));
    return { admin, call, orgId: admin.orgId };
  };
  type Org = ReturnType<typeof newOrg>;

  /** Known to notifications once its view of the person's domiciliation has `status`. */
  const known = (personId: string, status: string) =>
    eventually(async () => (await db.collection('recipient_domiciliations').findOne({ personId }))?.status === status, { what: `domiciliation ${status}` });
  const consentKnown = (personId: string) =>
    eventually(async () => (await db.collection('recipient_consents').findOne({ personId }))?.consent === true, { what: 'consent known' });

  /** Request, activate until `endDate`, record the SMS consent: through the domiciliation service. */
  const domicile = async (org: Org, personId: string, phone: string, endDate = '2027-11-30') => {
    await org.call('domiciliation.request', { personId });
    await org.call('domiciliation.activate', { personId, startDate: '2026-12-01', endDate });
    await org.call('domiciliation.setSmsConsent', { personId, consent: true, phone });
    await known(personId, 'active');
    await consentKnown(personId);
  };
  const mail = (org: Org, personId: string, kind: MailKind, at = clock.now()) =>
    events.publish([
      makeEnvelope('mail.registered', org.orgId, { mailItemId: randomUUID(), personId, kind, quantity: 1, registeredAt: at.toISOString(), registeredBy: 'u' }),
    ]);
  const mailKnown = (org: Org, personId: string, kind: MailKind, count = 1) =>
    eventually(async () => (await org.call('notifications.pendingMail', { personId })).counts[kind] === count, { what: 'mail known' });
  const sentTo = (phone: string) => provider.sent.filter((m) => m.to === phone).map((m) => m.body);
  const reminderDueAt = async (personId: string) =>
    ((await db.collection('reminders').findOne({ personId, state: 'scheduled' })) as { dueAt: Date } | null)?.dueAt.toISOString();

  before(async () => {
    config = testConfig(uniqueNamespace());
    client = await startNode(config, 'client', [everyoneExists]);
    domiciliation = await startNode(config, 'domiciliation', [domiciliationService(config)]);
    notifications = await startNode(config, 'notifications', [
      notificationsService(notificationsTestConfig(config, { MAX_LATENESS_MS: String(2 * 3600_000) }), { smsProvider: provider, clock }),
    ]);
    await Promise.all([client.waitForServices(['notifications', 'domiciliation'], 30_000), domiciliation.waitForServices(['contacts'], 30_000)]);
    events = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'test' });
    db = await connectDatabase(config, 'notifications');
  });
  after(async () => {
    await events?.close();
    await db?.close();
    await Promise.all([client, domiciliation, notifications].map((b) => b?.stop()));
  });

  it('an overseas org that domiciles people before its first save gets their reminder at 19:00 in its own zone', async () => {
    const org = newOrg('America/Martinique', 'MQ');
    clock.set('2027-03-01T14:00:00Z'); // Monday 10:00 in Martinique
    const p = randomUUID();
    await domicile(org, p, '0696 11 22 33', '2027-05-31');
    await eventually(() => reminderDueAt(p), { what: 'reminder planned' });
    await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });

    clock.set('2027-03-31T17:00:05Z'); // 31 March, 19:00 in Paris, 13:00 in Martinique: nothing yet
    await pause(600);
    expect(sentTo('+596696112233')).to.deep.equal([]);
    clock.set('2027-03-31T23:00:05Z'); // 19:00 in Martinique
    await eventually(() => sentTo('+596696112233').length === 1, { what: 'reminder sent' });
    const [entry] = (await org.call('notifications.history', { personId: p })).entries;
    expect(entry).to.include({ type: 'domiciliation.reminder', date: '2027-03-31T23:00:00.000Z' });
  });

  it('the first save replans the reminders planned before it, from events that did not carry the zone', async () => {
    const org = newOrg('Indian/Reunion', 'RE');
    clock.set('2027-03-01T09:00:00Z');
    const p = randomUUID();
    // As the domiciliation service published it before its events carried the org's zone.
    await events.publish([
      makeEnvelope('domiciliation.changed', org.orgId, {
        domiciliationId: randomUUID(),
        personId: p,
        status: 'active',
        startDate: '2026-12-01',
        endDate: '2027-05-31',
        changedAt: clock.now().toISOString(),
        changedBy: 'u',
      }),
    ]);
    // Planned in Paris, the only zone known then.
    expect(await eventually(() => reminderDueAt(p), { what: 'reminder planned' })).to.equal('2027-03-31T17:00:00.000Z');
    await org.call('notifications.updateSettings', { senderId: 'CCAS' });
    expect(await reminderDueAt(p)).to.equal('2027-03-31T15:00:00.000Z'); // 19:00 in Réunion
  });

  it('a change of zone replans the next slot: no slot before the change, no mail announced twice nor left out', async () => {
    const org = newOrg('Europe/Paris', 'FR');
    clock.set('2027-03-08T09:00:00Z'); // Monday
    await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });
    const p = randomUUID();
    await domicile(org, p, '06 12 34 56 01');
    await mail(org, p, 'letter');
    await mailKnown(org, p, 'letter');
    clock.set('2027-03-09T18:00:05Z'); // Tuesday 19:00 in Paris
    await eventually(() => sentTo('+33612345601').length === 1, { what: "Tuesday's SMS" });

    // A parcel on Thursday after the Paris slot; on Friday 00:00 UTC (Thursday 20:00 in Martinique) the org moves there.
    await mail(org, p, 'parcel', new Date('2027-03-11T19:00:00Z'));
    await mailKnown(org, p, 'parcel');
    clock.set('2027-03-11T18:00:05Z');
    await pause(600);
    clock.set('2027-03-12T00:00:00Z');
    await org.call('notifications.updateSettings', { timeZone: 'America/Martinique' });
    // Thursday 19:00 in Martinique came before the change: not a slot of the new schedule.
    await pause(800);
    expect(sentTo('+33612345601')).to.have.length(1);
    clock.set('2027-03-16T23:00:05Z'); // Tuesday 19:00 in Martinique
    await eventually(() => sentTo('+33612345601').length === 2, { what: "the new zone's first SMS" });
    await pause(400);
    expect(sentTo('+33612345601')).to.deep.equal(['Bonjour, Vous avez reçu 1 nouveau courrier CCAS', 'Bonjour, Vous avez reçu 1 nouveau colis CCAS']);
  });

  it('a change of send days starts the next window at the last slot sent: mail already announced is not announced again', async () => {
    const org = newOrg('Europe/Paris', 'FR');
    clock.set('2027-03-08T09:00:00Z'); // Monday
    await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });
    const p = randomUUID();
    await domicile(org, p, '06 12 34 56 02');
    await mail(org, p, 'letter');
    await mailKnown(org, p, 'letter');
    clock.set('2027-03-09T18:00:05Z'); // Tuesday 19:00
    await eventually(() => sentTo('+33612345602').length === 1, { what: "Tuesday's SMS" });
    clock.set('2027-03-09T20:00:00Z');
    await org.call('notifications.updateSettings', { sendDays: [3] }); // Wednesdays from now on
    await mail(org, p, 'parcel', new Date('2027-03-10T09:00:00Z'));
    await mailKnown(org, p, 'parcel');
    clock.set('2027-03-10T18:00:05Z'); // Wednesday 19:00
    await eventually(() => sentTo('+33612345602').length >= 2, { what: "Wednesday's SMS" });
    await pause(400);
    expect(sentTo('+33612345602')).to.deep.equal(['Bonjour, Vous avez reçu 1 nouveau courrier CCAS', 'Bonjour, Vous avez reçu 1 nouveau colis CCAS']);
  });

  it('no mail SMS once the domiciliation has ended or was refused: skipped with the reason', async () => {
    const org = newOrg('Europe/Paris', 'FR');
    clock.set('2027-03-15T09:00:00Z'); // Monday
    await org.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' });
    const ending = randomUUID();
    const staying = randomUUID();
    const refused = randomUUID();
    await domicile(org, ending, '06 12 34 56 03');
    await domicile(org, staying, '06 12 34 56 04');
    await org.call('domiciliation.request', { personId: refused });
    await org.call('domiciliation.setSmsConsent', { personId: refused, consent: true, phone: '06 12 34 56 05' });
    await org.call('domiciliation.refuse', { personId: refused, reason: 'no local tie' });
    await known(refused, 'refused');
    await consentKnown(refused);
    // Mail registered on Monday for all three (for the refused one, as if registered while its request was open).
    for (const p of [ending, staying, refused]) await mail(org, p, 'letter');
    for (const p of [ending, staying, refused]) await mailKnown(org, p, 'letter');
    clock.set('2027-03-15T19:00:00Z'); // Monday evening: the domiciliation ends
    await org.call('domiciliation.end', { personId: ending, endDate: '2027-03-15' });
    await known(ending, 'ended');

    clock.set('2027-03-16T18:00:05Z'); // Tuesday 19:00
    await eventually(() => sentTo('+33612345604').length === 1, { what: 'SMS of the person still domiciled' });
    const skipped = await eventually(
      async () => {
        const [e] = (await org.call('notifications.history', { personId: ending })).entries;
        return e;
      },
      { what: 'delivery of the ended one recorded' },
    );
    expect(skipped).to.include({ status: 'skipped', type: 'mail.letter', reason: 'the domiciliation has ended' });
    const [refusedEntry] = (await org.call('notifications.history', { personId: refused })).entries;
    expect(refusedEntry).to.include({ status: 'skipped', reason: 'the domiciliation was refused' });
    await pause(400);
    expect(sentTo('+33612345603').concat(sentTo('+33612345605'))).to.deep.equal([]);
  });
});
