import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { eventually } from '@relais/testing';
import { createOrgWithAdmin, createUserWithToken } from '../src/auth/accounts';
import { expectProblem, startTestStack, type TestStack } from './support';

/**
 * The whole system over HTTP: the real services on their own brokers, the gateway on its own,
 * real NATS and the real database. Seed 001's flow from the file to the notification count.
 */
describe('through the gateway: file, domiciliation, SMS consent, mail, counted by notifications', function () {
  this.timeout(180_000);
  let t: TestStack;
  const tokens: Record<string, string> = {};
  let otherOrgToken: string;

  before(async () => {
    t = await startTestStack();
    const org = await createOrgWithAdmin(t.gw.store, {
      name: `CCAS ${randomUUID().slice(0, 8)}`,
      region: 'RE',
      timeZone: 'Indian/Reunion',
      admin: { name: 'Admin', email: 'admin@ccas.test' },
    });
    tokens.admin = org.token.token;
    for (const role of ['caseworker', 'agent'] as const) {
      tokens[role] = (await createUserWithToken(t.gw.store, org.org.id, { name: role, email: `${role}@ccas.test`, role })).token.token;
    }
    otherOrgToken = (await createOrgWithAdmin(t.gw.store, { name: `Other ${randomUUID().slice(0, 8)}`, admin: { name: 'B', email: 'b@other.test' } })).token
      .token;
  });

  after(async () => {
    await t?.close();
  });

  it('is ready once every service answers', async () => {
    await eventually(async () => (await t.api.get('/readyz')).status === 200, { what: 'readyz 200' });
  });

  it('runs seed 001 end to end and keeps the other org out', async () => {
    const api = t.api;
    const person = await api.post('/v1/people', {
      token: tokens.agent,
      json: { lastName: 'Pierre', firstName: 'Lucas', sex: 'male', birthDate: '1976-10-03', birthPlace: 'Saint-Denis', customId: '3' },
    });
    expect(person.status, JSON.stringify(person.body)).to.equal(201);
    const id = person.body.id as string;

    // Mail cannot be registered before the domiciliation is active.
    expectProblem(await api.post(`/v1/people/${id}/mail`, { token: tokens.agent, json: { kind: 'letter' } }), 409);

    expect((await api.post(`/v1/people/${id}/domiciliation`, { token: tokens.agent, json: {} })).status).to.equal(201);
    const activated = await api.post(`/v1/people/${id}/domiciliation/activate`, {
      token: tokens.caseworker,
      json: { startDate: '2026-01-01', endDate: '2030-12-31' },
    });
    expect(activated.status, JSON.stringify(activated.body)).to.equal(200);

    // SMS consent: an agent may not change it; a Réunion mobile in national form is read with the org's region.
    expectProblem(await api.request('PUT', `/v1/people/${id}/sms-consent`, { token: tokens.agent, json: { consent: true, phone: '0692 01 02 03' } }), 403);
    const landline = expectProblem(
      await api.request('PUT', `/v1/people/${id}/sms-consent`, { token: tokens.caseworker, json: { consent: true, phone: '0262 12 34 56' } }),
      422,
    );
    expect(landline.detail).to.match(/landline/);
    const consent = await api.request('PUT', `/v1/people/${id}/sms-consent`, {
      token: tokens.caseworker,
      json: { consent: true, phone: '0692 01 02 03' },
    });
    expect(consent.status, JSON.stringify(consent.body)).to.equal(200);
    expect(consent.body.phoneE164).to.equal('+262692010203');

    // 3 letters and 2 parcels on the same day; the retried request registers nothing twice.
    const headers = { 'Idempotency-Key': `letters-${id}` };
    const letters = await api.post(`/v1/people/${id}/mail`, { token: tokens.agent, headers, json: { kind: 'letter', quantity: 3 } });
    const retried = await api.post(`/v1/people/${id}/mail`, { token: tokens.agent, headers, json: { kind: 'letter', quantity: 3 } });
    expect(letters.status).to.equal(201);
    expect(retried.body.id).to.equal(letters.body.id);
    expect((await api.post(`/v1/people/${id}/mail`, { token: tokens.agent, json: { kind: 'parcel', quantity: 2 } })).status).to.equal(201);

    const counted = await eventually(
      async () => {
        const r = await api.get(`/v1/people/${id}/pending-mail`, { token: tokens.agent });
        return r.body.counts?.letter === 3 && r.body.counts?.parcel === 2 && r.body;
      },
      { what: 'notifications counted 3 letters and 2 parcels' },
    );
    expect(counted.counts.deliveryNotice).to.equal(0);

    // Handing over the parcels lowers the count notifications keeps.
    const mail = await api.get(`/v1/people/${id}/mail`, { token: tokens.agent });
    expect(mail.body.pending).to.deep.equal({ letter: 3, parcel: 2, deliveryNotice: 0 });
    const parcelIds = mail.body.items.filter((i: { kind: string }) => i.kind === 'parcel').map((i: { id: string }) => i.id);
    const handed = await api.post(`/v1/people/${id}/mail/hand-over`, { token: tokens.agent, json: { mailItemIds: parcelIds } });
    expect(handed.status, JSON.stringify(handed.body)).to.equal(200);
    await eventually(async () => (await api.get(`/v1/people/${id}/pending-mail`, { token: tokens.agent })).body.counts?.parcel === 0, {
      what: 'parcels no longer counted',
    });

    // Org B sees none of it and can write none of it.
    expectProblem(await api.get(`/v1/people/${id}`, { token: otherOrgToken }), 404);
    expectProblem(await api.get(`/v1/mail/${letters.body.id}`, { token: otherOrgToken }), 404);
    expectProblem(await api.post(`/v1/people/${id}/mail`, { token: otherOrgToken, json: { kind: 'letter' } }), 404);
    expectProblem(await api.get(`/v1/people/${id}/domiciliation`, { token: otherOrgToken }), 404);
    const round = await api.post('/v1/mail/batch', { token: otherOrgToken, json: { items: [{ personId: id, kind: 'letter' }] } });
    expect(round.status, JSON.stringify(round.body)).to.equal(200);
    expect(round.body.results[0]).to.deep.include({ outcome: 'refused' });
    expect(round.body.results[0].problem.status).to.equal(404);

    // A round of mail in one request: counted by notifications like single registrations.
    const batch = await api.post('/v1/mail/batch', {
      token: tokens.agent,
      json: {
        items: [
          { personId: id, kind: 'deliveryNotice' },
          { personId: id, kind: 'letter', quantity: 2 },
        ],
      },
    });
    expect(batch.status, JSON.stringify(batch.body)).to.equal(200);
    expect(batch.body).to.include({ registered: 2, refused: 0 });
    await eventually(
      async () => {
        const counts = (await api.get(`/v1/people/${id}/pending-mail`, { token: tokens.agent })).body.counts;
        return counts?.letter === 5 && counts?.deliveryNotice === 1;
      },
      { what: 'the round counted' },
    );
  });

  it('answers bad input with a 422 a person understands', async () => {
    const reply = expectProblem(await t.api.post(`/v1/people/${randomUUID()}/mail`, { token: tokens.agent, json: { kind: 'fax', quantity: 0 } }), 422);
    const paths = reply.errors!.map((e) => e.path);
    expect(paths).to.include.members(['kind', 'quantity']);
    const round = expectProblem(
      await t.api.post('/v1/mail/batch', { token: tokens.agent, json: { items: [{ personId: randomUUID(), kind: 'letter', quantity: 0 }] } }),
      422,
    );
    expect(round.errors!.map((e) => e.path)).to.include('items.0.quantity');
  });
});
