import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import type { AuthContext, BaseConfig, Envelope } from '@relais/shared';
import { as, dropTestDatabases, eventually, refusal, startNode, testConfig, uniqueNamespace } from '@relais/testing';
import { SmtpEmailProvider } from '../src/sending/providers/smtp';
import { notificationsService } from '../src/service';
import { FakeSmtp } from '@relais/testing/smtp';
import { MemoryProvider, notificationsTestConfig, outcomeConsumer } from '@relais/testing/notifications';

type Outcome = Envelope<'delivery.outcome'>;
interface Entry {
  id: string;
  status: string;
  type: string;
  typeLabel: string;
  channel: string;
  subject?: string;
  content: string | null;
  provider: string | null;
  attempts: number;
  error?: { code?: string; message: string };
}

/**
 * notifications.sendContactEmail called from another broker (standing in for the contacts service),
 * sent through nodemailer to a local SMTP server, and the delivery.outcome it leads to consumed back
 * in that broker, over real NATS and the real database.
 */
describe('notifications: contact e-mails sent from a file, and their delivery.outcome', function () {
  this.timeout(120_000);
  const caseworker: AuthContext = { orgId: randomUUID(), userId: randomUUID(), role: 'caseworker' };
  const meta = { org: { region: 'FR', timeZone: 'Europe/Paris' } };
  let config: BaseConfig;
  let smtp: FakeSmtp;
  let provider: SmtpEmailProvider;
  let contacts: ServiceBroker;
  let notifications: ServiceBroker;
  const outcomes: Outcome[] = [];

  const consumer = outcomeConsumer(() => config, outcomes);

  const send = (params: object, auth: AuthContext = caseworker) =>
    contacts.call<{ deliveryId: string }, object>('notifications.sendContactEmail', params, as(auth, meta));
  const receivedBy = (to: string) => smtp.received.filter((m) => m.to.includes(to));
  const outcomesOf = (deliveryId: string) => outcomes.filter((e) => e.data.deliveryId === deliveryId);
  const history = async (personId: string) =>
    (await contacts.call<{ entries: Entry[] }, object>('notifications.history', { personId }, as(caseworker))).entries;
  const email = (to: string) => ({ personId: randomUUID(), to, subject: 'Votre dossier', text: 'Bonjour,\n\nvotre dossier est complet.', ref: randomUUID() });

  before(async () => {
    config = testConfig(uniqueNamespace());
    smtp = await FakeSmtp.start();
    provider = new SmtpEmailProvider({ url: smtp.url, from: 'Relais <relais@ccas.example.org>' });
    contacts = await startNode(config, 'contacts', [consumer]);
    notifications = await startNode(config, 'notifications', [
      notificationsService(notificationsTestConfig(config, { RETRY_BASE_MS: '200' }), { smsProvider: new MemoryProvider(), emailProvider: provider }),
    ]);
    await contacts.waitForServices(['notifications'], 30_000);
    await contacts.call('notifications.updateSettings', { signature: 'CCAS de Saint-Denis' }, as({ ...caseworker, role: 'admin' }, meta));
  });
  after(async () => {
    await Promise.all([contacts, notifications].map((b) => b?.stop()));
    provider?.close();
    await smtp?.close();
    if (config) await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
  });

  it('refuses agents (403) and invalid input (422), sending nothing', async () => {
    const ok = email('jeanne.payet@example.org');
    await refusal(send(ok, { ...caseworker, role: 'agent' }), 403);
    for (const bad of [
      { ...ok, to: 'jeanne.payet' },
      { ...ok, subject: ' ' },
      { ...ok, text: '' },
      { ...ok, text: 'x'.repeat(10_001) },
      { ...ok, ref: 'a-1' },
      { ...ok, cc: 'x@example.org' },
    ]) {
      await refusal(send(bad), 422);
    }
    expect(receivedBy(ok.to)).to.deep.equal([]);
  });

  it('sends once per contact action, with SMS switched off, and the accepted e-mail comes back as delivered', async () => {
    const mail = email('jeanne.payet@example.org');
    const [first, again] = await Promise.all([send(mail), send(mail)]);
    expect(again).to.deep.equal(first);
    const [received] = await eventually(() => receivedBy(mail.to).length > 0 && receivedBy(mail.to), { what: 'the e-mail at the SMTP server' });
    expect(received.from).to.equal('relais@ccas.example.org');
    expect(received.parsed.subject).to.equal('Votre dossier');
    expect(received.parsed.text?.trimEnd()).to.equal('Bonjour,\n\nvotre dossier est complet.\n\nCCAS de Saint-Denis');
    expect(received.parsed.headers.get('x-relais-delivery')).to.equal(first.deliveryId);

    const [outcome] = await eventually(() => outcomesOf(first.deliveryId).length > 0 && outcomesOf(first.deliveryId), { what: 'delivery.outcome consumed' });
    expect(outcome.orgId).to.equal(caseworker.orgId);
    expect(outcome.data).to.deep.include({
      personId: mail.personId,
      medium: 'email',
      to: mail.to,
      type: 'contact.email',
      ref: mail.ref,
      status: 'delivered',
      error: null,
    });
    const [entry] = await eventually(
      async () => {
        const entries = await history(mail.personId);
        return entries[0]?.status === 'delivered' && entries;
      },
      { what: 'the history entry delivered' },
    );
    expect(entry).to.include({
      id: first.deliveryId,
      type: 'contact.email',
      typeLabel: 'E-mail envoyé depuis le dossier',
      channel: 'email',
      subject: 'Votre dossier',
      provider: 'smtp',
      attempts: 1,
    });

    // Asked again later (an answer lost on the way back): the same delivery, nothing sent twice.
    expect(await send(mail)).to.deep.equal(first);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(receivedBy(mail.to)).to.have.length(1);
    expect(outcomesOf(first.deliveryId)).to.have.length(1);
  });

  it('an address the server refuses for good (550) fails at once as a hard bounce', async () => {
    const mail = email('inconnu@example.org');
    smtp.rejectNext(1, 550, { message: '5.1.1 User unknown' });
    const { deliveryId } = await send(mail);
    const [outcome] = await eventually(() => outcomesOf(deliveryId).length > 0 && outcomesOf(deliveryId), { what: 'delivery.outcome consumed' });
    expect(outcome.data).to.deep.include({
      medium: 'email',
      to: mail.to,
      ref: mail.ref,
      status: 'failed',
      error: { code: '550', kind: 'hardBounce', permanent: true },
    });
    const [entry] = await history(mail.personId);
    expect(entry).to.include({ status: 'failed', attempts: 1 });
    expect(entry.error).to.include({ code: '550' });
    expect(entry.error!.message).to.match(/User unknown/);
    expect(receivedBy(mail.to)).to.deep.equal([]);
  });

  it('a server that says "try later" (451) is tried again, and the e-mail goes out once', async () => {
    const mail = email('plus.tard@example.org');
    smtp.rejectNext(1, 451, { message: '4.3.0 Try again later', stage: 'data' });
    const { deliveryId } = await send(mail);
    const [outcome] = await eventually(() => outcomesOf(deliveryId).length > 0 && outcomesOf(deliveryId), {
      what: 'delivery.outcome after the retry',
      timeoutMs: 30_000,
    });
    expect(outcome.data).to.deep.include({ status: 'delivered', error: null });
    expect(receivedBy(mail.to)).to.have.length(1);
    const [entry] = await history(mail.personId);
    expect(entry).to.include({ status: 'delivered', attempts: 2 });
  });
});
