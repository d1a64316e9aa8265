import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ServiceBroker } from 'moleculer';
import type { Connection } from 'mongoose';
import { contactsService } from '@relais/contacts';
import { connectDatabase } from '@relais/shared';
import { eventually, startNode } from '@relais/testing';
import { Register } from '../../services/contacts/src/data/register';
import { createOrgWithAdmin, createUserWithToken } from '../src/auth/accounts';
import { serviceRoutes } from '../src/routes';
import { expectProblem, gatewayTestConfig, startTestGateway, type Reply, type TestGateway } from './support';

type Json = { Publications: { DatePublication: string; PublicationDetail: Record<string, unknown>[] } };
const fixture = (): Json => JSON.parse(readFileSync(new URL('../../services/contacts/test/fixtures/gels-avoirs-sample.json', import.meta.url), 'utf8')) as Json;

/**
 * Asset-freeze screening over HTTP (issue 15): the real gateway and the contacts service over NATS,
 * the register imported as `npm run relais -- register import` does (Register on the contacts
 * database). Saves screened and refused, the override, the on-demand check, decisions, the log,
 * the re-screen after a newer publication, and other orgs kept out.
 */
describe('through the gateway: asset-freeze screening', function () {
  this.timeout(180_000);
  let t: TestGateway;
  let contacts: ServiceBroker;
  let db: Connection;
  let register: Register;
  const tokens: Record<string, string> = {};
  const users: Record<string, string> = {};
  let other: string;

  const ok = (reply: Reply, status = 200) => {
    expect(reply.status, JSON.stringify(reply.body)).to.equal(status);
    return reply.body;
  };
  const createPerson = (token: string, json: object) => t.api.post('/v1/people', { token, json });
  const checksOf = async (partyId: string, token = tokens.agent) => ok(await t.api.get(`/v1/parties/${partyId}/screening`, { token })).items;

  before(async () => {
    const config = gatewayTestConfig({ REQUEST_TIMEOUT_MS: '15000' });
    t = await startTestGateway({ config, routes: [...serviceRoutes], healthServices: ['contacts'] });
    // Short timings: an import reaches the service within 200 ms, and re-screens go in small pages.
    contacts = await startNode(config, 'contacts', [contactsService(config, { screening: { refreshMs: 200, pollMs: 200, pageSize: 2 } })]);
    await t.gw.broker.waitForServices(['contacts'], 30_000);
    db = await connectDatabase(config, 'contacts');
    register = Register.open(db);
    await register.init();

    const org = await createOrgWithAdmin(t.gw.store, { name: `Gels ${randomUUID().slice(0, 8)}`, admin: { name: 'Admin', email: 'admin@gels.test' } });
    tokens.admin = org.token.token;
    users.admin = org.admin.id;
    for (const role of ['manager', 'caseworker', 'agent'] as const) {
      const created = await createUserWithToken(t.gw.store, org.org.id, { name: role, email: `${role}@gels.test`, role });
      tokens[role] = created.token.token;
      users[role] = created.user.id;
    }
    other = (await createOrgWithAdmin(t.gw.store, { name: `Other ${randomUUID().slice(0, 8)}`, admin: { name: 'B', email: 'b@other.test' } })).token.token;
  });

  after(async () => {
    await db?.close();
    await contacts?.stop();
    await t?.close();
  });

  let early: { id: string };

  it('saves before any publication is imported, and logs the check as notScreened', async () => {
    early = ok(await createPerson(tokens.agent, { lastName: 'Trivellano', firstName: 'Massimiliano' }), 201);
    const [check] = await checksOf(early.id);
    expect(check).to.deep.include({ outcome: 'notScreened', publication: null, trigger: 'save', by: users.agent, candidates: [], saveRefused: false });
    expect(ok(await t.api.get('/v1/screening/rescreens', { token: tokens.manager }))).to.deep.equal({ current: null, items: [] });
  });

  it('after the first import, re-screens the parties saved before it and shows the progress', async () => {
    const result = await register.importPublication(fixture());
    expect(result).to.deep.include({ changed: true, entries: 20 });
    const rescreens = await eventually(
      async () => {
        const body = ok(await t.api.get('/v1/screening/rescreens', { token: tokens.manager }));
        return body.items[0]?.state === 'finished' ? body : undefined;
      },
      { what: 'the first re-screen finished' },
    );
    expect(rescreens.current).to.deep.equal({ publishedAt: '2026-04-30T15:05:12.347Z', entries: 20 });
    expect(rescreens.items[0]).to.deep.include({ done: 1, total: 1, newHits: 1, publication: { publishedAt: '2026-04-30T15:05:12.347Z', entries: 20 } });
    const [hit] = ok(await t.api.get('/v1/screening/hits?status=open', { token: tokens.manager })).items;
    expect(hit).to.deep.include({ outcome: 'potential', trigger: 'rescreen', by: 'rescreen', review: 'open' });
    expect(hit.subject).to.deep.equal({ kind: 'party', id: early.id, partyId: early.id });
    expect(hit.candidates[0]).to.include({ entryId: '90011', name: 'TRIVELLANO Massimiliano' });
  });

  let dupont: { id: string };

  it('saves a clear name, logging the check against the publication', async () => {
    dupont = ok(await createPerson(tokens.caseworker, { lastName: 'Dupont', firstName: 'Jean', birthDate: '1976-10-03' }), 201);
    const [check] = await checksOf(dupont.id);
    expect(check).to.deep.include({ outcome: 'clear', trigger: 'save', by: users.caseworker, saveRefused: false, decision: null, review: null });
    expect(check.input).to.deep.equal({ nature: 'person', name: 'Jean Dupont', birthDate: '1976-10-03' });
    expect(check.publication).to.deep.equal({ publishedAt: '2026-04-30T15:05:12.347Z' });
    expect(check.algorithmVersion).to.match(/^screening-\d+$/);
    // A change that is not of the name or birth date is not screened again.
    ok(await t.api.patch(`/v1/people/${dupont.id}`, { token: tokens.caseworker, json: { birthPlace: 'Saint-Denis' } }));
    expect(await checksOf(dupont.id)).to.have.length(1);
  });

  it('refuses a potential match with a 409 naming the candidates: without accents, names swapped, typos, a company', async () => {
    const cases: [object, string, string][] = [
      [{ lastName: 'VANTERHOEK', firstName: 'Elodie Marguerite' }, '90005', 'VANTERHOEK Élodie-Marguerite'],
      [{ lastName: 'Massimiliano', firstName: 'Trivellano' }, '90011', 'TRIVELLANO Massimiliano'],
      [{ lastName: 'Belscaro', firstName: 'Anouska' }, '90003', 'BELSKARO Anouchka'],
    ];
    for (const [body, entryId, name] of cases) {
      const problem = expectProblem(await createPerson(tokens.caseworker, body), 409);
      expect(problem.detail).to.match(new RegExp(`${entryId} "${name}"(?: \\(as "[^"]+"\\))?, score [01]\\.\\d{3}`));
      expect(problem.detail).to.match(/a manager or an admin can save it with "screeningOverride": \{ "reason": "..." \}/);
    }
    // An alias, with a birth date the register knows to the year only.
    const alias = expectProblem(await createPerson(tokens.caseworker, { lastName: 'Kortani', firstName: 'Mohamed Abdelkader', birthDate: '1974-05-12' }), 409);
    expect(alias.detail).to.include('90002 "AL-QUORTANI Muhammad Abd al-Qadir" (as "Mohamed Abdelkader Kortani")');
    // The same name with another birth year is not that person: saved, and logged clear.
    const otherYear = ok(await createPerson(tokens.caseworker, { lastName: 'Trivellano', firstName: 'Massimiliano', birthDate: '1991-06-01' }), 201);
    expect((await checksOf(otherYear.id))[0]).to.deep.include({ outcome: 'clear', trigger: 'save' });
    const company = expectProblem(await t.api.post('/v1/companies', { token: tokens.agent, json: { companyName: 'Zarkovian Holding' } }), 409);
    expect(company.detail).to.include('90015 "ZARKOVIAN HOLDING LTD"');
    // Nothing was saved.
    expect(ok(await t.api.get('/v1/parties?name=belscaro', { token: tokens.agent })).items).to.deep.equal([]);

    // A rename into a register name is refused too, and the file keeps its name.
    const renamed = expectProblem(
      await t.api.patch(`/v1/people/${dupont.id}`, { token: tokens.caseworker, json: { lastName: 'Marveline', firstName: 'Corentin' } }),
      409,
    );
    expect(renamed.detail).to.include('90014 "MARVELINE Corentin"');
    expect(ok(await t.api.get(`/v1/people/${dupont.id}`, { token: tokens.agent }))).to.include({ lastName: 'Dupont' });
    const [refusal] = await checksOf(dupont.id);
    expect(refusal).to.deep.include({ outcome: 'potential', saveRefused: true, trigger: 'save' });
    expect(refusal.input).to.deep.equal({ nature: 'person', name: 'Corentin Marveline', birthDate: '1976-10-03' });
  });

  let overridden: { id: string };

  it('saves a potential match with a manager’s override and its reason: 403 for a caseworker, 422 without a reason', async () => {
    const body = { lastName: 'Belscaro', firstName: 'Anouska' };
    const reason = 'Not the same person: born 1992 in Le Port, identity card checked.';
    expectProblem(await createPerson(tokens.caseworker, { ...body, screeningOverride: { reason } }), 403);
    const missing = expectProblem(await createPerson(tokens.manager, { ...body, screeningOverride: {} }), 422);
    expect(missing.errors).to.deep.equal([{ path: 'screeningOverride.reason', message: 'is required: say why' }]);
    const short = expectProblem(await createPerson(tokens.manager, { ...body, screeningOverride: { reason: 'checked' } }), 422);
    expect(short.errors![0]).to.deep.include({ path: 'screeningOverride.reason' });

    overridden = ok(await createPerson(tokens.manager, { ...body, screeningOverride: { reason } }), 201);
    expect(overridden).to.not.have.property('screeningOverride');
    const [check] = await checksOf(overridden.id);
    expect(check).to.deep.include({ outcome: 'potential', trigger: 'save', by: users.manager, saveRefused: false });
    expect(check.decision).to.deep.include({ decision: 'overridden', reason, by: users.manager });
    expect(check.decisions).to.have.length(1);
    expect(check.candidates[0]).to.include({ entryId: '90003', name: 'BELSKARO Anouchka' });
    expect(check.candidates[0].score).to.be.at.least(0.88);
  });

  let onDemand: { id: string };

  it('screens a party on demand (201: a check is logged), for every staff role', async () => {
    onDemand = ok(await t.api.post(`/v1/parties/${overridden.id}/screening`, { token: tokens.agent }), 201);
    expect(onDemand).to.deep.include({ outcome: 'potential', trigger: 'onDemand', by: users.agent, decision: null });
    const clear = ok(await t.api.post(`/v1/parties/${dupont.id}/screening`, { token: tokens.agent }), 201);
    expect(clear.outcome).to.equal('clear');
    const checks = await checksOf(overridden.id);
    expect(checks.map((c: { id: string; trigger: string }) => c.trigger)).to.deep.equal(['onDemand', 'save']);
    expect(checks[0].id).to.equal(onDemand.id);
    // With an Idempotency-Key, a retry answers the same check.
    const headers = { 'Idempotency-Key': `screen-${randomUUID()}` };
    const first = ok(await t.api.post(`/v1/parties/${dupont.id}/screening`, { token: tokens.agent, headers }), 201);
    const retry = ok(await t.api.post(`/v1/parties/${dupont.id}/screening`, { token: tokens.agent, headers }), 201);
    expect(retry.id).to.equal(first.id);
  });

  it('records a manager’s confirmation or dismissal of a potential match, with who, when and why', async () => {
    const path = `/v1/parties/${overridden.id}/screening/${onDemand.id}/decision`;
    const decision = { decision: 'dismissed', reason: 'Birth date and nationality differ from the register entry.' };
    expectProblem(await t.api.post(path, { token: tokens.caseworker, json: decision }), 403);
    expectProblem(await t.api.post(path, { token: tokens.manager, json: { decision: 'dismissed', reason: 'no' } }), 422);
    const dismissed = ok(await t.api.post(path, { token: tokens.manager, json: decision }));
    expect(dismissed.decision).to.deep.include({ ...decision, by: users.manager });
    expect(Date.parse(dismissed.decision.at)).to.be.closeTo(Date.now(), 60_000);
    const confirmed = ok(await t.api.post(path, { token: tokens.admin, json: { decision: 'confirmed', reason: 'The prefecture confirmed the identity.' } }));
    expect(confirmed.decisions.map((d: { decision: string; by: string }) => [d.decision, d.by])).to.deep.equal([
      ['dismissed', users.manager],
      ['confirmed', users.admin],
    ]);
    // The log shows it.
    const [logged] = await checksOf(overridden.id);
    expect(logged.decision).to.include({ decision: 'confirmed', by: users.admin });

    // Only a potential match takes a decision; a check of another party is not found.
    const [clear] = await checksOf(dupont.id);
    expect(clear.outcome).to.equal('clear');
    expectProblem(await t.api.post(`/v1/parties/${dupont.id}/screening/${clear.id}/decision`, { token: tokens.manager, json: decision }), 409);
    expectProblem(await t.api.post(`/v1/parties/${dupont.id}/screening/${onDemand.id}/decision`, { token: tokens.manager, json: decision }), 404);
    expectProblem(await t.api.post(`/v1/parties/${dupont.id}/screening/${randomUUID()}/decision`, { token: tokens.manager, json: decision }), 404);

    // A decision closes the review of a re-screen hit.
    const [hit] = ok(await t.api.get('/v1/screening/hits?status=open', { token: tokens.manager })).items;
    ok(await t.api.post(`/v1/parties/${early.id}/screening/${hit.id}/decision`, { token: tokens.manager, json: decision }));
    expect(ok(await t.api.get('/v1/screening/hits?status=open', { token: tokens.manager })).items).to.deep.equal([]);
    const closed = ok(await t.api.get('/v1/screening/hits?status=closed', { token: tokens.manager })).items;
    expect(closed.map((h: { id: string; review: string }) => [h.id, h.review])).to.deep.equal([[hit.id, 'closed']]);
  });

  it('re-screens every party after a newer publication and lists the new hits for review, with the progress', async () => {
    const lebreton = ok(await createPerson(tokens.agent, { lastName: 'Lebreton', firstName: 'Gaelle', birthDate: '1979-04-02' }), 201);
    expect((await checksOf(lebreton.id))[0].outcome).to.equal('clear');

    const newer = fixture();
    newer.Publications.DatePublication = '2026-05-07T17:00:00+02:00';
    newer.Publications.PublicationDetail.push({
      IdRegistre: 90021,
      Nature: 'Personne physique',
      Nom: 'LEBRETON',
      RegistreDetail: [
        { TypeChamp: 'PRENOM', Valeur: [{ Prenom: 'Gaëlle' }] },
        { TypeChamp: 'DATE_DE_NAISSANCE', Valeur: [{ Jour: '', Mois: '', Annee: '1979' }] },
      ],
    });
    await register.importPublication(newer);
    const rescreens = await eventually(
      async () => {
        const body = ok(await t.api.get('/v1/screening/rescreens', { token: tokens.admin }));
        return body.items.length === 2 && body.items[0].state === 'finished' ? body : undefined;
      },
      { what: 'the second re-screen finished' },
    );
    // Every party of the org: the one saved before the first import, Dupont, the other Trivellano, the overridden one, Lebreton.
    expect(rescreens.items[0]).to.deep.include({ done: 5, total: 5, newHits: 1, publication: { publishedAt: '2026-05-07T15:00:00.000Z', entries: 21 } });
    expect(rescreens.items[1]).to.deep.include({ state: 'finished', newHits: 1 });

    const hits = ok(await t.api.get('/v1/screening/hits', { token: tokens.manager })).items;
    // Only Lebreton: the others matched the same entries before (reviewed, overridden or confirmed).
    expect(hits.map((h: { subject: { id: string } }) => h.subject.id)).to.deep.equal([lebreton.id]);
    expect(hits[0].candidates[0]).to.include({ entryId: '90021', name: 'LEBRETON Gaëlle' });
    const checks = await checksOf(lebreton.id);
    expect(checks.map((c: { trigger: string; outcome: string }) => `${c.trigger}:${c.outcome}`)).to.deep.equal(['rescreen:potential', 'save:clear']);

    expectProblem(await t.api.get('/v1/screening/hits', { token: tokens.caseworker }), 403);
    expectProblem(await t.api.get('/v1/screening/rescreens', { token: tokens.agent }), 403);
  });

  it("screens a client contact's name when it is added or renamed, with the same override, and logs it on the client", async () => {
    const client = ok(await t.api.post('/v1/companies', { token: tokens.agent, json: { companyName: 'Transports Grondin' } }), 201);
    const base = `/v1/parties/${client.id}/contacts`;
    const refused = expectProblem(await t.api.post(base, { token: tokens.caseworker, json: { name: 'Elodie Vanterhoek', function: 'Comptable' } }), 409);
    expect(refused.detail).to.include('90005 "VANTERHOEK Élodie-Marguerite"');
    expect(ok(await t.api.get(`${base}?all=true`, { token: tokens.agent })).items).to.deep.equal([]);

    const reason = 'Homonym: the accountant of the company since 2009, identity checked.';
    expectProblem(
      await t.api.post(base, { token: tokens.caseworker, json: { name: 'Elodie Vanterhoek', function: 'Comptable', screeningOverride: { reason } } }),
      403,
    );
    const kept = ok(
      await t.api.post(base, { token: tokens.manager, json: { name: 'Elodie Vanterhoek', function: 'Comptable', screeningOverride: { reason } } }),
      201,
    );
    const clear = ok(await t.api.post(base, { token: tokens.caseworker, json: { name: 'Paul Grondin', function: 'Gérant' } }), 201);
    // A rename into a register name is refused, and the contact keeps its name; another change is not screened.
    expectProblem(await t.api.patch(`${base}/${clear.number}`, { token: tokens.caseworker, json: { name: 'Corentin Marveline' } }), 409);
    expect(ok(await t.api.get(`${base}/${clear.number}`, { token: tokens.agent }))).to.include({ name: 'Paul Grondin' });
    ok(await t.api.patch(`${base}/${clear.number}`, { token: tokens.caseworker, json: { function: 'Directeur' } }));
    // The contact's own button: a check on demand, by any staff role; another org's client is unknown.
    const onDemandCheck = ok(await t.api.post(`${base}/${clear.number}/screening`, { token: tokens.agent }), 201);
    expect(onDemandCheck).to.deep.include({ outcome: 'clear', trigger: 'onDemand', by: users.agent });
    expect(onDemandCheck.subject).to.include({ kind: 'clientContact', partyId: client.id });
    expectProblem(await t.api.post(`${base}/${clear.number}/screening`, { token: other }), 404);

    const checks = (await checksOf(client.id)) as { subject: { kind: string }; outcome: string; saveRefused: boolean; decision: { decision: string } | null }[];
    const ofContacts = checks.filter((c) => c.subject.kind === 'clientContact');
    expect(ofContacts.map((c) => `${c.outcome}:${c.saveRefused}:${c.decision?.decision ?? '-'}`)).to.deep.equal([
      'clear:false:-',
      'potential:true:-',
      'clear:false:-',
      'potential:false:overridden',
      'potential:true:-',
    ]);
    expect(kept).to.include({ name: 'Elodie Vanterhoek' });

    // A newer publication naming the manager: the re-screen covers client contacts too, and lists the new hit.
    const newest = fixture();
    newest.Publications.DatePublication = '2026-06-04T17:00:00+02:00';
    newest.Publications.PublicationDetail.push({
      IdRegistre: 90022,
      Nature: 'Personne physique',
      Nom: 'GRONDIN',
      RegistreDetail: [{ TypeChamp: 'PRENOM', Valeur: [{ Prenom: 'Paul' }] }],
    });
    await register.importPublication(newest);
    const hit = await eventually(
      async () => {
        const hits = ok(await t.api.get('/v1/screening/hits', { token: tokens.manager })).items as {
          subject: { kind: string; partyId: string };
          candidates: { entryId: string }[];
        }[];
        return hits.find((h) => h.subject.kind === 'clientContact' && h.subject.partyId === client.id);
      },
      { what: "the re-screen raised the client contact's new match" },
    );
    expect(hit.candidates[0]).to.include({ entryId: '90022' });
  });

  it("keeps another org's parties, checks and hits out of reach (404, empty lists)", async () => {
    expectProblem(await t.api.get(`/v1/parties/${overridden.id}/screening`, { token: other }), 404);
    expectProblem(await t.api.post(`/v1/parties/${overridden.id}/screening`, { token: other }), 404);
    const decision = { decision: 'dismissed', reason: 'Another org tries to decide.' };
    expectProblem(await t.api.post(`/v1/parties/${overridden.id}/screening/${onDemand.id}/decision`, { token: other, json: decision }), 404);
    // Its own party with this org's check: not found either.
    const own = ok(await createPerson(other, { lastName: 'Payet', firstName: 'Lucie' }), 201);
    expectProblem(await t.api.post(`/v1/parties/${own.id}/screening/${onDemand.id}/decision`, { token: other, json: decision }), 404);
    expect(ok(await t.api.get('/v1/screening/hits?status=all', { token: other })).items).to.deep.equal([]);
    const rescreens = ok(await t.api.get('/v1/screening/rescreens', { token: other }));
    // Each re-screen (three publications) counted no hit of this org.
    expect(rescreens.items.map((j: { newHits: number }) => j.newHits)).to.deep.equal([0, 0, 0]);
  });
});
