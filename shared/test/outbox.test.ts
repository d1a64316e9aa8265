import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import mongoose, { type Connection, type Model } from 'mongoose';
import {
  DurableEvents,
  Outbox,
  connectDatabase,
  eventIdsPush,
  makeEnvelope,
  outboxSchemaFields,
  type BaseConfig,
  type Envelope,
  type OutboxFields,
} from '../src';
import { dropTestDatabases, eventually, testConfig, uniqueNamespace } from '@relais/testing';

describe('outbox (real database and NATS)', function () {
  this.timeout(60_000);
  let config: BaseConfig;
  let db: Connection;
  let events: DurableEvents;
  let Thing: Model<Thing>;
  let seen: Envelope[];
  let sub: { stop(): Promise<void> };
  interface Thing extends OutboxFields {
    _id: string;
    n: number;
  }
  const schema = new mongoose.Schema<Thing>({ _id: String, n: Number, ...outboxSchemaFields }, { versionKey: false, collection: 'things' });
  const event = () =>
    makeEnvelope('mail.registered', 'org', {
      mailItemId: randomUUID(),
      personId: randomUUID(),
      kind: 'letter',
      quantity: 1,
      registeredAt: new Date().toISOString(),
      registeredBy: 'u',
    });
  const intents = () => db.collection<{ _id: string; docIds: string[]; events: string; at: Date }>('things_outbox');
  const consumed = (e: Envelope) => seen.filter((s) => s.id === e.id).length;
  /** Inserts the things, each holding its event id, as a write through the outbox would. */
  const insertWrite = (docs: { _id: string; event: Envelope }[]) => async () => {
    await Thing.insertMany(docs.map((d) => ({ _id: d._id, n: 0, eventIds: [d.event.id] })));
    return { result: docs.length, applied: docs.map((d) => d.event) };
  };

  before(async () => {
    config = testConfig(uniqueNamespace());
    db = await connectDatabase(config, 'outboxtest');
    events = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'test' });
    Thing = db.model<Thing>('Thing', schema);
    seen = [];
    sub = await events.consume({
      group: 'outboxtest',
      type: 'mail.registered',
      db,
      handle: (evs) => {
        seen.push(...evs);
        return Promise.resolve();
      },
    });
  });
  after(async () => {
    await sub?.stop();
    await events?.close();
    await db?.close();
    if (config) await dropTestDatabases(config.MONGO_URL, config.RELAIS_NAMESPACE);
  });

  it('publishes the events a write applied, not the others, and leaves no intent behind', async () => {
    const outbox = new Outbox({ events, model: Thing, dbTimeoutMs: 10_000 });
    await outbox.init();
    const a = { _id: randomUUID(), event: event() };
    const b = { _id: randomUUID(), event: event() };
    expect(await outbox.write([a.event], [a._id], insertWrite([a]))).to.equal(1);
    // A write that applied nothing (lost a race, say): its event is not published.
    const skipped = await outbox.write([b.event], [b._id], () => Promise.resolve({ result: 'lost', applied: [] }));
    expect(skipped).to.equal('lost');
    await eventually(() => consumed(a.event) === 1, { what: 'the applied event consumed' });
    expect(consumed(b.event)).to.equal(0);
    expect(await intents().countDocuments()).to.equal(0);
    // An update records its event id next to the earlier ones, in the same write.
    const c = event();
    await outbox.write([c], [a._id], async () => {
      const res = await Thing.updateOne({ _id: a._id }, { $set: { n: 1 }, $push: eventIdsPush([c]) }).exec();
      return { result: undefined, applied: res.modifiedCount > 0 ? [c] : [] };
    });
    expect((await Thing.findById(a._id).lean())!.eventIds).to.deep.equal([a.event.id, c.id]);
    await eventually(() => consumed(c) === 1, { what: 'the update event consumed' });
  });

  it('publishes in the background with writeSoon; stop waits for it', async () => {
    const outbox = new Outbox({ events, model: Thing, dbTimeoutMs: 10_000 });
    const docs = Array.from({ length: 120 }, () => ({ _id: randomUUID(), event: event() }));
    const parts = [docs.slice(0, 50), docs.slice(50)];
    const results = await Promise.all(
      parts.map((p) =>
        outbox.writeSoon(
          p.map((d) => d.event),
          p.map((d) => d._id),
          insertWrite(p),
        ),
      ),
    );
    expect(results).to.deep.equal([50, 70]);
    await outbox.stop();
    expect(await intents().countDocuments()).to.equal(0);
    await eventually(() => docs.every((d) => consumed(d.event) === 1), { what: 'all 120 events consumed' });
  });

  it('a failed publish loses nothing: the write stands, and the sweep publishes its events later', async () => {
    const broken = { publish: async () => Promise.reject(new Error('NATS is down')) } as unknown as DurableEvents;
    const failing = new Outbox({ events: broken, model: Thing, dbTimeoutMs: 10_000 });
    const d = { _id: randomUUID(), event: event() };
    expect(await failing.write([d.event], [d._id], insertWrite([d]))).to.equal(1);
    expect(await Thing.countDocuments({ _id: d._id })).to.equal(1);
    expect(await intents().countDocuments()).to.equal(1);

    const sweeper = new Outbox({ events, model: Thing, dbTimeoutMs: 10_000, sweepAfterMs: 0 });
    expect(await sweeper.sweep()).to.equal(1);
    await eventually(() => consumed(d.event) === 1, { what: 'the swept event consumed' });
    expect(await intents().countDocuments()).to.equal(0);
  });

  it('the sweep settles what a crash left: publishes written events, drops those never written, leaves recent intents alone', async () => {
    const old = new Date(Date.now() - 10 * 60_000);
    // Crashed after the write, before the publish: the thing holds the event id.
    const written = { _id: randomUUID(), event: event() };
    await Thing.create({ _id: written._id, n: 0, eventIds: [written.event.id] });
    // Crashed before the write: no document holds the event.
    const never = { _id: randomUUID(), event: event() };
    // Crashed before an update of an existing thing landed: the thing exists without that event id.
    const unapplied = { _id: randomUUID(), event: event() };
    await Thing.create({ _id: unapplied._id, n: 0, eventIds: [] });
    // Recorded a moment ago: its writer may still be writing and publishing it.
    const recent = { _id: randomUUID(), event: event() };
    await Thing.create({ _id: recent._id, n: 0, eventIds: [recent.event.id] });
    await intents().insertMany([
      { _id: randomUUID(), docIds: [written._id, never._id], events: JSON.stringify([written.event, never.event]), at: old },
      { _id: randomUUID(), docIds: [unapplied._id], events: JSON.stringify([unapplied.event]), at: old },
      { _id: 'recent', docIds: [recent._id], events: JSON.stringify([recent.event]), at: new Date() },
    ]);

    const outbox = new Outbox({ events, model: Thing, dbTimeoutMs: 10_000, sweepAfterMs: 60_000 });
    expect(await outbox.sweep()).to.equal(1);
    await eventually(() => consumed(written.event) === 1, { what: 'the written event consumed' });
    expect(consumed(never.event) + consumed(unapplied.event) + consumed(recent.event)).to.equal(0);
    expect((await intents().find({}).toArray()).map((i) => i._id)).to.deep.equal(['recent']);
    expect(await outbox.sweep()).to.equal(0);
    await intents().deleteMany({});
  });

  it('a write that fails leaves its intent to the sweep, which publishes only what was stored', async () => {
    const outbox = new Outbox({ events, model: Thing, dbTimeoutMs: 10_000 });
    const stored = { _id: randomUUID(), event: event() };
    const lost = { _id: randomUUID(), event: event() };
    const failure = outbox.write([stored.event, lost.event], [stored._id, lost._id], async () => {
      await Thing.create({ _id: stored._id, n: 0, eventIds: [stored.event.id] });
      throw new Error('the database went away mid-write');
    });
    await failure.then(
      () => expect.fail('the write should have failed'),
      (err: Error) => expect(err.message).to.equal('the database went away mid-write'),
    );
    expect(await intents().countDocuments()).to.equal(1);
    const sweeper = new Outbox({ events, model: Thing, dbTimeoutMs: 10_000, sweepAfterMs: 0 });
    expect(await sweeper.sweep()).to.equal(1);
    await eventually(() => consumed(stored.event) === 1, { what: 'the stored event consumed' });
    expect(consumed(lost.event)).to.equal(0);
    expect(await intents().countDocuments()).to.equal(0);
  });
});
