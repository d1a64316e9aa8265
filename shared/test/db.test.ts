import { expect } from 'chai';
import mongoose, { type Connection } from 'mongoose';
import { Batcher, connectDatabase, insertEach, insertManyIgnoringDuplicates, upsertNewer, type BaseConfig } from '../src';
import { dropTestDatabases, testConfig, uniqueNamespace } from '@relais/testing';

describe('idempotent inserts (real database)', function () {
  this.timeout(30_000);
  let config: BaseConfig;
  let db: Connection;
  interface Row {
    _id: string;
    at: Date;
    closedAt: Date | null;
    n: number;
    tags: string[];
    state: string;
  }
  const schema = new mongoose.Schema<Row>(
    {
      _id: String,
      at: { type: Date, required: true },
      closedAt: { type: Date, default: null },
      n: Number,
      tags: { type: [String], default: [] },
      state: { type: String, default: 'open' },
    },
    { versionKey: false, collection: 'rows' },
  );

  before(async () => {
    config = testConfig(uniqueNamespace());
    db = await connectDatabase(config, 'shared');
  });
  after(async () => {
    await db?.close();
    if (config) await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
  });

  it('stores documents as the schema does (cast, defaults, nulls kept) and tells new from already there', async () => {
    const Rows = db.model<Row>('Row', schema);
    const at = '2026-06-16T17:00:00.000Z';
    expect(
      await insertEach(Rows, [
        { _id: 'a', at, n: '7', closedAt: null },
        { _id: 'b', at: new Date(at), state: 'closed' },
      ]),
    ).to.deep.equal([true, true]);
    expect(
      await insertEach(Rows, [
        { _id: 'a', at },
        { _id: 'c', at },
      ]),
    ).to.deep.equal([false, true]);
    expect(
      await insertManyIgnoringDuplicates(Rows, [
        { _id: 'c', at },
        { _id: 'd', at },
      ]),
    ).to.equal(1);
    const a = await db.collection('rows').findOne({ _id: 'a' as never });
    expect(a).to.deep.equal({ _id: 'a', at: new Date(at), closedAt: null, n: 7, tags: [], state: 'open' });
    expect(await db.collection('rows').countDocuments({ closedAt: null, state: 'open' })).to.equal(3);
    // A value the schema cannot cast is refused, and nothing of that insert is written.
    const err = await insertEach(Rows, [{ _id: 'e', at: 'not a date' }]).catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    expect(await db.collection('rows').countDocuments({ _id: 'e' as never })).to.equal(0);
  });

  it('never reports a document written that the database refused, and a group commit isolates it', async () => {
    const Rows = db.model<Row>('Row', schema);
    const at = new Date();
    // PostgreSQL cannot store NUL in text (FerretDB answers a bulk error with no per-document outcome).
    const bad = { _id: 'nul', at, state: 'a\u0000b' };
    const err = await insertEach(Rows, [{ _id: 'g1', at }, bad, { _id: 'g2', at }]).catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    const stored = await db
      .collection('rows')
      .find({ _id: { $in: ['g1', 'nul', 'g2'] as never[] } })
      .toArray();
    expect(stored.map((d) => d._id)).to.not.include('nul');

    // Callers sharing one insert: the bad one fails alone, the others are stored, each told the truth.
    const batcher = new Batcher<Record<string, unknown>, boolean>((docs) => insertEach(Rows, docs), { maxItems: 10, maxWaitMs: 5 });
    const docs = [
      { _id: 'h1', at },
      { _id: 'h2', at, state: 'x\u0000' },
      { _id: 'h3', at },
      { _id: 'g1', at },
    ];
    const outcomes = await Promise.allSettled(docs.map((d) => batcher.add(d)));
    expect(outcomes.map((o) => o.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const ids = (
      await db
        .collection('rows')
        .find({ _id: { $in: ['h1', 'h2', 'h3'] as never[] } })
        .toArray()
    )
      .map((d) => d._id)
      .sort();
    expect(ids).to.deep.equal(['h1', 'h3']);
  });

  it('writes a read model view unless a newer one is stored, and still writes the rest of a batch that meets one', async () => {
    interface View {
      _id: string;
      v: string;
      changedAt: Date;
    }
    const Views = db.model<View>('View', new mongoose.Schema<View>({ _id: String, v: String, changedAt: Date }, { versionKey: false, collection: 'views' }));
    const at = (h: number) => new Date(Date.UTC(2027, 0, 1, h));
    expect(await upsertNewer(10, Views, [{ _id: 'a', v: 'a10', changedAt: at(10) }])).to.have.length(1);
    // The stale view comes first: FerretDB would stop the bulk write there and skip the others.
    const applied = await upsertNewer(10, Views, [
      { _id: 'a', v: 'a9', changedAt: at(9) },
      { _id: 'b', v: 'b11', changedAt: at(11) },
      { _id: 'c', v: 'c11', changedAt: at(11) },
    ]);
    expect(applied.map((v) => v._id)).to.deep.equal(['b', 'c']);
    const stored = await Views.find().sort({ _id: 1 }).lean();
    expect(stored.map((v) => v.v)).to.deep.equal(['a10', 'b11', 'c11']);
  });
});
