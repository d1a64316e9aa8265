import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import nodemailer from 'nodemailer';
import { notificationsService } from '@relais/notifications';
import { eventually, startNode } from '@relais/testing';
import { ProviderError, notificationsTestConfig } from '@relais/testing/notifications';
import { createOrgWithAdmin, createUserWithToken } from '../src/auth/accounts';
import { expectProblem, startTestStack, type Parsed, type Reply, type TestStack } from './support';

/**
 * Exchanges on intervention requests over HTTP (seed 004): the gateway, contacts, notifications and
 * exchanges services on brokers of their own over real NATS and the real database; e-mails through
 * the notifications service's delivery, replies and bounces through the exchanges service's own
 * inbound SMTP listener.
 */
describe('through the gateway: exchanges on intervention requests', function () {
  this.timeout(240_000);
  let t: TestStack;
  const tokens: Record<string, string> = {};
  const users: Record<string, string> = {};
  let otherAdmin: string;
  let clientId: string;
  let replyChannel: string;

  const ok = (reply: Reply, status = 200): Parsed => {
    expect(reply.status, JSON.stringify(reply.body)).to.equal(status);
    return reply.body;
  };
  const newRequest = async (json: object = {}, token = tokens.caseworker) =>
    ok(await t.api.post('/v1/intervention-requests', { token, json: { clientId, title: 'Fuite sous l’évier', ...json } }), 201);
  const history = async (requestId: string, token = tokens.agent) => ok(await t.api.get(`/v1/intervention-requests/${requestId}/exchanges`, { token }));
  const sent = (requestId: string, json: object, token = tokens.caseworker) =>
    t.api.post(`/v1/intervention-requests/${requestId}/exchanges/sent`, { token, json: { type: 'contact', detail: 'Appel au client.', ...json } });
  const received = (requestId: string, json: object, token = tokens.caseworker) =>
    t.api.post(`/v1/intervention-requests/${requestId}/exchanges/received`, { token, json: { type: 'contact', detail: 'Le client a appelé.', ...json } });
  const email = (requestId: string, json: object, token = tokens.caseworker) =>
    t.api.post(`/v1/intervention-requests/${requestId}/emails`, {
      token,
      json: { subject: 'Votre demande', detail: 'Bonjour, nous passerons mardi.', ...json },
    });
  const smtp = () => nodemailer.createTransport({ host: '127.0.0.1', port: t.inbound.port, secure: false, ignoreTLS: true });
  const emailStatus = (requestId: string, exchangeId: string, status: string) =>
    eventually(
      async () => {
        const x = (await history(requestId)).items.find((i: { id: string }) => i.id === exchangeId);
        return x?.emailDelivery?.status === status ? x : undefined;
      },
      { what: `e-mail ${status}` },
    );

  before(async () => {
    t = await startTestStack({}, { notifications: { RETRY_BASE_MS: '200' } });
    const org = await createOrgWithAdmin(t.gw.store, { name: `Plomberie ${randomUUID().slice(0, 8)}`, admin: { name: 'Admin', email: 'admin@ex.test' } });
    tokens.admin = org.token.token;
    users.admin = org.admin.id;
    for (const role of ['manager', 'caseworker', 'agent'] as const) {
      const u = await createUserWithToken(t.gw.store, org.org.id, { name: `Claire ${role}`, email: `${role}@ex.test`, role });
      tokens[role] = u.token.token;
      users[role] = u.user.id;
    }
    otherAdmin = (await createOrgWithAdmin(t.gw.store, { name: `Other ${randomUUID().slice(0, 8)}`, admin: { name: 'B', email: 'b@other.test' } })).token.token;
    clientId = ok(
      await t.api.post('/v1/companies', { token: tokens.agent, json: { companyName: `Résidence Les Filaos ${randomUUID().slice(0, 6)}` } }),
      201,
    ).id;
    for (const [name, mail] of [
      ['Jeanne Payet', 'jeanne.payet@filaos.test'],
      ['Paul Hoarau', 'paul.hoarau@filaos.test'],
    ]) {
      ok(await t.api.post(`/v1/parties/${clientId}/contacts`, { token: tokens.caseworker, json: { name, function: 'Gestionnaire', email: mail } }), 201);
    }
    replyChannel = ok(
      await t.api.post(`/v1/parties/${clientId}/channels`, {
        token: tokens.caseworker,
        json: { kind: 'email', type: 'professional', email: 'paul.hoarau@filaos.test' },
      }),
      201,
    ).id;
  });

  after(async () => {
    await t?.close();
  });

  it('registers requests numbered per org, with the first contact as interlocutor and the caller as collaborator', async () => {
    const a = await newRequest({ team: 'plomberie' });
    const b = await newRequest();
    expect(a.number).to.match(/^DIT-\d{5}$/);
    expect(Number(b.number.slice(4))).to.equal(Number(a.number.slice(4)) + 1);
    expect(a).to.include({ clientId, interlocutor: 1, assignedTo: users.caseworker, team: 'plomberie', status: 'open' });
    expect(a.summary).to.deep.equal({ count: 0, reminders: 0, red: false, latest: [] });

    expect(
      expectProblem(await t.api.post('/v1/intervention-requests', { token: tokens.agent, json: { clientId: randomUUID(), title: 'x' } }), 422).errors,
    ).to.deep.equal([{ path: 'clientId', message: 'is not a party of this organisation' }]);
    expectProblem(await t.api.post('/v1/intervention-requests', { token: tokens.agent, json: { clientId, title: 'x', interlocutor: 9 } }), 422);
    // Another org's request is unknown there.
    expectProblem(await t.api.get(`/v1/intervention-requests/${a.id}`, { token: otherAdmin }), 404);
    expectProblem(await t.api.get(`/v1/intervention-requests/${a.id}/exchanges`, { token: otherAdmin }), 404);

    const done = ok(await t.api.patch(`/v1/intervention-requests/${a.id}`, { token: tokens.caseworker, json: { status: 'done' } }));
    expect(done.doneAt).to.be.a('string');
    ok(await t.api.patch(`/v1/intervention-requests/${a.id}`, { token: tokens.caseworker, json: { status: 'closed' } }));
    expect(expectProblem(await t.api.patch(`/v1/intervention-requests/${a.id}`, { token: tokens.caseworker, json: { status: 'open' } }), 409).detail).to.match(
      /closed request cannot become open/,
    );
    const listed = ok(await t.api.get(`/v1/parties/${clientId}/intervention-requests`, { token: tokens.agent }));
    expect(listed.items.map((r: { id: string }) => r.id)).to.include.members([a.id, b.id]);
  });

  it('records sent and received messages with the seed defaults, requires the detail, and turns the counter red with a reminder', async () => {
    const r = await newRequest();
    // What the form offers: the collaborators and the client's contacts with their addresses, and the defaults.
    const parties = ok(await t.api.get(`/v1/intervention-requests/${r.id}/parties`, { token: tokens.caseworker }));
    expect(parties.collaborators).to.deep.include({ userId: users.agent, name: 'Claire agent', emails: ['agent@ex.test'] });
    expect(parties.contacts.map((c: { contactNumber: number; emails: string[] }) => [c.contactNumber, c.emails[0]])).to.deep.equal([
      [1, 'jeanne.payet@filaos.test'],
      [2, 'paul.hoarau@filaos.test'],
    ]);
    expect(parties.defaults).to.deep.equal({ user: users.caseworker, contactNumber: 1, email: 'jeanne.payet@filaos.test' });
    expectProblem(await t.api.get(`/v1/intervention-requests/${r.id}/parties`, { token: otherAdmin }), 404);
    const s = ok(await sent(r.id, { subject: 'RDV' }), 201);
    expect(s.sentBy).to.deep.include({ kind: 'user', userId: users.caseworker, name: 'Claire caseworker', email: 'caseworker@ex.test' });
    expect(s.receivedBy).to.deep.include({ kind: 'contact', contactNumber: 1, name: 'Jeanne Payet', email: 'jeanne.payet@filaos.test' });
    expect(s).to.include({
      direction: 'sent',
      email: 'jeanne.payet@filaos.test',
      subject: 'RDV',
      origin: 'staff',
      visibility: 'internal',
      typeLabel: 'Prise de contact',
    });

    const rc = ok(await received(r.id, { sentBy: 2, receivedBy: users.agent, occurredAt: '2026-12-01T08:30:00+04:00' }), 201);
    expect(rc.sentBy).to.deep.include({ kind: 'contact', contactNumber: 2, email: 'paul.hoarau@filaos.test' });
    expect(rc.receivedBy).to.deep.include({ kind: 'user', userId: users.agent });
    expect(rc).to.include({ subject: null, occurredAt: '2026-12-01T04:30:00.000Z' });

    expect(expectProblem(await sent(r.id, { detail: '  ' }), 422).errors![0]).to.deep.include({ path: 'detail' });
    expect(expectProblem(await sent(r.id, { type: 'visit' }), 422).errors![0].path).to.equal('type');
    expectProblem(await sent(r.id, { receivedBy: 7 }), 422);
    expectProblem(await sent(r.id, { sentBy: 'nobody' }), 422);
    expectProblem(await sent(randomUUID(), {}), 404);

    let summary = (await history(r.id)).summary;
    expect(summary).to.include({ count: 2, red: false });
    ok(await sent(r.id, { type: 'reminder', detail: 'Relance : merci de confirmer le créneau de mardi matin.' }), 201);
    summary = ok(await t.api.get(`/v1/intervention-requests/${r.id}`, { token: tokens.agent })).summary;
    expect(summary).to.include({ count: 3, reminders: 1, red: true });
    expect(summary.latest[0].preview).to.equal('Relance : merci de confirmer le créneau de mardi matin.');
    expect((await history(r.id)).items.map((x: { direction: string }) => x.direction)).to.deep.equal(['received', 'sent', 'sent']);

    // One call for 1,000 requests: unknown ids have empty summaries; another org sees none of this one's.
    const ids = [r.id, ...Array.from({ length: 999 }, () => randomUUID())];
    const all = ok(await t.api.post('/v1/exchange-summaries', { token: tokens.agent, json: { requestIds: ids } }));
    expect(all.items).to.have.length(1000);
    expect(all.items[0]).to.deep.include({ requestId: r.id });
    expect(all.items[0].summary.count).to.equal(3);
    expect(all.items[1].summary.count).to.equal(0);
    const theirs = ok(await t.api.post('/v1/exchange-summaries', { token: otherAdmin, json: { requestIds: [r.id] } }));
    expect(theirs.items[0].summary.count).to.equal(0);
    expectProblem(await t.api.post('/v1/exchange-summaries', { token: tokens.agent, json: { requestIds: [...ids, randomUUID()] } }), 422);
  });

  it('sends an e-mail through the delivery history, and threads the reply back with its attachment', async () => {
    const r = await newRequest();
    const x = ok(await email(r.id, { receivedBy: 2 }), 201);
    expect(x.emailDelivery.status).to.be.oneOf(['sending', 'sent']);
    expect(x).to.include({ direction: 'sent', email: 'paul.hoarau@filaos.test', visibility: 'client' });
    await emailStatus(r.id, x.id, 'sent');
    const out = t.email.sent.find((m) => m.mail?.messageId === x.emailDelivery.messageId)!;
    expect(out).to.include({ to: 'paul.hoarau@filaos.test', subject: 'Votre demande' });
    expect(out.mail!.replyTo).to.equal(`reply+${r.id}@${t.inbound.domain}`);

    await smtp().sendMail({
      from: 'Paul Hoarau <paul.hoarau@filaos.test>',
      to: out.mail!.replyTo,
      subject: 'Re: Votre demande',
      text: 'Mardi me convient, merci.\n\n> Bonjour, nous passerons mardi.',
      inReplyTo: x.emailDelivery.messageId,
      references: [x.emailDelivery.messageId],
      attachments: [{ filename: 'photo.txt', content: 'la fuite' }],
    });
    const reply = await eventually(async () => (await history(r.id)).items.find((i: { origin: string }) => i.origin === 'email'), { what: 'the reply' });
    expect(reply).to.include({ direction: 'received', subject: 'Re: Votre demande', email: 'paul.hoarau@filaos.test', visibility: 'client' });
    expect(reply.detail).to.match(/^Mardi me convient/);
    expect(reply.sentBy).to.deep.include({ kind: 'contact', contactNumber: 2 });
    expect(reply.receivedBy).to.deep.include({ kind: 'user', userId: users.caseworker });
    expect(reply.attachments).to.have.length(1);
    // The contacts service takes the reply as evidence: the client's channel of that address works.
    await eventually(
      async () => {
        const channels = ok(await t.api.get(`/v1/parties/${clientId}/channels`, { token: tokens.agent })).items as { id: string; state: string }[];
        return channels.find((c) => c.id === replyChannel)?.state === 'validated';
      },
      { what: 'the address validated by the reply' },
    );
    const file = await t.api.get(`/v1/intervention-requests/${r.id}/exchanges/${reply.id}/attachments/${reply.attachments[0].id}`, { token: tokens.agent });
    expect(file.status).to.equal(200);
    expect(file.body).to.equal('la fuite');

    // A reply whose mail program dropped the threading headers still reaches the request by its address.
    await smtp().sendMail({ from: 'someone@elsewhere.test', to: `reply+${r.id}@${t.inbound.domain}`, subject: 'Question', text: 'Et pour la facture ?' });
    const loose = await eventually(async () => (await history(r.id)).items.find((i: { subject: string }) => i.subject === 'Question'), {
      what: 'the loose reply',
    });
    expect(loose.sentBy).to.deep.include({ kind: 'external', email: 'someone@elsewhere.test' });
    // Mail for no conversation is refused at the door.
    let refused: unknown;
    await smtp()
      .sendMail({ from: 'x@y.test', to: `nobody@${t.inbound.domain}`, subject: 'x', text: 'x' })
      .catch((err: unknown) => (refused = err));
    expect(String(refused)).to.match(/550/);
    expect((await history(r.id)).summary.count).to.equal(3);
  });

  it('retries a transient failure, records a refusal as failed, and a bounce as bounced', async () => {
    const r = await newRequest();
    t.email.failNext(new ProviderError('SMTP server answered 451 try later', true, '451'));
    const retried = ok(await email(r.id, {}), 201);
    await emailStatus(r.id, retried.id, 'sent');

    t.email.failNext(new ProviderError('SMTP server answered 550 no such user', false, '550'));
    const refused = ok(await email(r.id, { to: 'gone@filaos.test' }), 201);
    const failed = await emailStatus(r.id, refused.id, 'failed');
    expect(failed.emailDelivery.error).to.match(/550/);

    const bounced = ok(await email(r.id, {}), 201);
    await emailStatus(r.id, bounced.id, 'sent');
    const dsn = [
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.filaos.test',
      '',
      'Final-Recipient: rfc822; jeanne.payet@filaos.test',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable',
    ].join('\r\n');
    await smtp().sendMail({
      from: 'MAILER-DAEMON@mx.filaos.test',
      to: `reply+${r.id}@${t.inbound.domain}`,
      subject: 'Undelivered Mail Returned to Sender',
      headers: { 'Content-Type': 'multipart/report; report-type=delivery-status' },
      alternatives: [],
      attachments: [
        { contentType: 'message/delivery-status', content: dsn.split('\r\n\r\n').slice(1).join('\r\n\r\n') },
        { contentType: 'text/rfc822-headers', content: `Message-ID: ${bounced.emailDelivery.messageId}\r\nSubject: Votre demande\r\n` },
      ],
      text: 'Your message could not be delivered.',
    });
    const b = await emailStatus(r.id, bounced.id, 'bounced');
    expect(b.emailDelivery.error).to.match(/mailbox unavailable/);
    // A bounce is no exchange of its own.
    expect((await history(r.id)).summary.count).to.equal(3);
  });

  it('keeps an e-mail recorded while the notifications service is down, and sends it once it is back', async () => {
    const r = await newRequest();
    const at = t.nodes.findIndex((n) => n.nodeID.startsWith('notifications'));
    await t.nodes[at].stop();
    const x = ok(await email(r.id, { subject: 'Pendant la panne' }), 201);
    expect(x.emailDelivery.status).to.equal('sending');
    t.nodes[at] = await startNode(t.config, 'notifications', [
      notificationsService(notificationsTestConfig(t.config, { RETRY_BASE_MS: '200' }), { smsProvider: t.sms, emailProvider: t.email }),
    ]);
    await emailStatus(r.id, x.id, 'sent');
    expect(t.email.sent.filter((m) => m.mail?.messageId === x.emailDelivery.messageId)).to.have.length(1);
  });

  it('keeps drafts per user and request: resumed, changed, sent (then gone) or discarded', async () => {
    const r = await newRequest();
    const d = ok(
      await t.api.post(`/v1/intervention-requests/${r.id}/drafts`, { token: tokens.caseworker, json: { subject: 'Devis', detail: 'Bonjour, voici' } }),
      201,
    );
    const other = ok(await t.api.post(`/v1/intervention-requests/${r.id}/drafts`, { token: tokens.caseworker, json: { detail: 'Autre' } }), 201);
    expect(ok(await t.api.get('/v1/drafts', { token: tokens.caseworker })).items.map((x: { id: string }) => x.id)).to.include.members([d.id, other.id]);
    expect(ok(await t.api.get(`/v1/intervention-requests/${r.id}/drafts`, { token: tokens.caseworker })).items).to.have.length(2);
    // Someone else's drafts are not theirs to see.
    expect(ok(await t.api.get(`/v1/intervention-requests/${r.id}/drafts`, { token: tokens.agent })).items).to.have.length(0);
    expectProblem(await t.api.get(`/v1/drafts/${d.id}`, { token: tokens.agent }), 404);

    const changed = ok(await t.api.patch(`/v1/drafts/${d.id}`, { token: tokens.caseworker, json: { detail: 'Bonjour, voici le devis.' } }));
    expect(changed).to.include({ subject: 'Devis', detail: 'Bonjour, voici le devis.' });
    const x = ok(await email(r.id, { subject: changed.subject, detail: changed.detail, draftId: d.id }), 201);
    expect(x.subject).to.equal('Devis');
    expectProblem(await t.api.get(`/v1/drafts/${d.id}`, { token: tokens.caseworker }), 404);
    ok(await t.api.delete(`/v1/drafts/${other.id}`, { token: tokens.caseworker }));
    expect(ok(await t.api.get(`/v1/intervention-requests/${r.id}/drafts`, { token: tokens.caseworker })).items).to.have.length(0);
  });

  it('edits keep the previous wording; deletion only by the author within the window, never an e-mail; admins always, as a tombstone', async () => {
    const r = await newRequest();
    const x = ok(await sent(r.id, { detail: 'Mardi 10h' }), 201);
    const e = ok(await t.api.patch(`/v1/intervention-requests/${r.id}/exchanges/${x.id}`, { token: tokens.caseworker, json: { detail: 'Mardi 11h' } }));
    expect(e).to.include({ detail: 'Mardi 11h', edited: true });
    expect(e.edits[0]).to.include({ by: users.caseworker, previousDetail: 'Mardi 10h' });
    expectProblem(await t.api.patch(`/v1/intervention-requests/${r.id}/exchanges/${x.id}`, { token: tokens.agent, json: { detail: 'x' } }), 409);

    expect(expectProblem(await t.api.delete(`/v1/intervention-requests/${r.id}/exchanges/${x.id}`, { token: tokens.agent }), 409).detail).to.match(
      /only its author/,
    );
    const gone = ok(await t.api.delete(`/v1/intervention-requests/${r.id}/exchanges/${x.id}`, { token: tokens.caseworker }));
    expect(gone).to.include({ detail: null });
    expect(gone.deleted).to.include({ by: users.caseworker, byAdmin: false });
    expect((await history(r.id)).summary.count).to.equal(0);
    expect((await history(r.id)).items).to.have.length(1);

    const mail = ok(await email(r.id, {}), 201);
    await emailStatus(r.id, mail.id, 'sent');
    expect(expectProblem(await t.api.delete(`/v1/intervention-requests/${r.id}/exchanges/${mail.id}`, { token: tokens.caseworker }), 409).detail).to.match(
      /e-mail/,
    );
    const byAdmin = ok(await t.api.delete(`/v1/intervention-requests/${r.id}/exchanges/${mail.id}`, { token: tokens.admin }));
    expect(byAdmin.deleted).to.include({ by: users.admin, byAdmin: true });

    // With no window, an author can no longer delete their own.
    ok(await t.api.put('/v1/exchanges/settings', { token: tokens.admin, json: { deleteWindowMinutes: 0 } }));
    const late = ok(await sent(r.id, {}), 201);
    await new Promise((res) => setTimeout(res, 2_100)); // the settings cache of the instance
    expect(expectProblem(await t.api.delete(`/v1/intervention-requests/${r.id}/exchanges/${late.id}`, { token: tokens.caseworker }), 409).detail).to.match(
      /within 0 minutes/,
    );
    ok(await t.api.put('/v1/exchanges/settings', { token: tokens.admin, json: { deleteWindowMinutes: 60 } }));
  });

  it("keeps each org's type list, which must keep the reminder", async () => {
    const types = [
      { id: 'visit', label: 'Visite' },
      { id: 'reminder', label: 'Relance' },
    ];
    expect(expectProblem(await t.api.put('/v1/exchanges/settings', { token: tokens.admin, json: { types: types.slice(0, 1) } }), 422).detail).to.match(
      /reminder/,
    );
    expectProblem(await t.api.put('/v1/exchanges/settings', { token: tokens.caseworker, json: { types } }), 403);
    expect(ok(await t.api.put('/v1/exchanges/settings', { token: tokens.admin, json: { types } })).types).to.deep.equal(types);
    const r = await newRequest();
    await eventually(async () => (await sent(r.id, { type: 'visit' })).status === 201, { what: 'the new type' });
    expect(ok(await t.api.get('/v1/exchanges/settings', { token: otherAdmin })).types.map((x: { id: string }) => x.id)).to.include('contact');
  });
});
