import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import type { Connection } from 'mongoose';
import { connectDatabase, type AuthContext, type BaseConfig, type Envelope } from '@relais/shared';
import { as, dropTestDatabases, eventually, startNode, testConfig, uniqueNamespace } from '@relais/testing';
import { TwilioSmsProvider } from '../src/sending/providers/twilio';
import { notificationsService } from '../src/service';
import { FakeTwilio } from '@relais/testing/twilio';
import { notificationsTestConfig, outcomeConsumer } from '@relais/testing/notifications';

type Outcome = Envelope<'delivery.outcome'>;

/**
 * notifications.sendContactSms called from another broker (standing in for the contacts service),
 * sent through the real Twilio SDK to a local Twilio, and the delivery.outcome it leads to consumed
 * back in that broker, over real NATS and the real database.
 */
describe('notifications: contact SMS sent from a file, and their delivery.outcome', function () {
  this.timeout(120_000);
  const caseworker: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'caseworker' };
  const admin: AuthContext = { ...caseworker, userId: randomUUID(), role: 'admin' };
  const meta = { org: { region: 'FR', timeZone: 'Europe/Paris' } };
  let config: BaseConfig;
  let twilio: FakeTwilio;
  let provider: TwilioSmsProvider;
  let contacts: ServiceBroker;
  let notifications: ServiceBroker;
  let db: Connection;
  const outcomes: Outcome[] = [];

  /** Stands in for the contacts service: consumes delivery.outcome as its durable consumer does. */
  const consumer = outcomeConsumer(() => config, outcomes);

  const send = (params: object, auth: AuthContext = caseworker) =>
    contacts.call<{ deliveryId: string }, object>('notifications.sendContactSms', params, as(auth, meta));
  const refused = (call: Promise<unknown>) =>
    call.then(
      () => expect.fail('expected a refusal'),
      (err: { code: number; message: string }) => err,
    );
  const sentTo = (to: string) => twilio.messages.filter((m) => m.to === to);
  const outcomesOf = (deliveryId: string) => outcomes.filter((e) => e.data.deliveryId === deliveryId);
  /** What the gateway relays of a verified Twilio status callback. */
  const callback = (deliveryId: string, providerId: string, status: string, errorCode?: string) =>
    contacts.call('notifications.providerStatus', { deliveryId, providerId, status, ...(errorCode ? { errorCode } : {}) }, { meta: { system: true } });

  before(async () => {
    config = testConfig(uniqueNamespace());
    twilio = await FakeTwilio.start();
    provider = new TwilioSmsProvider({ accountSid: twilio.accountSid, authToken: twilio.authToken, apiUrl: twilio.url, publicBaseUrl: 'http://127.0.0.1:9' });
    contacts = await startNode(config, 'contacts', [consumer]);
    notifications = await startNode(config, 'notifications', [notificationsService(notificationsTestConfig(config), { smsProvider: provider })]);
    await contacts.waitForServices(['notifications'], 30_000);
    db = await connectDatabase(config, 'notifications');
  });
  after(async () => {
    await db?.close();
    await Promise.all([contacts, notifications].map((b) => b?.stop()));
    provider?.close();
    await twilio?.close();
    if (config) await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
  });

  it('refuses while SMS are off (409), from agents (403), and invalid input (422)', async () => {
    const sms = { personId: randomUUID(), to: '+33612000001', text: 'Bonjour', ref: randomUUID() };
    const off = await refused(send(sms));
    expect(off).to.include({ code: 409 });
    expect(off.message).to.match(/SMS are switched off/);
    expect(await refused(send(sms, { ...caseworker, role: 'agent' }))).to.include({ code: 403 });
    for (const bad of [
      { ...sms, to: '0612000001' },
      { ...sms, text: '   ' },
      { ...sms, ref: 'action-1' },
      { ...sms, extra: 1 },
    ]) {
      expect(await refused(send(bad)), JSON.stringify(bad)).to.include({ code: 422 });
    }
    expect(twilio.messages).to.deep.equal([]);
  });

  it('refuses (409) an org whose SMS settings have no sender id', async () => {
    const orgId = randomUUID();
    await db.collection<{ _id: string } & Record<string, unknown>>('org_settings').insertOne({
      _id: orgId,
      smsEnabled: true,
      senderId: null,
      signature: null,
      sendDays: [2, 4],
      timeZone: 'Europe/Paris',
      customTemplates: [],
      version: 1,
      updatedAt: null,
      updatedBy: null,
    });
    const err = await refused(send({ personId: randomUUID(), to: '+33612000002', text: 'Bonjour', ref: randomUUID() }, { ...caseworker, orgId }));
    expect(err).to.include({ code: 409 });
    expect(err.message).to.match(/sender id/);
  });

  it('sends once per contact action, and the delivered SMS comes back to the other broker as delivery.outcome', async () => {
    await contacts.call('notifications.updateSettings', { smsEnabled: true, senderId: 'CCAS', signature: 'CCAS' }, as(admin, meta));
    const personId = randomUUID();
    const sms = { personId, to: '+33612000003', text: 'Votre dossier est complet, merci.', ref: randomUUID() };
    const [first, again] = await Promise.all([send(sms), send(sms)]);
    expect(again).to.deep.equal(first);
    expect(await send(sms)).to.deep.equal(first);
    const [message] = await eventually(() => sentTo(sms.to).length > 0 && sentTo(sms.to), { what: 'the SMS at Twilio' });
    expect(message).to.include({ from: 'CCAS', body: 'Votre dossier est complet, merci. CCAS' });

    // The history shows it once the attempt is recorded; then Twilio says it was delivered.
    const entry = await eventually(
      async () => {
        const { entries } = await contacts.call<{ entries: { id: string; status: string; typeLabel: string; type: string }[] }, object>(
          'notifications.history',
          { personId },
          as(caseworker),
        );
        return entries[0]?.status === 'queued' && entries[0];
      },
      { what: 'the delivery queued' },
    );
    expect(entry).to.include({ id: first.deliveryId, type: 'contact.sms', typeLabel: 'SMS envoyé depuis le dossier' });
    expect(await callback(first.deliveryId, message.sid, 'delivered')).to.deep.equal({ moved: true });
    expect(await callback(first.deliveryId, message.sid, 'delivered')).to.deep.equal({ moved: false });

    const [outcome] = await eventually(() => outcomesOf(first.deliveryId).length > 0 && outcomesOf(first.deliveryId), { what: 'delivery.outcome consumed' });
    expect(outcome.orgId).to.equal(caseworker.orgId);
    expect(outcome.data).to.deep.include({ personId, medium: 'sms', to: sms.to, type: 'contact.sms', ref: sms.ref, status: 'delivered', error: null });
    await new Promise((r) => setTimeout(r, 1_000)); // time for a duplicate to arrive
    expect(outcomesOf(first.deliveryId)).to.have.length(1);
    expect(sentTo(sms.to)).to.have.length(1);
  });

  it('a number Twilio refuses as not a mobile (21614) comes back as a permanent notAMobile failure', async () => {
    const sms = { personId: randomUUID(), to: '+33145000004', text: 'Merci de rappeler le CCAS.', ref: randomUUID() };
    twilio.refuseRecipient(sms.to, 21614, `The 'To' number ${sms.to} is not a valid mobile number`);
    const { deliveryId } = await send(sms);
    const [outcome] = await eventually(() => outcomesOf(deliveryId).length > 0 && outcomesOf(deliveryId), { what: 'delivery.outcome consumed' });
    expect(outcome.data).to.deep.include({ to: sms.to, ref: sms.ref, status: 'failed', error: { code: '21614', kind: 'notAMobile', permanent: true } });
    const { entries } = await contacts.call<{ entries: { status: string; error?: { code?: string } }[] }, object>(
      'notifications.history',
      { personId: sms.personId },
      as(caseworker),
    );
    expect(entries[0]).to.include({ status: 'failed' });
    expect(entries[0].error).to.include({ code: '21614' });
    expect(sentTo(sms.to)).to.deep.equal([]);
  });
});
