import { expect } from 'chai';
import { connect, type NatsConnection } from 'nats';
import { SharedRateLimit } from '../src';
import { testConfig, uniqueNamespace } from '../src/testing';

describe('shared rate limit (JetStream key-value)', function () {
  this.timeout(30_000);
  const connections: NatsConnection[] = [];
  after(async () => {
    for (const nc of connections) {
      await nc.jetstream().views.kv(bucket).then((kv) => kv.destroy()).catch(() => undefined);
      await nc.close();
    }
  });
  let bucket: string;

  it('never hands out more than the limit per second between several instances', async () => {
    const config = testConfig(uniqueNamespace());
    bucket = `${config.RELAIS_NAMESPACE.toUpperCase()}_RATE`;
    const limiters = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const nc = await connect({ servers: config.NATS_URL });
        connections.push(nc);
        return SharedRateLimit.open(nc, bucket);
      }),
    );
    const taken: number[] = [];
    const start = Date.now();
    // 3 instances x 20 takes of 1 unit at 20 units/s: 60 units need 3 one-second windows.
    await Promise.all(
      limiters.map(async (limiter) => {
        for (let i = 0; i < 20; i++) {
          taken.push((await limiter.take('sms:CCAS', 1, 20))! * 1000);
        }
      }),
    );
    const perSecond = new Map<number, number>();
    for (const t of taken) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).to.be.at.most(20);
    expect(taken).to.have.length(60);
    // Three windows: at least two window boundaries crossed.
    expect(perSecond.size).to.be.at.least(3);
    expect(Date.now() - start).to.be.at.least(1_000);
    // Another sender has its own budget.
    const t0 = Date.now();
    await limiters[0].take('sms:AUTRE', 5, 20);
    expect(Date.now() - t0).to.be.below(500);
  });

  it('serves many concurrent takes of one instance with a few writes, in order, within the limit', async () => {
    const config = testConfig(uniqueNamespace());
    const nc = await connect({ servers: config.NATS_URL });
    connections.push(nc);
    const name = `${config.RELAIS_NAMESPACE.toUpperCase()}_RATE`;
    const limiter = await SharedRateLimit.open(nc, name);
    const kv = await nc.jetstream().views.kv(name);
    const key = Buffer.from('sms:CCAS').toString('base64url');
    // 40 callers at once, 2 units each, 50 units/s: 25 fit in the first window, 15 wait for the next.
    const order: number[] = [];
    const seconds = await Promise.all(Array.from({ length: 40 }, (_, i) => limiter.take('sms:CCAS', 2, 50).then((s) => (order.push(i), s!))));
    expect(order).to.deep.equal([...Array(40).keys()]);
    const perSecond = new Map<number, number>();
    for (const s of seconds) perSecond.set(s, (perSecond.get(s) ?? 0) + 2);
    expect(Math.max(...perSecond.values())).to.be.at.most(50);
    expect(perSecond.size).to.be.at.least(2);
    // One write per window served, not one per caller: the entry's revision counts them.
    const entry = await kv.get(key);
    expect(entry!.revision).to.be.at.most(4);
    // A take larger than the limit goes alone into an empty window; an aborted wait is refused.
    expect(await limiter.take('sms:BIG', 80, 50)).to.be.a('number');
    const aborted = new AbortController();
    const waiting = limiter.take('sms:BIG', 1, 50, aborted.signal).catch((e: Error) => e);
    aborted.abort();
    expect(await waiting).to.be.instanceOf(Error).with.property('message', 'rate limit wait aborted');
    await kv.destroy();
  });
});
