import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { connectDatabase, makeEnvelope, type BaseConfig } from '@relais/shared';
import { dropTestDatabases, testConfig, uniqueNamespace } from '@relais/testing';
import { Exchanges } from '../src/data/exchanges';
import { InterventionRequests } from '../src/data/requests';
import { Summaries } from '../src/data/summaries';
import { edited, tombstone, type ExchangeDoc } from '../src/domain/exchanges';
import { exchangeDoc, requestDoc } from './fixtures';

/** The exchanges service's repositories against the real database. */
describe('exchanges: requests, exchanges and summaries (real database)', function () {
  this.timeout(60_000);
  let config: BaseConfig;
  let db: Connection;
  let requests: InterventionRequests;
  let exchanges: Exchanges;
  let summaries: Summaries;
  const at = new Date('2026-12-01T09:00:00Z');

  const request = (orgId: string) => requestDoc({ orgId });
  const exchange = (orgId: string, requestId: string, more: Partial<ExchangeDoc> = {}) => exchangeDoc({ orgId, requestId, ...more });

  before(async () => {
    config = testConfig(uniqueNamespace());
    db = await connectDatabase(config, 'exchanges');
    requests = InterventionRequests.open(db);
    exchanges = Exchanges.open(db);
    summaries = Summaries.open(db, 10);
    await Promise.all([requests.init(), exchanges.init(), summaries.init()]);
  });

  after(async () => {
    await db?.close();
    if (config) await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
  });

  it('numbers requests per org in order, without a gap or a twice-used number between two processes', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    expect((await requests.create(request(a))).number).to.equal(1);
    expect((await requests.create(request(b))).number).to.equal(1);
    // A second process with its own view of the next number: the unique insert decides.
    const other = InterventionRequests.open(db);
    // 40 at once, 20 in each: a process's own take their turn, the other's meet them at the unique index.
    const made = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? requests : other).create(request(a))));
    expect(made.map((r) => r.number).sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 2));
    expect((await requests.byNumber(a, 5))?.orgId).to.equal(a);
    expect(await requests.byNumber(b, 5)).to.equal(null);
  });

  it('refuses a request id stored already, rather than giving it a second number', async () => {
    const orgId = randomUUID();
    const r = request(orgId);
    await requests.create(r);
    let failure: unknown;
    await requests.create(r).catch((err: unknown) => (failure = err));
    expect(String(failure)).to.match(/exists already/);
    expect(await requests.ofClient(orgId, r.clientId)).to.have.length(1);
  });

  it('stores an exchange once, lists a request oldest first, and writes an edit only over the version it was decided on', async () => {
    const orgId = randomUUID();
    const requestId = randomUUID();
    const later = exchange(orgId, requestId, { occurredAt: new Date('2026-12-02T09:00:00Z'), subject: 'RDV', detail: 'Mardi 10h' });
    const first = exchange(orgId, requestId);
    const ev = () => makeEnvelope('mail.handedOver', orgId, { personId: 'p', mailItemIds: ['m'], handedOverAt: new Date().toISOString(), handedOverBy: 'u1' });
    expect((await exchanges.insertNew(later, ev())).created).to.equal(true);
    expect((await exchanges.insertNew(first, ev())).created).to.equal(true);
    const again = await exchanges.insertNew({ ...first, detail: 'another text' }, ev());
    expect(again.created).to.equal(false);
    expect(again.doc.detail).to.equal(first.detail);
    expect((await exchanges.ofRequest(orgId, requestId)).map((x) => x._id)).to.deep.equal([first._id, later._id]);
    expect(await exchanges.ofRequest(randomUUID(), requestId)).to.deep.equal([]);

    const stored = (await exchanges.get(orgId, later._id))!;
    const changed = edited(stored, { detail: 'Mardi 11h' }, 'u1', new Date('2026-12-02T10:00:00Z'));
    expect(await exchanges.replace(stored, changed)).to.equal(true);
    // Decided on the version before that edit: refused, to be decided again.
    expect(await exchanges.replace(stored, edited(stored, { detail: 'Mardi 12h' }, 'u2', new Date()))).to.equal(false);
    const now = (await exchanges.get(orgId, later._id))!;
    expect(now).to.include({ detail: 'Mardi 11h' });
    expect(now.edits).to.deep.equal([
      {
        at: new Date('2026-12-02T10:00:00Z'),
        by: 'u1',
        previousSubject: 'RDV',
        previousDetail: 'Mardi 10h',
        previousType: 'contact',
        previousVisibility: 'client',
      },
    ]);
    // A tombstone stays in the history.
    expect(await exchanges.replace(now, tombstone(now, { userId: 'a1', role: 'admin' }, new Date('2026-12-03T00:00:00Z')))).to.equal(true);
    expect((await exchanges.get(orgId, later._id))!.deleted).to.deep.equal({ at: new Date('2026-12-03T00:00:00Z'), by: 'a1', byAdmin: true });
  });

  it('reads 1,000 summaries in one call, in the order asked, empty for a request without exchanges, never another org’s', async () => {
    const orgId = randomUUID();
    const ids = Array.from({ length: 1_000 }, () => randomUUID());
    const [withReminder, withOne] = ids;
    await summaries.recount(orgId, withReminder, [exchange(orgId, withReminder, { type: 'reminder' }), exchange(orgId, withReminder)], at);
    await summaries.recount(orgId, withOne, [exchange(orgId, withOne)], at);
    const read = await summaries.of(orgId, ids);
    expect(read.map((r) => r.requestId)).to.deep.equal(ids);
    expect(read[0].summary).to.include({ count: 2, reminders: 1 });
    expect(read[1].summary).to.include({ count: 1, reminders: 0 });
    expect(read[2].summary).to.deep.equal({ count: 0, reminders: 0, shown: 0, latest: [] });
    expect((await summaries.of(randomUUID(), [withReminder]))[0].summary.count).to.equal(0);
  });

  it('keeps the later recount when two recounts of a request land out of order', async () => {
    const orgId = randomUUID();
    const requestId = randomUUID();
    const [x, y] = [exchange(orgId, requestId), exchange(orgId, requestId, { type: 'reminder' })];
    await summaries.recount(orgId, requestId, [x, y], new Date('2026-12-01T10:00:01Z'));
    // Read before y was stored, written after: it must not take y away.
    await summaries.recount(orgId, requestId, [x], new Date('2026-12-01T10:00:00Z'));
    const [{ summary }] = await summaries.of(orgId, [requestId]);
    expect(summary).to.include({ count: 2, reminders: 1 });
    expect(summary.latest.map((l) => l.id).sort()).to.deep.equal([x._id, y._id].sort());
  });
});
