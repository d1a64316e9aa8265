import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { DateTime } from 'luxon';
import { createOrgWithAdmin, createUserWithToken } from '../src/auth/accounts';
import { expectProblem, startTestStack, type Reply, type TestStack } from './support';

type Contact = {
  number: number;
  name: string;
  function: string;
  displayOrder: number;
  email: string | null;
  phones: { type: string; e164: string }[];
  address: { street: string; city: string; postalCode?: string } | null;
  addressCopiedFrom: string | null;
  consents: Record<string, boolean>;
  routingRoles: string[];
  endDate: string | null;
  active: boolean;
  self: boolean;
};

/**
 * Client contacts over HTTP (seed 003): the gateway and the contacts service on brokers of their
 * own over real NATS, on the real database. Numbering, required fields, display order, channels'
 * validation, the client's address, the individual client's own contact, consents and their
 * ledger, routing roles, validity on a date, revisions, and the admins' physical deletion.
 */
describe('through the gateway: client contacts', function () {
  this.timeout(180_000);
  let t: TestStack;
  const tokens: Record<string, string> = {};
  let otherAdmin: string;
  let orgId: string;
  const zone = 'Indian/Reunion';
  const today = () => DateTime.now().setZone(zone).toISODate()!;
  const dayFrom = (days: number) => DateTime.now().setZone(zone).plus({ days }).toISODate()!;

  const ok = (reply: Reply, status = 200) => {
    expect(reply.status, JSON.stringify(reply.body)).to.equal(status);
    return reply.body;
  };
  const company = async (name = `Transports Payet ${randomUUID().slice(0, 6)}`) =>
    ok(await t.api.post('/v1/companies', { token: tokens.agent, json: { companyName: name } }), 201).id as string;
  const create = (partyId: string, json: object, token = tokens.caseworker, headers?: Record<string, string>) =>
    t.api.post(`/v1/parties/${partyId}/contacts`, { token, json, headers });
  const created = async (partyId: string, json: object) => ok(await create(partyId, json), 201) as Contact;
  const list = async (partyId: string, query = '', token = tokens.agent) =>
    ok(await t.api.get(`/v1/parties/${partyId}/contacts${query}`, { token })) as { validAsOf: string; all: boolean; items: Contact[] };
  const patch = (partyId: string, n: number, json: object, token = tokens.caseworker) => t.api.patch(`/v1/parties/${partyId}/contacts/${n}`, { token, json });
  const recipients = async (partyId: string, query: string) => ok(await t.api.get(`/v1/parties/${partyId}/recipients?${query}`, { token: tokens.agent }));

  before(async () => {
    t = await startTestStack();
    const org = await createOrgWithAdmin(t.gw.store, {
      name: `Assurances ${randomUUID().slice(0, 8)}`,
      region: 'RE',
      timeZone: zone,
      admin: { name: 'Admin', email: 'admin@cc.test' },
    });
    tokens.admin = org.token.token;
    orgId = org.org.id;
    for (const role of ['manager', 'caseworker', 'agent'] as const) {
      tokens[role] = (await createUserWithToken(t.gw.store, org.org.id, { name: role, email: `${role}@cc.test`, role })).token.token;
    }
    otherAdmin = (await createOrgWithAdmin(t.gw.store, { name: `Other ${randomUUID().slice(0, 8)}`, admin: { name: 'B', email: 'b@other.test' } })).token.token;
  });

  after(async () => {
    await t?.close();
  });

  it('numbers contacts 1, 2, 3 on each client, requires a name and a function, and lists them in display order', async () => {
    const partyId = await company();
    const missing = expectProblem(await create(partyId, {}), 422);
    expect(missing.errors).to.deep.equal([
      { path: 'name', message: 'is required' },
      { path: 'function', message: 'is required' },
    ]);
    expect(missing.detail).to.equal('Invalid input: name: is required; function: is required');
    expect(expectProblem(await create(partyId, { name: '  ', function: 'DAF' }), 422).errors).to.deep.equal([{ path: 'name', message: 'cannot be empty' }]);
    expect(expectProblem(await create(partyId, { name: 'A', function: 'B', number: 7 }), 422).errors![0].message).to.match(/unknown field/);

    const first = await created(partyId, { name: 'Jeanne Payet', function: 'Comptable', displayOrder: 2 });
    const second = await created(partyId, { name: 'Paul Payet', function: 'Gérant', displayOrder: 1 });
    const third = await created(partyId, { name: 'Luc Grondin', function: 'Assistant', displayOrder: 2 });
    const fourth = await created(partyId, { name: 'Anne Hoarau', function: 'Stagiaire' });
    expect([first, second, third, fourth].map((c) => c.number)).to.deep.equal([1, 2, 3, 4]);
    // Without an order, last.
    expect(fourth.displayOrder).to.equal(3);
    expect(first).to.include({ email: null, address: null, endDate: null, active: true, self: false });
    expect(first.consents).to.deep.equal({ electronicSignature: false, commercialEmails: false, partnerEmails: false });
    // 1 first; the same order by number.
    expect((await list(partyId)).items.map((c) => c.number)).to.deep.equal([2, 1, 3, 4]);
    // Another client numbers from 1.
    expect((await created(await company(), { name: 'X', function: 'Y' })).number).to.equal(1);
    expect(ok(await t.api.get(`/v1/parties/${partyId}/contacts/3`, { token: tokens.agent }))).to.include({ name: 'Luc Grondin' });
  });

  it('gives concurrent creations on one client each a number of its own', async () => {
    const partyId = await company();
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => create(partyId, { name: `Contact ${i}`, function: 'Agent' })));
    expect(replies.map((r) => r.status)).to.deep.equal(Array(8).fill(201));
    expect(replies.map((r) => r.body.number).sort((a: number, b: number) => a - b)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await list(partyId)).items).to.have.length(8);
  });

  it('replays a creation sent again with its Idempotency-Key instead of adding a second contact', async () => {
    const partyId = await company();
    const headers = { 'Idempotency-Key': `contact-${randomUUID()}` };
    const one = ok(await create(partyId, { name: 'Jeanne', function: 'DAF' }, tokens.caseworker, headers), 201);
    const two = await create(partyId, { name: 'Jeanne', function: 'DAF' }, tokens.caseworker, headers);
    expect(two.status).to.equal(201);
    expect(two.body).to.deep.equal(one);
    expect((await list(partyId)).items).to.have.length(1);
  });

  it('checks e-mail and phones as contact channels, and copies the client address when asked', async () => {
    const partyId = await company();
    const bad = expectProblem(
      await create(partyId, {
        name: 'A',
        function: 'B',
        email: 'compta@payet',
        phones: [
          { type: 'mobile', number: '0262 21 00 00' },
          { type: 'private', number: '12' },
        ],
      }),
      422,
    );
    expect(bad.errors!.map((e) => e.path)).to.deep.equal(['email', 'phones.0.type', 'phones.1.number']);
    expect(bad.errors![1].message).to.match(/not a mobile number/);

    const good = await created(partyId, { name: 'A', function: 'B', email: 'Compta@Payet.RE', phones: [{ type: 'mobile', number: '0692 12 34 56' }] });
    expect(good.email).to.equal('Compta@payet.re');
    expect(good.phones.map((p) => [p.type, p.e164])).to.deep.equal([['mobile', '+262692123456']]);

    // No postal address on the client yet: nothing to copy.
    const none = expectProblem(await create(partyId, { name: 'C', function: 'D', copyClientAddress: true }), 422);
    expect(none.errors).to.deep.equal([
      { path: 'copyClientAddress', message: 'the client has no postal address to copy: add one to its contact channels, or type the address' },
    ]);
    const channel = ok(
      await t.api.post(`/v1/parties/${partyId}/channels`, {
        token: tokens.caseworker,
        json: { kind: 'postal', address: { street: '12 rue de Paris', postalCode: '97400', city: 'Saint-Denis' } },
      }),
      201,
    );
    expect(
      expectProblem(await create(partyId, { name: 'C', function: 'D', copyClientAddress: true, address: { street: '1 rue', city: 'X' } }), 422).errors,
    ).to.deep.equal([{ path: 'copyClientAddress', message: 'give either address or copyClientAddress, not both' }]);
    const copied = await created(partyId, { name: 'C', function: 'D', copyClientAddress: true });
    expect(copied.address).to.deep.include({ street: '12 rue de Paris', postalCode: '97400', city: 'Saint-Denis' });
    expect(copied.addressCopiedFrom).to.equal(channel.id);
    // A copy of that moment: typing the address again forgets where it came from.
    const typed = ok(await patch(partyId, copied.number, { address: { street: '1 rue du Port', postalCode: '97420', city: 'Le Port' } })) as Contact;
    expect(typed).to.include({ addressCopiedFrom: null });
    expect(
      expectProblem(await patch(partyId, copied.number, { address: { street: '1 rue', city: 'Le Port', postalCode: '974' } }), 422).errors![0].path,
    ).to.equal('address.postalCode');
  });

  it("makes an individual client's first contact the client themself, once, on the first access to the list", async () => {
    const person = ok(await t.api.post('/v1/people', { token: tokens.agent, json: { lastName: 'Hoarau', firstName: 'Marie' } }), 201);
    await t.api.post(`/v1/parties/${person.id}/channels`, { token: tokens.caseworker, json: { kind: 'email', type: 'private', email: 'marie@hoarau.re' } });
    const [a, b] = await Promise.all([list(person.id), list(person.id)]);
    expect(a.items).to.deep.equal(b.items);
    expect(a.items).to.have.length(1);
    expect(a.items[0]).to.include({ number: 1, name: 'Marie Hoarau', function: 'Client', email: 'marie@hoarau.re', self: true });
    expect(a.items[0].routingRoles).to.deep.equal(['dueNotices', 'unpaidReminders', 'documentReminders', 'claimSettlements']);
    expect((await created(person.id, { name: 'Jean Hoarau', function: 'Conjoint' })).number).to.equal(2);
    expect((await list(person.id)).items.map((c) => c.number)).to.deep.equal([1, 2]);
    // A company has no such contact.
    expect((await list(await company())).items).to.deep.equal([]);
  });

  it('records each consent change in a ledger: who, when, how, the wording; commercial and partner e-mails start refused', async () => {
    const partyId = await company();
    const c = await created(partyId, { name: 'Jeanne', function: 'DAF', email: 'jeanne@payet.re' });
    const consent = (json: object, token = tokens.caseworker) => t.api.post(`/v1/parties/${partyId}/contacts/${c.number}/consents`, { token, json });
    const wording = "Acceptez-vous de recevoir par e-mail les offres commerciales de l'agence ?";

    expect(expectProblem(await consent({ consent: 'commercialEmails', granted: true, method: 'phone' }), 422).errors).to.deep.equal([
      { path: 'wording', message: 'is required to record a consent given: the wording the contact was shown' },
    ]);
    expect(expectProblem(await consent({ consent: 'commercialEmails', granted: true, method: 'fax', wording }), 422).errors![0].path).to.equal('method');
    expectProblem(await consent({ consent: 'commercialEmails', granted: true, method: 'phone', wording }, tokens.agent), 403);

    const given = ok(await consent({ consent: 'commercialEmails', granted: true, method: 'phone', wording }));
    expect(given.contact.consents).to.deep.equal({ electronicSignature: false, commercialEmails: true, partnerEmails: false });
    expect(given.entry).to.include({ consent: 'commercialEmails', granted: true, method: 'phone', wording });
    // The same value again records nothing.
    expect(ok(await consent({ consent: 'commercialEmails', granted: true, method: 'portal', wording })).entry).to.equal(null);
    const withdrawn = ok(await consent({ consent: 'commercialEmails', granted: false, method: 'email', note: 'Reply to a newsletter' }));
    expect(withdrawn.contact.consents.commercialEmails).to.equal(false);

    const ledger = ok(await t.api.get(`/v1/parties/${partyId}/contacts/${c.number}/consents`, { token: tokens.agent }));
    expect(ledger.consents.commercialEmails).to.equal(false);
    expect(ledger.items.map((e: { granted: boolean; method: string }) => [e.granted, e.method])).to.deep.equal([
      [false, 'email'],
      [true, 'phone'],
    ]);
    expect(ledger.items[1].recordedBy).to.be.a('string');
    expect(Date.parse(ledger.items[1].recordedAt)).to.be.closeTo(Date.now(), 60_000);
    expect(ledger.items[0]).to.include({ wording: null, note: 'Reply to a newsletter' });
  });

  it('answers who receives a role on a date: valid contacts, display order, e-mail and consents; also to the platform', async () => {
    const partyId = await company();
    await created(partyId, {
      name: 'Ended',
      function: 'Ancien DAF',
      displayOrder: 1,
      routingRoles: ['dueNotices'],
      endDate: dayFrom(-1),
      email: 'old@payet.re',
    });
    await created(partyId, { name: 'Second', function: 'Comptable', displayOrder: 3, routingRoles: ['dueNotices', 'unpaidReminders'] });
    await created(partyId, { name: 'First', function: 'DAF', displayOrder: 2, routingRoles: ['dueNotices'], email: 'daf@payet.re' });
    await created(partyId, { name: 'Other', function: 'Sinistres', routingRoles: ['claimSettlements'] });

    const now = await recipients(partyId, 'role=dueNotices');
    expect(now).to.include({ partyId, role: 'dueNotices', date: today() });
    expect(now.items.map((r: { name: string }) => r.name)).to.deep.equal(['First', 'Second']);
    expect(now.items[0]).to.deep.equal({
      number: 3,
      name: 'First',
      function: 'DAF',
      displayOrder: 2,
      email: 'daf@payet.re',
      consents: { electronicSignature: false, commercialEmails: false, partnerEmails: false },
    });
    // On its last day the ended contact still receives.
    expect((await recipients(partyId, `role=dueNotices&date=${dayFrom(-1)}`)).items.map((r: { number: number }) => r.number)).to.deep.equal([1, 3, 2]);
    expect((await recipients(partyId, 'role=documentReminders')).items).to.deep.equal([]);
    expect(expectProblem(await t.api.get(`/v1/parties/${partyId}/recipients`, { token: tokens.agent }), 422).errors![0].path).to.equal('role');
    expectProblem(await t.api.get(`/v1/parties/${partyId}/recipients?role=dueNotices&date=31/12/2026`, { token: tokens.agent }), 422);

    // What automatic sending calls: the platform names the org; a user's call is refused.
    const platform = await t.gw.broker.call<{ items: { name: string }[] }, object>(
      'contacts.recipientsFor',
      { orgId, partyId, role: 'unpaidReminders', timeZone: zone },
      { meta: { system: true } },
    );
    expect(platform.items.map((r) => r.name)).to.deep.equal(['Second']);
    const refused = await t.gw.broker.call('contacts.recipientsFor', { orgId, partyId, role: 'unpaidReminders' }).then(
      () => null,
      (e: { code: number }) => e.code,
    );
    expect(refused).to.equal(403);
  });

  it('hides an ended contact from the list valid today, shows it valid as of an earlier day or with all=true, and keeps every change', async () => {
    const partyId = await company();
    const c = await created(partyId, { name: 'Jeanne', function: 'Comptable' });
    await created(partyId, { name: 'Paul', function: 'Gérant' });
    expect(expectProblem(await patch(partyId, c.number, { endDate: '2026-02-30' }), 422).errors![0]).to.deep.equal({
      path: 'endDate',
      message: 'must be a date (YYYY-MM-DD)',
    });
    const ended = ok(await patch(partyId, c.number, { endDate: dayFrom(-1), function: 'Ancienne comptable' })) as Contact;
    expect(ended).to.include({ endDate: dayFrom(-1), active: false });

    const valid = await list(partyId);
    expect(valid).to.include({ validAsOf: today(), all: false });
    expect(valid.items.map((x) => x.name)).to.deep.equal(['Paul']);
    expect((await list(partyId, `?validAsOf=${dayFrom(-1)}`)).items.map((x) => x.name)).to.deep.equal(['Jeanne', 'Paul']);
    const all = await list(partyId, '?all=true');
    expect(all).to.include({ validAsOf: today(), all: true });
    expect(all.items.map((x) => [x.name, x.active])).to.deep.equal([
      ['Jeanne', false],
      ['Paul', true],
    ]);
    // The whole history, marked as of another day.
    expect((await list(partyId, `?all=true&validAsOf=${dayFrom(-1)}`)).items.map((x) => x.active)).to.deep.equal([true, true]);
    expectProblem(await t.api.get(`/v1/parties/${partyId}/contacts?all=yes`, { token: tokens.agent }), 422);
    expectProblem(await t.api.get(`/v1/parties/${partyId}/contacts?validAsOf=tomorrow`, { token: tokens.agent }), 422);

    // Valid again.
    ok(await patch(partyId, c.number, { endDate: null }));
    expect((await list(partyId)).items).to.have.length(2);
    // Nothing changed: no revision.
    ok(await patch(partyId, c.number, { name: 'Jeanne' }));
    const revisions = ok(await t.api.get(`/v1/parties/${partyId}/contacts/${c.number}/revisions`, { token: tokens.agent }));
    expect(revisions.items.map((r: { revision: number; action: string }) => [r.revision, r.action])).to.deep.equal([
      [3, 'updated'],
      [2, 'updated'],
      [1, 'created'],
    ]);
    expect(revisions.items[1].changes).to.deep.equal([
      { field: 'function', from: 'Comptable', to: 'Ancienne comptable' },
      { field: 'endDate', from: null, to: dayFrom(-1) },
    ]);
    expect(revisions.items[0].changes).to.deep.equal([{ field: 'endDate', from: dayFrom(-1), to: null }]);
    expect(revisions.items[0].by).to.be.a('string');
    // Agents read, but do not write.
    expectProblem(await patch(partyId, c.number, { function: 'X' }, tokens.agent), 403);
    expectProblem(await create(partyId, { name: 'X', function: 'Y' }, tokens.agent), 403);
  });

  it('deletes a contact for good for admins only, refuses while it alone holds a role, keeps a record, never reuses its number', async () => {
    const partyId = await company();
    const holder = await created(partyId, { name: 'Jeanne Payet', function: 'Comptable', routingRoles: ['dueNotices', 'claimSettlements'] });
    await created(partyId, { name: 'Paul', function: 'Gérant', routingRoles: ['claimSettlements'] });
    const third = await created(partyId, { name: 'Luc', function: 'Assistant' });
    const del = (n: number, token = tokens.admin, query = '') => t.api.delete(`/v1/parties/${partyId}/contacts/${n}${query}`, { token });

    for (const role of ['caseworker', 'manager', 'agent']) expectProblem(await del(holder.number, tokens[role]), 403);
    const refused = expectProblem(await del(holder.number), 409);
    expect(refused.detail).to.equal(
      'Contact 1 (Jeanne Payet) is the only recipient of dueNotices (due notices) on this client: give this role to another valid contact before deleting it, or end it instead.',
    );
    // An ended holder does not count.
    ok(await patch(partyId, third.number, { routingRoles: ['dueNotices'], endDate: dayFrom(-3) }));
    expectProblem(await del(holder.number), 409);
    ok(await patch(partyId, third.number, { endDate: null }));

    expect((await del(holder.number, tokens.admin, '?reason=Doublon')).status).to.equal(204);
    expectProblem(await t.api.get(`/v1/parties/${partyId}/contacts/${holder.number}`, { token: tokens.agent }), 404);
    expectProblem(await del(holder.number), 404);
    expect((await list(partyId, '?all=true')).items.map((c) => c.number)).to.deep.equal([2, 3]);
    // Its number is never given again.
    expect((await created(partyId, { name: 'New', function: 'DAF' })).number).to.equal(4);

    const audit = ok(await t.api.get(`/v1/parties/${partyId}/contact-deletions`, { token: tokens.manager }));
    expect(audit.items).to.have.length(1);
    expect(audit.items[0]).to.include({ number: 1, name: 'Jeanne Payet', function: 'Comptable', reason: 'Doublon' });
    expect(audit.items[0].deletedBy).to.be.a('string');
    expect(Date.parse(audit.items[0].deletedAt)).to.be.closeTo(Date.now(), 60_000);
    expectProblem(await t.api.get(`/v1/parties/${partyId}/contact-deletions`, { token: tokens.caseworker }), 403);
  });

  it("answers 404 for another org's client on every route, and clear problems for malformed ids", async () => {
    const partyId = await company();
    await created(partyId, { name: 'Jeanne', function: 'DAF', routingRoles: ['dueNotices'] });
    const base = `/v1/parties/${partyId}`;
    const routes: [string, string, object?][] = [
      ['GET', `${base}/contacts`],
      ['POST', `${base}/contacts`, { name: 'Intruder', function: 'Spy' }],
      ['GET', `${base}/contacts/1`],
      ['PATCH', `${base}/contacts/1`, { function: 'Spy' }],
      ['DELETE', `${base}/contacts/1`],
      ['GET', `${base}/contacts/1/consents`],
      ['POST', `${base}/contacts/1/consents`, { consent: 'partnerEmails', granted: false, method: 'paper' }],
      ['GET', `${base}/contacts/1/revisions`],
      ['GET', `${base}/contact-deletions`],
      ['GET', `${base}/recipients?role=dueNotices`],
    ];
    for (const [method, path, json] of routes) expectProblem(await t.api.request(method, path, { token: otherAdmin, json }), 404);
    // Nothing changed for the org that owns it.
    expect((await list(partyId)).items.map((c) => [c.number, c.function])).to.deep.equal([[1, 'DAF']]);

    expect(expectProblem(await t.api.get(`${base}/contacts/abc`, { token: tokens.agent }), 422).errors![0].path).to.equal('contactNumber');
    expectProblem(await t.api.get(`${base}/contacts/0`, { token: tokens.agent }), 422);
    expectProblem(await t.api.get(`${base}/contacts/99`, { token: tokens.agent }), 404);
    expectProblem(await t.api.get('/v1/parties/not-a-uuid/contacts', { token: tokens.agent }), 422);
    expectProblem(await t.api.get(`/v1/parties/${randomUUID()}/contacts`, { token: tokens.agent }), 404);
    expectProblem(await patch(partyId, 1, { email: { $gt: '' } }), 422);
  });
});
