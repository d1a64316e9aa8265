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
    expect(await outbox.sweep()).to.equal(1);
    await eventually(() => seen.some((e) => e.id === lost.id), { what: 'swept event consumed' });
    expect(seen.some((e) => e.id === fresh.id)).to.equal(false);
    const crashed = await Model.findById('crashed').lean();
    expect(crashed).to.deep.include({ outboxPending: false, outbox: [] });
    expect(await outbox.sweep()).to.equal(0);
    await sub.stop();
  });

  it('publishes then clears, keeping an event added meanwhile for the sweep', async () => {
    const Model = db.model<Thing>('Thing');
    const first = event();
    const second = event();
    await Model.create({ _id: 'busy', outbox: [first, second], outboxPending: true, outboxAt: new Date(Date.now() - 60_000) });
    const seen: Envelope[] = [];
    const sub = await events.consume({ group: 'flush', type: 'mail.registered', db, handle: async (evs) => void seen.push(...evs) });
    const outbox = new Outbox({ events, model: Model, dbTimeoutMs: 10_000 });
    // The writer published only the first event: the document holds two, so it is not cleared.
    await outbox.flush([{ _id: 'busy', outbox: [first] }]);
    const untouched = await Model.findById('busy').lean<{ outbox: Envelope[]; outboxPending: boolean }>();
    expect(untouched).to.deep.include({ outboxPending: true });
    expect(untouched!.outbox).to.have.length(2);
    expect(await outbox.sweep()).to.equal(2);
    const cleared = await Model.findById('busy').lean<{ outbox: Envelope[]; outboxPending: boolean }>();
    expect(cleared).to.deep.include({ outboxPending: false, outbox: [] });
    // Published twice (flush, then sweep): consumed once, JetStream drops the second publish of an id.
    await eventually(() => seen.some((e) => e.id === second.id), { what: 'second event consumed' });
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.filter((e) => e.id === first.id)).to.have.length(1);
    await sub.stop();
  });
});
