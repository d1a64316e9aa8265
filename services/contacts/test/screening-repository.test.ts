import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Connection } from 'mongoose';
import { connectDatabase, type AuthContext } from '@relais/shared';
import { testConfig, uniqueNamespace } from '@relais/testing';
import { Register } from '../src/data/register';
import { RescreenJobs, ScreeningLog } from '../src/data/screening';
import { newCheck, statusOf, subjectOfParty, type ScreeningCheckDoc } from '../src/domain/screeningChecks';
import { RegisterIndexCache, Screening } from '../src/screening';

type Json = { Publications: { DatePublication: string; PublicationDetail: Record<string, unknown>[] } };
const sample = (): Json => JSON.parse(readFileSync(new URL('./fixtures/gels-avoirs-sample.json', import.meta.url), 'utf8')) as Json;
const rejects = (p: Promise<unknown>) =>
  p.then(
    () => expect.fail('accepted'),
    (err: { code?: number; message: string }) => err,
  );

describe('screening log and register index (real database)', function () {
  this.timeout(60_000);
  const config = testConfig(uniqueNamespace());
  let db: Connection;
  let register: Register;
  let log: ScreeningLog;
  let jobs: RescreenJobs;
  const orgA = randomUUID();
  const orgB = randomUUID();

  before(async () => {
    db = await connectDatabase(config, 'contacts');
    register = Register.open(db);
    log = ScreeningLog.open(db, 10);
    jobs = RescreenJobs.open(db);
    await Promise.all([register.init(), log.init(), jobs.init()]);
  });
  after(async () => {
    await db?.dropDatabase();
    await db?.close();
  });

  const checkAt = (orgId: string, partyId: string, at: Date, extra: Partial<ScreeningCheckDoc> = {}): ScreeningCheckDoc => ({
    ...newCheck({
      id: randomUUID(),
      orgId,
      subject: subjectOfParty(partyId),
      input: { nature: 'person', name: 'Jean Dupont' },
      trigger: 'onDemand',
      by: 'u',
      at,
      screened: null,
    }),
    ...extra,
  });

  describe('the log', () => {
    it("keeps each org's checks to itself, and a second insert of the same id is recognised", async () => {
      const doc = checkAt(orgA, randomUUID(), new Date());
      expect(await log.insert(doc)).to.equal(true);
      expect(await log.insert(doc)).to.equal(false);
      expect((await log.byId(orgA, doc._id))!.input).to.deep.equal(doc.input);
      expect(await log.byId(orgB, doc._id)).to.equal(null);
    });

    it("lists a party's checks newest first, page after page", async () => {
      const party = randomUUID();
      const t0 = Date.parse('2026-05-01T10:00:00Z');
      const docs = [0, 1, 2, 3, 4].map((i) => checkAt(orgA, party, new Date(t0 + i * 1000)));
      // Two checks in the same millisecond are ordered by id.
      docs.push(checkAt(orgA, party, new Date(t0 + 4000)));
      for (const d of docs) await log.insert(d);
      await log.insert(checkAt(orgB, party, new Date(t0 + 9000)));
      const expected = [...docs].sort((a, b) => b.at.getTime() - a.at.getTime() || (a._id < b._id ? 1 : -1)).map((d) => d._id);
      const first = await log.ofParty(orgA, party, { limit: 4 });
      expect(first.map((d) => d._id)).to.deep.equal(expected.slice(0, 5));
      const last = first[3];
      const second = await log.ofParty(orgA, party, { limit: 4, after: { at: last.at, id: last._id } });
      expect(second.map((d) => d._id)).to.deep.equal(expected.slice(4));
    });

    it('lists the open and closed hits of an org; a decision closes a hit and adds to its history', async () => {
      const hit = checkAt(orgA, randomUUID(), new Date(), { outcome: 'potential', jobId: 'job-x', hit: true, review: 'open' });
      const other = checkAt(orgB, randomUUID(), new Date(), { outcome: 'potential', jobId: 'job-x', hit: true, review: 'open' });
      await log.insertMany([hit, other]);
      expect((await log.hits(orgA, 'open', { limit: 10 })).map((d) => d._id)).to.deep.equal([hit._id]);
      const decided = await log.addDecision(orgA, hit._id, { decision: 'dismissed', reason: 'Not the same birth date', by: 'm', at: new Date() });
      expect(decided).to.deep.include({ review: 'closed' });
      expect(decided!.decision).to.include({ decision: 'dismissed', by: 'm' });
      expect(decided!.decisions).to.have.length(1);
      expect(await log.hits(orgA, 'open', { limit: 10 })).to.deep.equal([]);
      expect((await log.hits(orgA, 'all', { limit: 10 })).map((d) => d._id)).to.deep.equal([hit._id]);
      expect(await log.addDecision(orgB, hit._id, { decision: 'confirmed', reason: 'Another org tries', by: 'x', at: new Date() })).to.equal(null);
      expect(await log.countRescreen('job-x')).to.deep.equal({ done: 2, newHits: 2 });
      expect((await log.countRescreen('job-x', orgA)).newHits).to.equal(1);
    });

    it("keeps a subject's latest status: an earlier check never replaces a later one", async () => {
      const party = randomUUID();
      const later = checkAt(orgA, party, new Date('2026-05-02T00:00:00Z'), { outcome: 'clear' });
      const earlier = checkAt(orgA, party, new Date('2026-05-01T00:00:00Z'), { outcome: 'potential' });
      await log.saveStatuses([statusOf(later)]);
      await log.saveStatuses([statusOf(earlier)]);
      const key = statusOf(later)._id;
      expect((await log.statusesOf([key])).get(key)).to.deep.include({ checkId: later._id, outcome: 'clear' });
    });
  });

  describe('the re-screen claims', () => {
    it('one of two instances creating the same job wins; a lease is claimed once', async () => {
      const job = {
        _id: 'hash-1',
        publishedAt: new Date(),
        entryCount: 1,
        startedAt: new Date(),
        owner: 'a',
        lease: 1,
        heartbeatAt: new Date(),
        sourceIndex: 0,
        lastId: null,
        done: 0,
        total: 3,
        newHits: 0,
        finishedAt: null,
      };
      const results = await Promise.all([jobs.create(job), jobs.create({ ...job, owner: 'b' })]);
      expect(results.filter(Boolean)).to.have.length(1);
      const claims = await Promise.all([jobs.claim('hash-1', 2, 'b', new Date()), jobs.claim('hash-1', 2, 'c', new Date())]);
      expect(claims.filter(Boolean)).to.have.length(1);
      expect(await jobs.takeOver('hash-1', 1, 2, 'b', new Date(), { done: 0, newHits: 0 })).to.equal(true);
      // The former holder's progress is refused from then on.
      expect(await jobs.progress('hash-1', 1, { sourceIndex: 0, lastId: 'x' }, { done: 1, newHits: 0 }, new Date())).to.equal(false);
      expect(await jobs.progress('hash-1', 2, { sourceIndex: 0, lastId: 'x' }, { done: 1, newHits: 0 }, new Date())).to.equal(true);
      expect(await jobs.byId('hash-1')).to.deep.include({ owner: 'b', lease: 2, lastId: 'x', done: 1 });
    });
  });

  describe('the register index cache and the screening at save', () => {
    let clock = 0;
    let cache: RegisterIndexCache;
    let screening: Screening;
    const caseworker: AuthContext = { orgId: orgA, userId: 'caseworker-1', role: 'caseworker' };
    const manager: AuthContext = { orgId: orgA, userId: 'manager-1', role: 'manager' };
    const trivellano = { nature: 'person' as const, name: 'Massimiliano Trivellano' };

    before(() => {
      cache = new RegisterIndexCache(register, 5_000, undefined, () => clock);
      screening = new Screening(log, jobs, cache);
    });

    it('saves and logs notScreened before any import', async () => {
      const partyId = randomUUID();
      let saved = 0;
      await screening.guard({ orgId: orgA, subject: subjectOfParty(partyId), input: trivellano, auth: caseworker }, () => Promise.resolve(saved++));
      expect(saved).to.equal(1);
      const [logged] = await log.ofParty(orgA, partyId, { limit: 5 });
      expect(logged).to.deep.include({ outcome: 'notScreened', publication: null, trigger: 'save', by: 'caseworker-1' });
      // Nothing to compare a re-screen with: no status.
      expect((await log.statusesOf([`${orgA}:party:${partyId}`])).size).to.equal(0);
    });

    it('looks the publication up at most every refresh period, and builds the index once per publication', async () => {
      await register.importPublication(sample());
      clock += 1_000;
      expect(await cache.current()).to.equal(null);
      clock += 5_000;
      const loaded = (await cache.current())!;
      expect(loaded.entryCount).to.equal(20);
      expect(loaded.entry('90011')!.name).to.equal('TRIVELLANO');
      clock += 10_000;
      expect((await cache.current())!.index).to.equal(loaded.index);

      const newer = sample();
      newer.Publications.DatePublication = '2026-05-07T17:00:00+02:00';
      await register.importPublication(newer);
      clock += 10_000;
      const reloaded = (await cache.current())!;
      expect(reloaded.index).to.not.equal(loaded.index);
      expect(reloaded.publishedAt.toISOString()).to.equal('2026-05-07T15:00:00.000Z');
    });

    it('refuses a potential match with a 409 naming the candidates, saves nothing and logs the refusal', async () => {
      const partyId = randomUUID();
      let saved = 0;
      const err = await rejects(
        screening.guard({ orgId: orgA, subject: subjectOfParty(partyId), input: trivellano, auth: caseworker }, () => Promise.resolve(saved++)),
      );
      expect(err.code).to.equal(409);
      expect(err.message).to.match(/90011 "TRIVELLANO Massimiliano", score/);
      expect(saved).to.equal(0);
      const [logged] = await log.ofParty(orgA, partyId, { limit: 5 });
      expect(logged).to.deep.include({ outcome: 'potential', saveRefused: true, decision: null });
      expect(err.message).to.include(logged._id);
    });

    it('refuses an override from a caseworker (403) before screening, and lets a manager save with it, logged as overridden', async () => {
      const partyId = randomUUID();
      const override = { reason: 'Checked the passport: born 1988' };
      expect(
        (
          await rejects(
            screening.guard({ orgId: orgA, subject: subjectOfParty(partyId), input: trivellano, auth: caseworker, override }, () => Promise.resolve(1)),
          )
        ).code,
      ).to.equal(403);
      expect(await log.ofParty(orgA, partyId, { limit: 5 })).to.deep.equal([]);

      expect(
        await screening.guard({ orgId: orgA, subject: subjectOfParty(partyId), input: trivellano, auth: manager, override }, () => Promise.resolve('saved')),
      ).to.equal('saved');
      const [logged] = await log.ofParty(orgA, partyId, { limit: 5 });
      expect(logged.decision).to.deep.include({ decision: 'overridden', reason: override.reason, by: 'manager-1' });
      // The status the next re-screen compares with: this entry is known, not a new hit.
      const status = (await log.statusesOf([`${orgA}:party:${partyId}`])).get(`${orgA}:party:${partyId}`)!;
      expect(status.potentialIds).to.include('90011');
    });

    it('records decisions only on potential checks of the party named, in its org', async () => {
      const partyId = randomUUID();
      const potential = await screening.check({ orgId: orgA, subject: subjectOfParty(partyId), input: trivellano, trigger: 'onDemand', by: 'u' });
      const clear = await screening.check({
        orgId: orgA,
        subject: subjectOfParty(partyId),
        input: { nature: 'person', name: 'Jean Dupont' },
        trigger: 'onDemand',
        by: 'u',
      });
      expect(potential.outcome).to.equal('potential');
      expect((await rejects(screening.decide(manager, partyId, clear._id, 'confirmed', 'It is the same person'))).code).to.equal(409);
      expect((await rejects(screening.decide(manager, randomUUID(), potential._id, 'confirmed', 'It is the same person'))).code).to.equal(404);
      expect((await rejects(screening.decide({ ...manager, orgId: orgB }, partyId, potential._id, 'confirmed', 'It is the same person'))).code).to.equal(404);
      expect((await rejects(screening.decide(caseworker, partyId, potential._id, 'confirmed', 'It is the same person'))).code).to.equal(403);
      const decided = await screening.decide(manager, partyId, potential._id, 'confirmed', 'It is the same person');
      expect(decided.decision).to.deep.include({ decision: 'confirmed', by: 'manager-1' });
      const again = await screening.decide(manager, partyId, potential._id, 'confirmed', 'It is the same person');
      expect(again.decisions).to.have.length(1);
    });

    it('answers the first check again for a retry with the same id', async () => {
      const partyId = randomUUID();
      const id = randomUUID();
      const first = await screening.check({ orgId: orgA, subject: subjectOfParty(partyId), input: trivellano, trigger: 'onDemand', by: 'u', id });
      const retry = await screening.check({ orgId: orgA, subject: subjectOfParty(partyId), input: trivellano, trigger: 'onDemand', by: 'u', id });
      expect(retry.at).to.deep.equal(first.at);
      expect(await log.ofParty(orgA, partyId, { limit: 5 })).to.have.length(1);
    });
  });
});
