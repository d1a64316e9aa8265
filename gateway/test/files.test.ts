import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { DurableEvents, connectDatabase, makeEnvelope } from '@relais/shared';
import { eventually } from '@relais/testing';
import { ProviderError } from '@relais/testing/notifications';
import { createOrgWithAdmin, createUserWithToken } from '../src/auth/accounts';
import { expectProblem, startTestStack, type Reply, type TestStack } from './support';

/**
 * A collections file over HTTP (seed 002): companies and people as parties, co-debtors and
 * guarantors with their own channels, one default per channel kind across the file, the file's
 * assignment to a collaborator, and an admin's erasure of a channel.
 */
describe('through the gateway: parties, collections files and their assignment', function () {
  this.timeout(180_000);
  let t: TestStack;
  const tokens: Record<string, string> = {};
  const users: Record<string, string> = {};
  let otherOrg: { token: string; userId: string };

  const ok = (reply: Reply, status = 200) => {
    expect(reply.status, JSON.stringify(reply.body)).to.equal(status);
    return reply.body;
  };
  const put = (path: string, token: string, json: unknown) => t.api.request('PUT', path, { token, json });

  before(async () => {
    t = await startTestStack();
    const org = await createOrgWithAdmin(t.gw.store, {
      name: `Recouvrement ${randomUUID().slice(0, 8)}`,
      region: 'FR',
      timeZone: 'Europe/Paris',
      admin: { name: 'Admin', email: 'admin@rec.test' },
    });
    tokens.admin = org.token.token;
    users.admin = org.admin.id;
    for (const role of ['caseworker', 'agent'] as const) {
      const created = await createUserWithToken(t.gw.store, org.org.id, { name: role, email: `${role}@rec.test`, role });
      tokens[role] = created.token.token;
      users[role] = created.user.id;
    }
    const other = await createOrgWithAdmin(t.gw.store, { name: `Other ${randomUUID().slice(0, 8)}`, admin: { name: 'B', email: 'b@other.test' } });
    otherOrg = { token: other.token.token, userId: other.admin.id };
  });

  after(async () => {
    await t?.close();
  });

  it('opens a company, validates its SIREN, and finds people and companies by kind and name', async () => {
    const company = ok(
      await t.api.post('/v1/companies', { token: tokens.agent, json: { companyName: 'Transports Hoarau', siren: '732 829 320', legalForm: 'SARL' } }),
      201,
    );
    expect(company).to.include({ kind: 'company', companyName: 'Transports Hoarau', siren: '732829320' });
    const bad = expectProblem(await t.api.post('/v1/companies', { token: tokens.agent, json: { companyName: 'X', siren: '732829321' } }), 422);
    expect(bad.errors).to.deep.equal([{ path: 'siren', message: 'is not a valid SIREN (its check digit does not match)' }]);
    const person = ok(await t.api.post('/v1/people', { token: tokens.agent, json: { lastName: 'Hoarau', firstName: 'Marie' } }), 201);

    const all = ok(await t.api.get('/v1/parties?name=hoarau', { token: tokens.agent }));
    expect(all.items.map((p: { name: string; kind: string }) => `${p.kind}:${p.name}`)).to.deep.equal(['person:Marie Hoarau', 'company:Transports Hoarau']);
    const companies = ok(await t.api.get('/v1/parties?name=hoarau&kind=company', { token: tokens.agent }));
    expect(companies.items.map((p: { id: string }) => p.id)).to.deep.equal([company.id]);
    // A company id is not a person's, and back.
    expectProblem(await t.api.get(`/v1/people/${company.id}`, { token: tokens.agent }), 404);
    expectProblem(await t.api.get(`/v1/companies/${person.id}`, { token: tokens.agent }), 404);
    expect(ok(await t.api.patch(`/v1/companies/${company.id}`, { token: tokens.agent, json: { legalForm: null } }))).to.not.have.property('legalForm');
    expectProblem(await t.api.get(`/v1/parties/${company.id}`, { token: otherOrg.token }), 404);
  });

  it('keeps one default per channel kind across the debtors of a collections file', async () => {
    const debtor = ok(await t.api.post('/v1/companies', { token: tokens.agent, json: { companyName: 'Boulangerie Payet' } }), 201);
    const guarantor = ok(await t.api.post('/v1/people', { token: tokens.agent, json: { lastName: 'Payet', firstName: 'Jean' } }), 201);
    const addPhone = async (partyId: string, number: string) =>
      ok(await t.api.post(`/v1/parties/${partyId}/channels`, { token: tokens.caseworker, json: { kind: 'phone', type: 'mobile', number } }), 201);
    const qualify = (partyId: string, channelId: string, json: object) =>
      t.api.post(`/v1/parties/${partyId}/channels/${channelId}/qualification`, { token: tokens.caseworker, json });
    const companyPhone = await addPhone(debtor.id, '06 12 34 56 78');
    const guarantorPhone = await addPhone(guarantor.id, '06 98 76 54 32');

    expectProblem(await t.api.post(`/v1/parties/${debtor.id}/debtors`, { token: tokens.agent, json: { debtorId: guarantor.id, role: 'guarantor' } }), 403);
    const file = ok(
      await t.api.post(`/v1/parties/${debtor.id}/debtors`, { token: tokens.caseworker, json: { debtorId: guarantor.id, role: 'guarantor' } }),
      201,
    );
    expect(file.debtors.map((d: { partyId: string; role: string; name: string }) => [d.partyId, d.role, d.name])).to.deep.equal([
      [guarantor.id, 'guarantor', 'Jean Payet'],
    ]);
    // The same link again changes nothing; the guarantor's own file says whose debtor it is.
    expect(
      ok(await t.api.post(`/v1/parties/${debtor.id}/debtors`, { token: tokens.caseworker, json: { debtorId: guarantor.id, role: 'guarantor' } }), 201).debtors,
    ).to.have.length(1);
    expect(ok(await t.api.get(`/v1/parties/${guarantor.id}`, { token: tokens.agent })).debtorOf).to.deep.equal({
      partyId: debtor.id,
      name: 'Boulangerie Payet',
      role: 'guarantor',
    });
    // A debtor is on one file only, and a file with debtors is no one's debtor.
    const third = ok(await t.api.post('/v1/people', { token: tokens.agent, json: { lastName: 'Grondin', firstName: 'Luc' } }), 201);
    expectProblem(await t.api.post(`/v1/parties/${third.id}/debtors`, { token: tokens.caseworker, json: { debtorId: guarantor.id, role: 'coDebtor' } }), 409);
    expectProblem(await t.api.post(`/v1/parties/${third.id}/debtors`, { token: tokens.caseworker, json: { debtorId: debtor.id, role: 'coDebtor' } }), 409);
    expectProblem(await t.api.post(`/v1/parties/${debtor.id}/debtors`, { token: tokens.caseworker, json: { debtorId: debtor.id, role: 'coDebtor' } }), 422);

    for (const [party, phone] of [
      [debtor, companyPhone],
      [guarantor, guarantorPhone],
    ] as const) {
      ok(await qualify(party.id, phone.id, { action: 'validate', evidence: { kind: 'outboundCall' } }));
    }
    expect(ok(await qualify(debtor.id, companyPhone.id, { action: 'setDefault' }))).to.include({ state: 'default' });
    // The guarantor's phone would be a second default phone on the file: confirm, or a 409 names the current one.
    const refused = expectProblem(await qualify(guarantor.id, guarantorPhone.id, { action: 'setDefault' }), 409);
    expect(refused.detail).to.equal(
      'The default phone of this file is the mobile phone +33 6 12 34 56 78 of Boulangerie Payet; confirm to use the mobile phone +33 6 98 76 54 32 instead.',
    );
    expect(ok(await qualify(guarantor.id, guarantorPhone.id, { action: 'setDefault', confirm: true }))).to.include({ state: 'default' });

    const view = ok(await t.api.get(`/v1/parties/${debtor.id}`, { token: tokens.agent }));
    expect(view.defaults.phone).to.include({ id: guarantorPhone.id, partyId: guarantor.id });
    expect(view.defaults.email).to.equal(null);
    const channels = ok(await t.api.get(`/v1/parties/${debtor.id}/channels?file=true`, { token: tokens.agent }));
    expect(channels.items.map((c: { id: string; state: string }) => [c.id, c.state])).to.deep.equal([
      [companyPhone.id, 'validated'],
      [guarantorPhone.id, 'default'],
    ]);
    const history = ok(await t.api.get(`/v1/parties/${debtor.id}/channels/${companyPhone.id}/history`, { token: tokens.agent }));
    expect(history.items[0]).to.include({ action: 'defaultReplaced', otherChannelId: guarantorPhone.id });

    // The file keeps at least one phone or e-mail across its debtors: the company may lose its last one while the guarantor has one.
    ok(await t.api.delete(`/v1/parties/${debtor.id}/channels/${companyPhone.id}`, { token: tokens.caseworker }));
    expectProblem(await t.api.delete(`/v1/parties/${guarantor.id}/channels/${guarantorPhone.id}`, { token: tokens.caseworker }), 409);

    // Taken off the file, the guarantor is a file of its own again.
    const after = ok(await t.api.delete(`/v1/parties/${debtor.id}/debtors/${guarantor.id}`, { token: tokens.caseworker }));
    expect(after.debtors).to.deep.equal([]);
    expect(ok(await t.api.get(`/v1/parties/${guarantor.id}`, { token: tokens.agent })).debtorOf).to.equal(null);
    expectProblem(await t.api.delete(`/v1/parties/${debtor.id}/debtors/${guarantor.id}`, { token: tokens.caseworker }), 404);
  });

  it('assigns a file to a collaborator of the org, lists files by assignee, and keeps the history', async () => {
    const party = ok(await t.api.post('/v1/people', { token: tokens.agent, json: { lastName: 'Zitte', firstName: 'Anna' } }), 201);
    const path = `/v1/parties/${party.id}/assignment`;
    expectProblem(await put(path, tokens.agent, { userId: users.caseworker }), 403);
    const unknown = expectProblem(await put(path, tokens.caseworker, { userId: randomUUID() }), 422);
    expect(unknown.errors).to.deep.equal([{ path: 'userId', message: 'is not a user of this organisation' }]);
    expectProblem(await put(path, tokens.caseworker, { userId: otherOrg.userId }), 422);

    expect(ok(await put(path, tokens.caseworker, { userId: users.caseworker })).assignedTo).to.equal(users.caseworker);
    const mine = ok(await t.api.get('/v1/parties?assignedTo=me&name=zitte', { token: tokens.caseworker }));
    expect(mine.items.map((p: { id: string }) => p.id)).to.deep.equal([party.id]);
    expect(ok(await t.api.get(`/v1/parties?assignedTo=${users.admin}&name=zitte`, { token: tokens.agent })).items).to.deep.equal([]);
    ok(await put(path, tokens.caseworker, { userId: users.admin }));
    ok(await put(path, tokens.admin, { userId: null }));
    expect(ok(await t.api.get('/v1/parties?assignedTo=nobody&name=zitte', { token: tokens.agent })).items).to.have.length(1);

    const history = ok(await t.api.get(path, { token: tokens.agent }));
    expect(history.assignedTo).to.equal(null);
    expect(history.items.map((h: { assignedTo: string | null; previous: string | null; by: string }) => [h.assignedTo, h.previous, h.by])).to.deep.equal([
      [null, users.admin, users.admin],
      [users.admin, users.caseworker, users.caseworker],
      [users.caseworker, null, users.caseworker],
    ]);

    // A disabled user cannot be given files.
    ok(await t.api.patch(`/v1/users/${users.agent}`, { token: tokens.admin, json: { disabled: true } }));
    expect(expectProblem(await put(path, tokens.admin, { userId: users.agent }), 422).errors).to.deep.equal([{ path: 'userId', message: 'is deactivated' }]);
    expectProblem(await put(path, otherOrg.token, { userId: otherOrg.userId }), 404);
    ok(await t.api.patch(`/v1/users/${users.agent}`, { token: tokens.admin, json: { disabled: false } }));
  });

  it('lets only an admin erase a channel for good, keeping that it was erased but not its value', async () => {
    const party = ok(await t.api.post('/v1/people', { token: tokens.admin, json: { lastName: 'Erase', firstName: 'Eva' } }), 201);
    const base = `/v1/parties/${party.id}/channels`;
    ok(await t.api.post(base, { token: tokens.admin, json: { kind: 'email', type: 'private', email: 'eva@example.fr' } }), 201);
    const wrong = ok(await t.api.post(base, { token: tokens.admin, json: { kind: 'email', type: 'private', email: 'eva.old@example.fr' } }), 201);
    expectProblem(await t.api.delete(`${base}/${wrong.id}?erase=true`, { token: tokens.caseworker }), 403);
    const left = ok(await t.api.delete(`${base}/${wrong.id}?erase=true&reason=typo`, { token: tokens.admin }));
    expect(left.items.map((c: { email: string }) => c.email)).to.deep.equal(['eva@example.fr']);
    expectProblem(await t.api.get(`${base}/${wrong.id}/history`, { token: tokens.admin }), 404);
    const db = await connectDatabase(t.config, 'contacts');
    try {
      const stored = await db.collection('parties').findOne({ _id: party.id } as never);
      expect(JSON.stringify(stored)).to.not.include('eva.old');
      expect(stored!.erasedChannels).to.have.length(1);
      expect(stored!.erasedChannels[0]).to.include({ channelId: wrong.id, kind: 'email', erasedBy: users.admin, reason: 'typo' });
    } finally {
      await db.close();
    }
  });

  describe('contact actions', () => {
    let orgId: string;
    before(async () => {
      orgId = (await t.api.get('/v1/me', { token: tokens.admin })).body.org.id;
    });

    it("records a call through the file's default phone, and lets its outcome qualify the number", async () => {
      const debtor = ok(await t.api.post('/v1/people', { token: tokens.agent, json: { lastName: 'Techer', firstName: 'Paul' } }), 201);
      const base = `/v1/parties/${debtor.id}`;
      const mobile = ok(
        await t.api.post(`${base}/channels`, { token: tokens.caseworker, json: { kind: 'phone', type: 'mobile', number: '06 11 22 33 44' } }),
        201,
      );
      const office = ok(
        await t.api.post(`${base}/channels`, { token: tokens.caseworker, json: { kind: 'phone', type: 'professional', number: '01 40 00 00 01' } }),
        201,
      );
      // No default phone yet: the call must name its channel.
      const none = expectProblem(await t.api.post(`${base}/contact-actions`, { token: tokens.caseworker, json: { type: 'call', outcome: 'reached' } }), 422);
      expect(none.errors).to.deep.equal([
        { path: 'channelId', message: 'This file has no default phone number for a call: choose a channel (channelId) or make one the default.' },
      ]);
      expectProblem(await t.api.post(`${base}/contact-actions`, { token: tokens.caseworker, json: { type: 'call' } }), 422);
      expectProblem(
        await t.api.post(`${base}/contact-actions`, { token: tokens.agent, json: { type: 'call', outcome: 'reached', channelId: mobile.id } }),
        403,
      );

      const reached = ok(
        await t.api.post(`${base}/contact-actions`, {
          token: tokens.caseworker,
          json: { type: 'call', outcome: 'reached', channelId: mobile.id, note: 'Will pay on the 15th' },
        }),
        201,
      );
      expect(reached).to.include({
        type: 'call',
        direction: 'outbound',
        outcome: 'reached',
        status: 'recorded',
        channelChange: 'validated',
        channel: 'mobile phone +33 6 11 22 33 44',
      });
      ok(await t.api.post(`${base}/channels/${mobile.id}/qualification`, { token: tokens.caseworker, json: { action: 'setDefault' } }));
      const unanswered = ok(await t.api.post(`${base}/contact-actions`, { token: tokens.caseworker, json: { type: 'call', outcome: 'noAnswer' } }), 201);
      expect(unanswered).to.include({ channelId: mobile.id, channelChange: null });
      const wrong = ok(
        await t.api.post(`${base}/contact-actions`, { token: tokens.caseworker, json: { type: 'call', outcome: 'wrongPerson', channelId: office.id } }),
        201,
      );
      expect(wrong.channelChange).to.equal('invalidated');
      const history = ok(await t.api.get(`${base}/channels/${mobile.id}/history`, { token: tokens.agent }));
      expect(history.items.at(-1)).to.include({
        action: 'validate',
        by: users.caseworker,
        automatic: false,
        summary: 'validated: an outbound call got through (Will pay on the 15th)',
      });

      // A retry with the same key records nothing twice.
      const key = { 'idempotency-key': `letter-${debtor.id}` };
      const postal = ok(
        await t.api.post(`${base}/channels`, {
          token: tokens.caseworker,
          json: { kind: 'postal', address: { street: '3 rue Jean Chatel', postalCode: '97400', city: 'Saint-Denis' } },
        }),
        201,
      );
      const letter = { token: tokens.caseworker, headers: key, json: { type: 'letter', channelId: postal.id, note: 'Formal notice' } };
      const sent = ok(await t.api.post(`${base}/contact-actions`, letter), 201);
      expect(ok(await t.api.post(`${base}/contact-actions`, letter), 201).id).to.equal(sent.id);
      const listed = ok(await t.api.get(`${base}/contact-actions`, { token: tokens.agent }));
      expect(listed.items.map((a: { type: string; outcome?: string }) => a.outcome ?? a.type)).to.deep.equal(['letter', 'wrongPerson', 'noAnswer', 'reached']);
      expectProblem(await t.api.get(`${base}/contact-actions`, { token: otherOrg.token }), 404);
    });

    it('takes a delivered SMS as evidence for the number, and a permanent "not a mobile" as its invalidation', async () => {
      const person = ok(await t.api.post('/v1/people', { token: tokens.agent, json: { lastName: 'Rivière', firstName: 'Léa' } }), 201);
      const base = `/v1/parties/${person.id}/channels`;
      const mobile = ok(await t.api.post(base, { token: tokens.caseworker, json: { kind: 'phone', type: 'mobile', number: '06 55 44 33 22' } }), 201);
      const second = ok(await t.api.post(base, { token: tokens.caseworker, json: { kind: 'phone', type: 'mobile', number: '07 55 44 33 22' } }), 201);
      const bus = await DurableEvents.connect({ natsUrl: t.config.NATS_URL, namespace: t.config.RELAIS_NAMESPACE, name: 'notifications-test' });
      try {
        const outcome = (to: string, status: 'delivered' | 'failed', error: null | { code: string; kind: 'notAMobile' | 'other'; permanent: boolean }) =>
          makeEnvelope('delivery.outcome', orgId, {
            deliveryId: randomUUID(),
            personId: person.id,
            medium: 'sms',
            to,
            type: 'mail.letter',
            ref: null,
            status,
            error,
            occurredAt: new Date().toISOString(),
          });
        const delivered = outcome('+33655443322', 'delivered', null);
        await bus.publish([delivered, delivered, outcome('+33755443322', 'failed', { code: '30003', kind: 'other', permanent: false })]);
        const state = async (id: string) =>
          (ok(await t.api.get(`${base}?showInvalid=true`, { token: tokens.agent })).items as { id: string; state: string }[]).find((c) => c.id === id)!.state;
        await eventually(async () => (await state(mobile.id)) === 'validated', { what: 'the delivered SMS validated the mobile' });
        const history = ok(await t.api.get(`${base}/${mobile.id}/history`, { token: tokens.agent }));
        expect(history.items).to.have.length(1);
        expect(history.items[0]).to.include({ by: 'notifications', automatic: true, summary: 'validated: an SMS was delivered' });
        expect(await state(second.id)).to.equal('pending');

        await bus.publish([outcome('+33755443322', 'failed', { code: '21614', kind: 'notAMobile', permanent: true })]);
        await eventually(async () => (await state(second.id)) === 'invalid', { what: '"not a mobile" invalidated the second mobile' });
      } finally {
        await bus.close();
      }
    });

    it('sends an SMS from the file through notifications, whose delivery validates the number or marks it invalid', async () => {
      const person = ok(await t.api.post('/v1/people', { token: tokens.agent, json: { lastName: 'Payet', firstName: 'Jules' } }), 201);
      const base = `/v1/parties/${person.id}`;
      const mobile = ok(
        await t.api.post(`${base}/channels`, { token: tokens.caseworker, json: { kind: 'phone', type: 'mobile', number: '06 12 11 22 33' } }),
        201,
      );
      const other = ok(
        await t.api.post(`${base}/channels`, { token: tokens.caseworker, json: { kind: 'phone', type: 'mobile', number: '06 13 44 55 66' } }),
        201,
      );
      const sms = (channelId: string, text: string, key?: string) =>
        t.api.post(`${base}/contact-actions`, {
          token: tokens.caseworker,
          json: { type: 'sms', channelId, text },
          ...(key ? { headers: { 'idempotency-key': key } } : {}),
        });
      const action = async (id: string) =>
        (ok(await t.api.get(`${base}/contact-actions`, { token: tokens.agent })).items as { id: string; status: string }[]).find((a) => a.id === id)!;
      const state = async (id: string) =>
        (ok(await t.api.get(`${base}/channels?showInvalid=true`, { token: tokens.agent })).items as { id: string; state: string }[]).find((c) => c.id === id)!
          .state;

      // SMS are off for a new org: notifications refuses, and nothing is recorded.
      const off = expectProblem(await sms(mobile.id, 'Bonjour'), 409);
      expect(off.detail).to.match(/SMS are switched off/);
      expect(ok(await t.api.get(`${base}/contact-actions`, { token: tokens.agent })).items).to.have.length(0);
      ok(await put('/v1/notifications/settings', tokens.admin, { smsEnabled: true, senderId: 'RECOUV', signature: 'Recouv' }));

      const sent = ok(await sms(mobile.id, 'Merci de nous rappeler au 0262 00 00 00.', `sms-${person.id}`), 201);
      expect(sent).to.include({ type: 'sms', channelId: mobile.id, status: 'queued' });
      expect(sent.deliveryId).to.be.a('string');
      // The same request again sends nothing twice.
      expect(ok(await sms(mobile.id, 'Merci de nous rappeler au 0262 00 00 00.', `sms-${person.id}`), 201).id).to.equal(sent.id);
      const message = await eventually(() => t.sms.sent.find((m) => m.deliveryId === sent.deliveryId), { what: 'the SMS reached the provider' });
      expect(message).to.include({ to: '+33612112233', from: 'RECOUV', body: 'Merci de nous rappeler au 0262 00 00 00. Recouv' });
      await new Promise((r) => setTimeout(r, 300));
      expect(t.sms.sent.filter((m) => m.deliveryId === sent.deliveryId)).to.have.length(1);
      // The operator reports it delivered (Twilio's status callback names the delivery): the number is validated by that evidence, the action settled.
      await t.gw.broker.call(
        'notifications.providerStatus',
        { deliveryId: sent.deliveryId, providerId: message.providerId, status: 'delivered' },
        { meta: { system: true } },
      );
      await eventually(async () => (await state(mobile.id)) === 'validated', { what: 'the delivered SMS validated the mobile' });
      await eventually(async () => (await action(sent.id)).status === 'delivered', { what: 'the contact action took the delivery status' });
      const history = ok(await t.api.get(`${base}/channels/${mobile.id}/history`, { token: tokens.agent }));
      expect(history.items.at(-1)).to.include({ automatic: true, summary: 'validated: an SMS was delivered' });

      // The operator refuses the second number as not a mobile: a permanent failure marks it invalid.
      t.sms.failNext(new ProviderError('The To phone number is not a mobile number', false, '21614'));
      const refused = ok(await sms(other.id, 'Bonjour'), 201);
      await eventually(async () => (await state(other.id)) === 'invalid', { what: '"not a mobile" invalidated the number' });
      await eventually(async () => (await action(refused.id)).status === 'failed', { what: 'the contact action failed with its delivery' });
    });

    it('sends an e-mail from the file through notifications: accepted, it validates the address; a hard bounce marks it invalid', async () => {
      const debtor = ok(await t.api.post('/v1/people', { token: tokens.agent, json: { lastName: 'Hoarau', firstName: 'Marie' } }), 201);
      const base = `/v1/parties/${debtor.id}`;
      const office = ok(
        await t.api.post(`${base}/channels`, { token: tokens.caseworker, json: { kind: 'email', type: 'professional', email: 'Compta@Transports-Hoarau.fr' } }),
        201,
      );
      const old = ok(
        await t.api.post(`${base}/channels`, { token: tokens.caseworker, json: { kind: 'email', type: 'professional', email: 'ancien@transports-hoarau.fr' } }),
        201,
      );
      const mobile = ok(
        await t.api.post(`${base}/channels`, { token: tokens.caseworker, json: { kind: 'phone', type: 'mobile', number: '06 92 11 22 33' } }),
        201,
      );
      const email = (json: object, key?: string) =>
        t.api.post(`${base}/contact-actions`, {
          token: tokens.caseworker,
          json: { type: 'email', ...json },
          ...(key ? { headers: { 'idempotency-key': key } } : {}),
        });
      const action = async (id: string) =>
        (ok(await t.api.get(`${base}/contact-actions`, { token: tokens.agent })).items as { id: string; status: string; channelChange: string | null }[]).find(
          (a) => a.id === id,
        )!;
      const state = async (id: string) =>
        (ok(await t.api.get(`${base}/channels?showInvalid=true`, { token: tokens.agent })).items as { id: string; state: string }[]).find((c) => c.id === id)!
          .state;

      // What an e-mail needs, said field by field, and nothing recorded or sent.
      const missing = expectProblem(await email({ channelId: office.id }), 422);
      expect(JSON.stringify(missing))
        .to.match(/subject/)
        .and.to.match(/text/);
      expectProblem(await email({ channelId: office.id, subject: 'Relance', text: 'x'.repeat(10_001) }), 422);
      expectProblem(
        await t.api.post(`${base}/contact-actions`, { token: tokens.caseworker, json: { type: 'sms', channelId: mobile.id, text: 'x'.repeat(1_001) } }),
        422,
      );
      expectProblem(
        await t.api.post(`${base}/contact-actions`, { token: tokens.caseworker, json: { type: 'call', outcome: 'reached', subject: 'Relance' } }),
        422,
      );
      const wrong = expectProblem(await email({ channelId: mobile.id, subject: 'Relance', text: 'Bonjour' }), 422);
      expect(wrong.detail ?? JSON.stringify(wrong)).to.match(/e-mail address/);
      // No default e-mail on the file yet: the message says to choose one.
      expect(JSON.stringify(expectProblem(await email({ subject: 'Relance', text: 'Bonjour' }), 422))).to.match(/no default e-mail address/);
      expect(ok(await t.api.get(`${base}/contact-actions`, { token: tokens.agent })).items).to.have.length(0);

      // The org's signature closes the e-mail on a line of its own.
      ok(await put('/v1/notifications/settings', tokens.admin, { signature: 'Service recouvrement' }));
      const text = 'Bonjour,\n\nnous attendons votre règlement de la facture 2026-118.';
      const sent = ok(await email({ channelId: office.id, subject: 'Facture 2026-118', text }, `email-${debtor.id}`), 201);
      expect(sent).to.include({ type: 'email', channelId: office.id, subject: 'Facture 2026-118', text, status: 'queued' });
      expect(ok(await email({ channelId: office.id, subject: 'Facture 2026-118', text }, `email-${debtor.id}`), 201).id).to.equal(sent.id);
      const message = await eventually(() => t.email.sent.find((m) => m.deliveryId === sent.deliveryId), { what: 'the e-mail reached the provider' });
      expect(message).to.include({ channel: 'email', to: 'Compta@transports-hoarau.fr', subject: 'Facture 2026-118', body: `${text}\n\nService recouvrement` });
      await eventually(async () => (await action(sent.id)).status === 'delivered', { what: 'the contact action took the delivery status' });
      await eventually(async () => (await state(office.id)) === 'validated', { what: 'the delivered e-mail validated the address' });
      expect(await action(sent.id)).to.include({ channelChange: 'validated' });
      const history = ok(await t.api.get(`${base}/channels/${office.id}/history`, { token: tokens.agent }));
      expect(history.items.at(-1)).to.include({ by: 'notifications', automatic: true });
      expect(t.email.sent.filter((m) => m.deliveryId === sent.deliveryId)).to.have.length(1);
      // The person's delivery history shows it beside the SMS.
      const deliveries = ok(await t.api.get(`/v1/people/${debtor.id}/sms-history`, { token: tokens.caseworker }));
      expect(deliveries.entries.find((e: { id: string }) => e.id === sent.deliveryId)).to.include({
        channel: 'email',
        type: 'contact.email',
        status: 'delivered',
        subject: 'Facture 2026-118',
      });

      // The SMTP server refuses the old address for good: the address is marked invalid, the action failed.
      t.email.failNext(new ProviderError('SMTP server answered 550 5.1.1 User unknown', false, '550'));
      const bounced = ok(await email({ channelId: old.id, subject: 'Relance', text: 'Bonjour' }), 201);
      await eventually(async () => (await state(old.id)) === 'invalid', { what: 'the hard bounce invalidated the address' });
      await eventually(async () => (await action(bounced.id)).status === 'failed', { what: 'the contact action failed with its delivery' });
    });
  });
});
