import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { connectDatabase, type BaseConfig } from '@relais/shared';
import { dropTestDatabases, testConfig, uniqueNamespace } from '@relais/testing';
import { Domiciliations } from '../src/data/domiciliations';
import { domiciliationChange, newDomiciliation, transition, stateOf } from '../src/domain/domiciliation';
import { smsConsentChange } from '../src/domain/smsConsent';

describe('domiciliations repository (real database)', function () {
  this.timeout(60_000);
  let config: BaseConfig;
  let db: Connection;
  let repo: Domiciliations;
  const orgA = { orgId: randomUUID(), userId: randomUUID() };
  const orgB = { orgId: randomUUID(), userId: randomUUID() };

  const requestFor = (personId: string, actor = orgA) =>
    newDomiciliation(personId, transition(null, { action: 'request' }), { domiciliationId: randomUUID(), eventId: randomUUID() }, actor, new Date()).doc;

  before(async () => {
    config = testConfig(uniqueNamespace());
    db = await connectDatabase(config, 'domiciliation');
    repo = Domiciliations.open(db, config.DB_TIMEOUT_MS);
    await repo.init();
  });

  after(async () => {
    await db?.close();
    if (config) await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
  });

  it('keeps one domiciliation per person and org; the same person id in another org is another file', async () => {
    const person = randomUUID();
    expect(await repo.insert(requestFor(person))).to.equal(true);
    expect(await repo.insert(requestFor(person))).to.equal(false);
    expect(await repo.insert(requestFor(person, orgB))).to.equal(true);
    const [a, b] = await Promise.all([repo.forPerson(orgA.orgId, person), repo.forPerson(orgB.orgId, person)]);
    expect(a?.orgId).to.equal(orgA.orgId);
    expect(b?.orgId).to.equal(orgB.orgId);
    expect(a?._id).to.not.equal(b?._id);
    expect(await repo.forPerson(randomUUID(), person)).to.equal(null);
  });

  it('applies a change with its history and events in one write, only at the version it was decided on', async () => {
    const person = randomUUID();
    const created = requestFor(person);
    await repo.insert(created);
    const t = transition(stateOf(created), { action: 'activate', startDate: '2026-01-01', endDate: '2026-12-31' });
    const change = domiciliationChange(created, t, randomUUID(), orgA, new Date())!;

    const saved = await repo.apply(created, change, new Date());
    expect(saved).to.deep.include({ status: 'active', version: 2 });
    expect(saved!.periods).to.deep.equal([{ startDate: '2026-01-01', endDate: '2026-12-31' }]);
    expect(saved!.history.map((h) => [h.field, h.from, h.to])).to.deep.equal([
      ['status', null, 'requested'],
      ['status', 'requested', 'active'],
      ['startDate', null, '2026-01-01'],
      ['endDate', null, '2026-12-31'],
    ]);
    // The ids of both writes' events, oldest first: what the outbox sweep reads to tell a write happened.
    expect(saved!.eventIds).to.deep.equal([created.eventIds[0], change.events[0].id]);

    // A write decided on the old version loses, and changes nothing.
    const stale = smsConsentChange(
      created,
      { consent: true, phone: { e164: '+262692010203', region: 'RE', raw: '0692010203' } },
      randomUUID(),
      orgA,
      new Date(),
    )!;
    expect(await repo.apply(created, stale, new Date())).to.equal(null);
    // Another org cannot write it even at the right version.
    expect(await repo.apply({ ...saved!, orgId: orgB.orgId }, stale, new Date())).to.equal(null);

    const consent = await repo.apply(saved!, stale, new Date());
    expect(consent!.smsConsent).to.deep.include({ consent: true, phoneE164: '+262692010203', region: 'RE', phoneRaw: '0692010203' });
    expect(consent!.history).to.have.length(6);
    expect(consent!.history[4]).to.deep.include({ field: 'smsConsent', from: false, to: true, by: orgA.userId });
  });
});
