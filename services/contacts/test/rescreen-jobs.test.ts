import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Connection } from 'mongoose';
import { connectDatabase, type AuthContext } from '@relais/shared';
import { testConfig, uniqueNamespace } from '@relais/testing';
import { Parties } from '../src/data/parties';
import { Register } from '../src/data/register';
import { RescreenJobs, ScreeningLog } from '../src/data/screening';
import { newCompany } from '../src/domain/companies';
import { newPerson } from '../src/domain/people';
import { RESCREEN_USER } from '../src/domain/screeningChecks';
import { Rescreen, partySource, type RescreenOptions } from '../src/rescreen';
import { RegisterIndexCache } from '../src/screening';

type Json = { Publications: { DatePublication: string; PublicationDetail: Record<string, unknown>[] } };
const sample = (): Json => JSON.parse(readFileSync(new URL('./fixtures/gels-avoirs-sample.json', import.meta.url), 'utf8')) as Json;

/** The sample, published later, with one more entry: Gaëlle LEBRETON, born 1979. */
function newerSample(): Json {
  const json = sample();
  json.Publications.DatePublication = '2026-05-07T17:00:00+02:00';
  json.Publications.PublicationDetail.push({
    IdRegistre: 90021,
    Nature: 'Personne physique',
    Nom: 'LEBRETON',
    RegistreDetail: [
      { TypeChamp: 'PRENOM', Valeur: [{ Prenom: 'Gaëlle' }] },
      { TypeChamp: 'DATE_DE_NAISSANCE', Valeur: [{ Jour: '', Mois: '', Annee: '1979' }] },
    ],
  });
  return json;
}

describe('re-screen after a new publication (real database)', function () {
  this.timeout(120_000);
  const config = testConfig(uniqueNamespace());
  let db: Connection;
  let parties: Parties;
  let register: Register;
  let log: ScreeningLog;
  let jobs: RescreenJobs;
  const orgA = randomUUID();
  const orgB = randomUUID();
  const ids: Record<string, string> = {};
  const options: RescreenOptions = { pollMs: 60_000, leaseMs: 30_000, pageSize: 3 };

  /** An instance of the contacts service's re-screen: its own index cache, its own clock. */
  const instance = (owner: string, opts: { clock?: () => Date; jobs?: RescreenJobs } = {}) =>
    new Rescreen(
      { jobs: opts.jobs ?? jobs, log, cache: new RegisterIndexCache(register, 0), sources: [partySource(parties.raw)] },
      owner,
      options,
      undefined,
      opts.clock,
    );

  const person = (orgId: string, label: string, firstName: string, lastName: string, birthDate?: string) => {
    const auth: AuthContext = { orgId, userId: 'u', role: 'admin' };
    const doc = newPerson({ firstName, lastName, sex: 'unspecified', ...(birthDate ? { birthDate } : {}) }, auth, randomUUID(), new Date());
    ids[label] = doc._id;
    return parties.insert(doc);
  };

  before(async () => {
    db = await connectDatabase(config, 'contacts');
    parties = Parties.open(db);
    register = Register.open(db);
    log = ScreeningLog.open(db, 10);
    jobs = RescreenJobs.open(db);
    await Promise.all([parties.init(), register.init(), log.init(), jobs.init()]);
    await person(orgA, 'belskaro', 'Anouska', 'Belscaro');
    await person(orgA, 'lebreton', 'Gaelle', 'Lebreton', '1979-04-02');
    await person(orgA, 'dupont', 'Jean', 'Dupont');
    await person(orgB, 'trivellano', 'Massimilano', 'Trivelano');
    await person(orgB, 'durand', 'Anne', 'Durand');
    for (let i = 0; i < 4; i++) await person(orgB, `other${i}`, 'Camille', `Martin${i}`);
    const company = newCompany({ companyName: 'Zarkovian Holding' }, { orgId: orgB, userId: 'u', role: 'admin' }, randomUUID(), new Date());
    ids.zarkovian = company._id;
    await parties.insert(company);
  });
  after(async () => {
    await db?.dropDatabase();
    await db?.close();
  });

  it('does nothing before the first publication', async () => {
    const a = instance('a');
    await a.tick();
    await a.settled();
    expect(await jobs.latest(5)).to.deep.equal([]);
  });

  it('re-screens every party of every org once, by one of two instances, and lists each org its own new hits', async () => {
    await register.importPublication(sample());
    const [a, b] = [instance('a'), instance('b')];
    await Promise.all([a.tick(), b.tick()]);
    await Promise.all([a.settled(), b.settled()]);
    const [job] = await jobs.latest(5);
    expect(job).to.deep.include({ done: 10, total: 10, newHits: 3, lease: 1 });
    expect(job.finishedAt).to.be.instanceOf(Date);
    expect(await db.collection('rescreen_claims').countDocuments()).to.equal(0);

    const checks = await db.collection('screening_checks').find({ jobId: job._id }).toArray();
    expect(checks).to.have.length(10);
    expect(checks.every((c) => c.trigger === 'rescreen' && c.by === RESCREEN_USER)).to.equal(true);
    expect(checks.filter((c) => c.outcome === 'clear')).to.have.length(7);

    const hitsA = await log.hits(orgA, 'open', { limit: 50 });
    expect(hitsA.map((h) => h.subject.id)).to.deep.equal([ids.belskaro]);
    const hitsB = await log.hits(orgB, 'open', { limit: 50 });
    expect(hitsB.map((h) => h.subject.id).sort()).to.deep.equal([ids.trivellano, ids.zarkovian].sort());
    expect(hitsB.find((h) => h.subject.id === ids.zarkovian)!.candidates[0]).to.include({ entryId: '90015' });

    // Polling again changes nothing: the publication's job is done.
    await a.tick();
    await a.settled();
    expect(await db.collection('screening_checks').countDocuments({ jobId: job._id })).to.equal(10);
  });

  it('after a newer publication, raises only the new potential matches: a party clear before, potential now', async () => {
    await register.importPublication(newerSample());
    const a = instance('a');
    await a.tick();
    await a.settled();
    const [job] = await jobs.latest(1);
    expect(job).to.deep.include({ done: 10, total: 10, newHits: 1 });
    const hits = await log.hits(orgA, 'open', { limit: 50 });
    // Belskaro is still a potential match of the same entry: her earlier hit is the one to review, not a new one.
    expect(hits.map((h) => [h.subject.id, h.candidates[0].entryId])).to.deep.equal([
      [ids.lebreton, '90021'],
      [ids.belskaro, '90003'],
    ]);
    expect(hits[0].candidates[0].reasons).to.include('birth date matches partially (1979)');
  });

  it('is resumed from its last page by another instance once the first stopped, without screening anyone twice', async () => {
    const third = newerSample();
    third.Publications.DatePublication = '2026-05-14T17:00:00+02:00';
    await register.importPublication(third);
    const a = instance('a');
    await a.tick();
    // Stopped after its first page: the job is left where it was.
    await a.stop();
    const [stopped] = await jobs.latest(1);
    expect(stopped.finishedAt).to.equal(null);
    expect(stopped.done).to.be.within(3, 9);
    expect(stopped.lastId).to.be.a('string');

    // A live lease is not taken.
    const b = instance('b');
    await b.tick();
    await b.settled();
    expect((await jobs.byId(stopped._id))!.owner).to.equal('a');

    // Once it expired, one of two instances takes it over and finishes it.
    const later = () => new Date(Date.now() + options.leaseMs + 1_000);
    const [c, d] = [instance('c', { clock: later }), instance('d', { clock: later })];
    await Promise.all([c.tick(), d.tick()]);
    await Promise.all([c.settled(), d.settled()]);
    const done = (await jobs.byId(stopped._id))!;
    expect(done).to.deep.include({ lease: 2, done: 10, total: 10, newHits: 0 });
    expect(['c', 'd']).to.include(done.owner);
    expect(done.finishedAt).to.be.instanceOf(Date);
    expect(await db.collection('screening_checks').countDocuments({ jobId: done._id })).to.equal(10);
  });

  it('counts right after an instance failed between writing a page and recording it', async () => {
    const fourth = newerSample();
    fourth.Publications.DatePublication = '2026-05-21T17:00:00+02:00';
    await register.importPublication(fourth);
    // The first progress write fails once, after the page's checks were written.
    let failures = 1;
    const flaky = Object.create(jobs) as RescreenJobs;
    flaky.progress = (...args: Parameters<RescreenJobs['progress']>) =>
      failures-- > 0 ? Promise.reject(new Error('connection reset')) : jobs.progress(...args);
    const a = instance('a', { jobs: flaky });
    await a.tick();
    await a.settled();
    const [job] = await jobs.latest(1);
    expect(job.finishedAt).to.equal(null);
    expect(job.done).to.equal(0);
    // The next poll: the same instance resumes its job, its counts rebuilt from the log.
    await a.tick();
    await a.settled();
    expect(await jobs.byId(job._id)).to.deep.include({ done: 10, total: 10, lease: 1 });
  });

  it('supersedes an unfinished job when a newer publication arrives', async () => {
    const fifth = newerSample();
    fifth.Publications.DatePublication = '2026-05-28T17:00:00+02:00';
    await register.importPublication(fifth);
    const a = instance('a');
    await a.tick();
    await a.stop();
    const [unfinished] = await jobs.latest(1);
    expect(unfinished.finishedAt).to.equal(null);

    const sixth = newerSample();
    sixth.Publications.DatePublication = '2026-06-04T17:00:00+02:00';
    await register.importPublication(sixth);
    const b = instance('b');
    await b.tick();
    await b.settled();
    const [latest, previous] = await jobs.latest(2);
    expect(latest).to.deep.include({ done: 10, publishedAt: new Date('2026-06-04T15:00:00Z') });
    expect(previous).to.deep.include({ _id: unfinished._id, supersededBy: latest._id });
    expect(previous.finishedAt).to.be.instanceOf(Date);
  });
});
