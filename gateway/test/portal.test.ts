import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import nodemailer from 'nodemailer';
import { eventually } from '@relais/testing';
import { createOrgWithAdmin, createUserWithToken } from '../src/auth/accounts';
import { expectProblem, startTestStack, type Parsed, type Reply, type TestStack } from './support';

/**
 * The client portal over HTTP (seed 004): a client's contact signs in with the portal link staff
 * sent them, sees only their client's requests and what is visible to the client, posts on an
 * ongoing request; the request's collaborator and team are told, in the app and by e-mail.
 */
describe('through the gateway: the client portal and staff notifications', function () {
  this.timeout(240_000);
  let t: TestStack;
  const tokens: Record<string, string> = {};
  const users: Record<string, string> = {};
  let client: string;
  let otherClient: string;

  const ok = (reply: Reply, status = 200): Parsed => {
    expect(reply.status, JSON.stringify(reply.body)).to.equal(status);
    return reply.body;
  };
  const company = async (name: string, contact: [string, string]) => {
    const id = ok(await t.api.post('/v1/companies', { token: tokens.agent, json: { companyName: `${name} ${randomUUID().slice(0, 6)}` } }), 201).id as string;
    ok(
      await t.api.post(`/v1/parties/${id}/contacts`, { token: tokens.caseworker, json: { name: contact[0], function: 'Gestionnaire', email: contact[1] } }),
      201,
    );
    return id;
  };
  const newRequest = async (clientId: string, json: object = {}) =>
    ok(
      await t.api.post('/v1/intervention-requests', { token: tokens.caseworker, json: { clientId, title: 'Fuite sous l’évier', team: 'plomberie', ...json } }),
      201,
    );
  const grant = async (clientId: string, n = 1) =>
    ok(await t.api.post(`/v1/parties/${clientId}/contacts/${n}/portal-access`, { token: tokens.caseworker, json: {} }), 201);
  const notices = async (who: string, query = '') => ok(await t.api.get(`/v1/me/notifications${query}`, { token: tokens[who] }));

  before(async () => {
    t = await startTestStack();
    const org = await createOrgWithAdmin(t.gw.store, { name: `Plomberie ${randomUUID().slice(0, 8)}`, admin: { name: 'Admin', email: 'admin@portal.test' } });
    tokens.admin = org.token.token;
    users.admin = org.admin.id;
    for (const [role, teams] of [
      ['manager', []],
      ['caseworker', ['plomberie']],
      ['agent', ['plomberie', 'chauffage']],
    ] as const) {
      const u = await createUserWithToken(t.gw.store, org.org.id, { name: `Claire ${role}`, email: `${role}@portal.test`, role, teams: [...teams] });
      tokens[role] = u.token.token;
      users[role] = u.user.id;
    }
    client = await company('Résidence Les Filaos', ['Jeanne Payet', 'jeanne.payet@filaos.test']);
    otherClient = await company('Résidence Les Badamiers', ['Marc Grondin', 'marc@badamiers.test']);
  });

  after(async () => {
    await t?.close();
  });

  it('sends the contact a portal link, and the portal token reaches the portal routes only', async () => {
    const access = await grant(client);
    expect(access.token).to.match(/^rlp_/);
    expect(access).to.include({ clientId: client, contactNumber: 1, name: 'Jeanne Payet', email: 'jeanne.payet@filaos.test' });
    expect(access.link).to.equal(`http://localhost:3000/portal/#token=${access.token}`);
    const mail = await eventually(() => t.email.sent.find((m) => m.body.includes(access.token)), { what: 'the portal e-mail' });
    expect(mail.to).to.equal('jeanne.payet@filaos.test');

    expect(ok(await t.api.get('/v1/portal/me', { token: access.token }))).to.deep.equal({
      clientId: client,
      contactNumber: 1,
      name: 'Jeanne Payet',
      email: 'jeanne.payet@filaos.test',
    });
    // Nothing of the staff API: a portal token is not an API token, and an API token is not a portal token.
    expectProblem(await t.api.get(`/v1/parties/${client}/contacts`, { token: access.token }), 401);
    expectProblem(await t.api.get('/v1/me', { token: access.token }), 401);
    expectProblem(await t.api.get('/v1/portal/requests', { token: tokens.admin }), 401);
    expectProblem(await t.api.get('/v1/portal/requests'), 401);

    // The link works until it expires (30 days by default).
    const expires = new Date(access.expiresAt).getTime();
    expect(expires - Date.now()).to.be.within(29.9 * 86_400_000, 30 * 86_400_000);
    expect(await t.gw.store.portal.principalFor(access.token, t.gw.store.orgs, new Date(expires - 1000))).to.not.equal(null);
    expect(await t.gw.store.portal.principalFor(access.token, t.gw.store.orgs, new Date(expires + 1000))).to.equal(null);
    expect(ok(await t.api.get(`/v1/parties/${client}/portal-access`, { token: tokens.agent })).items.map((a: { id: string }) => a.id)).to.include(access.id);
    ok(await t.api.delete(`/v1/portal-access/${access.id}`, { token: tokens.caseworker }));
    expectProblem(await t.api.get('/v1/portal/me', { token: access.token }), 401);
  });

  it("shows the client's requests and what is visible to the client; another client's request is a 404", async () => {
    const r = await newRequest(client);
    const theirs = await newRequest(otherClient);
    ok(
      await t.api.post(`/v1/intervention-requests/${r.id}/exchanges/sent`, {
        token: tokens.caseworker,
        json: { type: 'contact', detail: 'Note interne', visibility: 'internal' },
      }),
      201,
    );
    ok(
      await t.api.post(`/v1/intervention-requests/${r.id}/exchanges/sent`, {
        token: tokens.caseworker,
        json: { type: 'appointment', subject: 'Rendez-vous', detail: 'Passage mardi 9h', visibility: 'client' },
      }),
      201,
    );
    const { token } = await grant(client);
    const list = ok(await t.api.get('/v1/portal/requests', { token }));
    expect(list.items.map((x: { id: string }) => x.id))
      .to.include(r.id)
      .and.not.include(theirs.id);
    const mine = ok(await t.api.get(`/v1/portal/requests/${r.id}`, { token }));
    expect(mine).to.include({ number: r.number, exchanges: 1, canPost: true });
    expect(mine.items).to.have.length(1);
    expect(mine.items[0]).to.include({
      subject: 'Rendez-vous',
      detail: 'Passage mardi 9h',
      from: 'Claire caseworker',
      to: 'Jeanne Payet',
      typeLabel: 'Prise de rendez-vous',
    });
    expectProblem(await t.api.get(`/v1/portal/requests/${theirs.id}`, { token }), 404);
    expectProblem(await t.api.post(`/v1/portal/requests/${theirs.id}/exchanges`, { token, json: { detail: 'Bonjour' } }), 404);
    expectProblem(await t.api.get(`/v1/portal/requests/${randomUUID()}`, { token }), 404);
  });

  it("records a post as a received exchange and tells the collaborator and the team, in the app and by e-mail, never the author's", async () => {
    const r = await newRequest(client);
    const { token } = await grant(client);
    const before = t.email.sent.length;
    const post = ok(await t.api.post(`/v1/portal/requests/${r.id}/exchanges`, { token, json: { subject: 'Accès', detail: 'Le gardien sera là jeudi.' } }), 201);
    expect(post).to.include({ direction: 'received', from: 'Jeanne Payet', origin: 'portal' });
    expectProblem(await t.api.post(`/v1/portal/requests/${r.id}/exchanges`, { token, json: { detail: ' ' } }), 422);

    const staffView = ok(await t.api.get(`/v1/intervention-requests/${r.id}/exchanges`, { token: tokens.agent })).items.find(
      (x: { id: string }) => x.id === post.id,
    );
    expect(staffView).to.include({ origin: 'portal', visibility: 'client', direction: 'received' });
    expect(staffView.sentBy).to.deep.include({ kind: 'contact', contactNumber: 1 });
    expect(staffView.receivedBy).to.deep.include({ kind: 'user', userId: users.caseworker });
    // A client's post is theirs: staff cannot delete it (admins can, audited).
    expectProblem(await t.api.delete(`/v1/intervention-requests/${r.id}/exchanges/${post.id}`, { token: tokens.caseworker }), 409);

    const assigned = await eventually(async () => (await notices('caseworker')).items.find((n: { exchangeId: string }) => n.exchangeId === post.id), {
      what: "the collaborator's notification",
    });
    expect(assigned).to.include({ reason: 'assigned', requestId: r.id, requestNumber: r.number, read: false, subject: 'Accès', origin: 'portal' });
    const team = await eventually(async () => (await notices('agent')).items.find((n: { exchangeId: string }) => n.exchangeId === post.id), {
      what: "the team's notification",
    });
    expect(team.reason).to.equal('team');
    expect((await notices('manager')).items).to.have.length(0);
    await eventually(() => t.email.sent.slice(before).filter((m) => m.subject === `${r.number} : nouveau message du client`).length === 2, {
      what: 'the two e-mails',
    });
    const to = t.email.sent
      .slice(before)
      .filter((m) => m.subject?.startsWith(r.number))
      .map((m) => m.to)
      .sort();
    expect(to).to.deep.equal(['agent@portal.test', 'caseworker@portal.test']);

    const unread = (await notices('caseworker')).unread;
    const read = ok(await t.api.patch(`/v1/me/notifications/${assigned.id}`, { token: tokens.caseworker, json: { read: true } }));
    expect(read.read).to.equal(true);
    expect((await notices('caseworker')).unread).to.equal(unread - 1);
    expect((await notices('caseworker', '?unread=true')).items.map((n: { id: string }) => n.id)).to.not.include(assigned.id);
    // Someone else's notification is theirs alone.
    expectProblem(await t.api.patch(`/v1/me/notifications/${assigned.id}`, { token: tokens.agent, json: { read: true } }), 404);
  });

  it('lets the contact download the files of an e-mail visible to the client, and nobody else', async () => {
    const r = await newRequest(client);
    await nodemailer.createTransport({ host: '127.0.0.1', port: t.inbound.port, secure: false, ignoreTLS: true }).sendMail({
      from: 'jeanne.payet@filaos.test',
      to: `reply+${r.id}@${t.inbound.domain}`,
      subject: 'Photos',
      text: 'Voici la fuite.',
      attachments: [{ filename: 'fuite.txt', content: 'goutte à goutte' }],
    });
    const { token } = await grant(client);
    const x = await eventually(
      async () => ok(await t.api.get(`/v1/portal/requests/${r.id}`, { token })).items.find((i: { subject: string }) => i.subject === 'Photos'),
      {
        what: 'the e-mail on the portal',
      },
    );
    expect(x.attachments).to.have.length(1);
    const path = `/v1/portal/requests/${r.id}/exchanges/${x.id}/attachments/${x.attachments[0].id}`;
    const file = await t.api.get(path, { token });
    expect(file.status).to.equal(200);
    expect(file.body).to.equal('goutte à goutte');
    expect(file.headers.get('content-disposition')).to.match(/fuite\.txt/);
    // Another client's contact, and a staff token, reach nothing of it.
    const theirs = (await grant(otherClient)).token;
    expectProblem(await t.api.get(path, { token: theirs }), 404);
    expectProblem(await t.api.get(path, { token: tokens.admin }), 401);
  });

  it('takes posts on an ongoing request or one done less than the window ago, never on a closed one', async () => {
    const { token } = await grant(client);
    const done = await newRequest(client);
    ok(await t.api.patch(`/v1/intervention-requests/${done.id}`, { token: tokens.caseworker, json: { status: 'done' } }));
    ok(await t.api.post(`/v1/portal/requests/${done.id}/exchanges`, { token, json: { detail: 'Merci, tout fonctionne.' } }), 201);

    const closed = await newRequest(client);
    ok(await t.api.patch(`/v1/intervention-requests/${closed.id}`, { token: tokens.caseworker, json: { status: 'closed' } }));
    expect(expectProblem(await t.api.post(`/v1/portal/requests/${closed.id}/exchanges`, { token, json: { detail: 'Encore moi' } }), 409).detail).to.match(
      /closed/,
    );

    ok(await t.api.put('/v1/exchanges/settings', { token: tokens.admin, json: { portalPostDays: 0 } }));
    await new Promise((res) => setTimeout(res, 2_100)); // the settings cache of the instance
    expect(expectProblem(await t.api.post(`/v1/portal/requests/${done.id}/exchanges`, { token, json: { detail: 'Une question' } }), 409).detail).to.match(
      /more than 0 days ago/,
    );
    expect(ok(await t.api.get(`/v1/portal/requests/${done.id}`, { token })).canPost).to.equal(false);
    ok(await t.api.put('/v1/exchanges/settings', { token: tokens.admin, json: { portalPostDays: 15 } }));
  });
});
