import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { Connection } from 'mongoose';
import { DurableEvents, connectDatabase, makeEnvelope, type BaseConfig, type Envelope } from '../src';
import { eventually, testConfig, uniqueNamespace } from '@relais/testing';

const letter = (orgId: string) =>
  makeEnvelope('mail.registered', orgId, {
    mailItemId: randomUUID(),
    personId: randomUUID(),
    kind: 'letter',
    quantity: 1,
    registeredAt: new Date().toISOString(),
    registeredBy: randomUUID(),
  });

describe('durable events on JetStream', function () {
  this.timeout(120_000);
  let config: BaseConfig;
  let db: Connection;
  const opened: DurableEvents[] = [];
  const open = async () => {
    const events = await DurableEvents.connect({ natsUrl: config.NATS_URL, namespace: config.RELAIS_NAMESPACE, name: 'test' });
    opened.push(events);
    return events;
  };

  before(async () => {
    config = testConfig(uniqueNamespace());
    db = await connectDatabase(config, 'durabletest');
  });
  after(async () => {
    await Promise.all(opened.map((e) => e.close()));
    await db.close();
  });

  it('creates streams and one shared consumer race-free when several instances start at once', async () => {
    const instances = await Promise.all(Array.from({ length: 4 }, () => open()));
    const seen: string[] = [];
    const subs = await Promise.all(
      instances.map((events) =>
        events.consume({
          group: 'race',
          type: 'mail.registered',
          db,
          handle: (evs) => {
            seen.push(...evs.map((e) => e.id));
            return Promise.resolve();
          },
        }),
      ),
    );
    const sent = Array.from({ length: 40 }, () => letter(randomUUID()));
    await instances[0].publish(sent);
    await eventually(() => seen.length >= 40, { what: '40 events handled' });
    await new Promise((r) => setTimeout(r, 500));
    expect([...seen].sort()).to.deep.equal(sent.map((e) => e.id).sort());
    await Promise.all(subs.map((s) => s.stop()));
  });

  it('drops a republished event with the same id (Nats-Msg-Id) at the server', async () => {
    const events = await open();
    const env = letter(randomUUID());
    const seen: string[] = [];
    const sub = await events.consume({
      group: 'dedupe',
      type: 'mail.registered',
      db,
      handle: (evs) => {
        seen.push(...evs.map((e) => e.id));
        return Promise.resolve();
      },
    });
    await events.publish([env]);
    await events.publish([env]);
    await eventually(() => seen.includes(env.id), { what: 'event handled' });
    await new Promise((r) => setTimeout(r, 1000));
    expect(seen.filter((id) => id === env.id)).to.have.length(1);
    await sub.stop();
  });

  it('retries a throwing consumer with backoff, dead-letters it after the cap, and replays it', async () => {
    const events = await open();
    const env = letter(randomUUID());
    const attempts: number[] = [];
    let healthy = false;
    const handled: Envelope[] = [];
    const sub = await events.consume({
      group: 'flaky',
      type: 'mail.registered',
      db,
      maxDeliveries: 3,
      backoffMs: [300, 900],
      handle: (evs) => {
        if (!evs.some((e) => e.id === env.id)) return Promise.resolve();
        // A failing batch is retried event by event at once; count deliveries, not those splits.
        if (evs.length === 1) attempts.push(Date.now());
        if (!healthy) return Promise.reject(new Error('downstream refused'));
        handled.push(...evs);
        return Promise.resolve();
      },
    });
    await events.publish([env]);
    const dead = await eventually(
      async () => {
        const letters = await events.deadLetters();
        return letters.find((d) => d.envelope?.id === env.id);
      },
      { what: 'dead letter' },
    );
    expect(attempts).to.have.length(3);
    expect(attempts[1] - attempts[0]).to.be.at.least(280);
    expect(attempts[2] - attempts[1]).to.be.at.least(880);
    expect(dead.group).to.equal('flaky');
    expect(dead.error).to.equal('downstream refused');
    expect(dead.deliveries).to.equal(3);

    healthy = true;
    await events.replay(dead.seq);
    await eventually(() => handled.some((e) => e.id === env.id), { what: 'replayed event handled' });
    expect((await events.deadLetters()).some((d) => d.seq === dead.seq)).to.equal(false);
    await sub.stop();
  });

  it('dead-letters a malformed message at once, without blocking the others', async () => {
    const events = await open();
    const good = letter(randomUUID());
    const seen: string[] = [];
    const sub = await events.consume({
      group: 'strict',
      type: 'mail.registered',
      db,
      handle: (evs) => {
        seen.push(...evs.map((e) => e.id));
        return Promise.resolve();
      },
    });
    const { connect } = await import('nats');
    const nc = await connect({ servers: config.NATS_URL });
    await nc.jetstream().publish(events.subject('mail.registered'), Buffer.from('{"not":"an envelope"}'));
    await nc.close();
    await events.publish([good]);
    await eventually(() => seen.includes(good.id), { what: 'good event handled' });
    await eventually(async () => (await events.deadLetters()).some((d) => d.group === 'strict' && /malformed/.test(d.error)), {
      what: 'malformed event dead-lettered',
    });
    await sub.stop();
  });

  it("tells whether a group's consumers have handled every event up to a sequence, later ones still arriving", async () => {
    const events = await open();
    let release: () => void = () => undefined;
    let gate = new Promise<void>((r) => (release = r));
    const sub = await events.consume({ group: 'backlog', type: 'mail.registered', db, handle: () => gate });
    const idle = await events.consume({ group: 'backlog', type: 'mail.handedOver', db, handle: () => Promise.resolve() });
    await events.publish(Array.from({ length: 5 }, () => letter(randomUUID())));
    const seq = await events.lastSequence();
    await new Promise((r) => setTimeout(r, 300));
    expect(await events.backlogCleared('backlog', ['mail.registered', 'mail.handedOver'], seq)).to.equal(false);
    release();
    await eventually(() => events.backlogCleared('backlog', ['mail.registered', 'mail.handedOver'], seq), { what: 'backlog cleared' });
    // Events after `seq` held up by the handler do not count against it.
    gate = new Promise<void>((r) => (release = r));
    await events.publish([letter(randomUUID())]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await events.backlogCleared('backlog', ['mail.registered'], seq)).to.equal(true);
    expect(await events.backlogCleared('backlog', ['mail.registered'], await events.lastSequence())).to.equal(false);
    release();
    await Promise.all([sub.stop(), idle.stop()]);
  });
});
