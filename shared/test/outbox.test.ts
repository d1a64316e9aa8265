import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import mongoose, { type Connection } from 'mongoose';
import { DurableEvents, Outbox, OUTBOX_INDEX, connectDatabase, makeEnvelope, outboxSchemaFields, type BaseConfig, type Envelope } from '../src';
import { eventually, testConfig, uniqueNamespace } from '../src/testing';

describe('outbox', function () {
  this.timeout(60_000);
  let config: BaseConfig;
  let db: Connection;
  let events: DurableEvents;
  interface Thing {
    _id: string;
    outbox: Envelope[];
    outboxPending: boolean;
    outboxAt: Date;
  }
  const schema = new mongoose.Schema<Thing>({ _id: String, ...outboxSchemaFields }, { versionKey: false });
  schema.index(OUTBOX_INDEX);
  const event = () =>
    makeEnvelope('mail.registered', 'org', {
      mailItemId: randomUUID(),
      personId: randomUUID(),
      kind: 'letter',
      quantity: 1,
      registeredAt: new Date().toISOString(),
      registeredBy: 'u',
    });

  before(async () => {
    config = testConfig(uniqueNamespace());
    db = await connectDatabase(config, 'outboxtest');
    events = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'test' });
  });
  after(async () => {
    await events.close();
    await db.close();
  });

  it('republishes what a crash left between the write and the publish, then clears it', async () => {
    const Model = db.model<Thing>('Thing', schema);
    const old = new Date(Date.now() - 60_000);
    const lost = event();
    const fresh = event();
    await Model.insertMany([
      { _id: 'crashed', outbox: [lost], outboxPending: true, outboxAt: old },
      // Written a moment ago: its own writer is still publishing it, the sweep leaves it alone.
      { _id: 'in-flight', outbox: [fresh], outboxPending: true, outboxAt: new Date() },
    ]);
    const seen: Envelope[] = [];
    const sub = await events.consume({ group: 'sweep', type: 'mail.registered', db, handle: async (evs) => void seen.push(...evs) });
    const outbox = new Outbox({ events, model: Model, dbTimeoutMs: 10_000, sweepAfterMs: 10_000 });
    await outbox.init();
    expect(await outbox.sweep()).to.equal(1);
    await eventually(() => seen.some((e) => e.id === lost.id), { what: 'swept event consumed' });
    expect(seen.some((e) => e.id === fresh.id)).to.equal(false);
    const crashed = await Model.findById('crashed').lean();
    expect(crashed).to.deep.include({ outboxPending: false, outbox: [] });
    expect(await outbox.sweep()).to.equal(0);
    await sub.stop();
  });

  it('records publication without touching the document; the sweep republishes only unmarked events, then clears', async () => {
    const Model = db.model<Thing>('Thing');
    const first = event();
    const second = event();
    const old = new Date(Date.now() - 60_000);
    await Model.create({ _id: 'busy', outbox: [first], outboxPending: true, outboxAt: old });
    const outbox = new Outbox({ events, model: Model, dbTimeoutMs: 10_000 });
    await outbox.init();
    await outbox.flush([{ _id: 'busy', outbox: [first] }]);
    // A later write adds an event that was never published (its writer crashed).
    await Model.updateOne({ _id: 'busy' }, { $push: { outbox: second } });
    const untouched = await Model.findById('busy').lean<{ outbox: Envelope[]; outboxPending: boolean }>();
    expect(untouched!.outboxPending).to.equal(true);
    expect(await outbox.sweep()).to.equal(1);
    const cleared = await Model.findById('busy').lean<{ outbox: Envelope[]; outboxPending: boolean }>();
    expect(cleared).to.deep.include({ outboxPending: false, outbox: [] });
  });
});
