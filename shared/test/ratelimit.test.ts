import { expect } from 'chai';
import { connect, type NatsConnection } from 'nats';
import { SharedRateLimit } from '../src';
import { testConfig, uniqueNamespace } from '@relais/testing';

describe('shared rate limit (JetStream key-value)', function () {
  this.timeout(30_000);
  const connections: NatsConnection[] = [];
  const buckets: string[] = [];
  after(async () => {
    for (const nc of connections) {
      for (const bucket of buckets)
        await nc
          .jetstream()
          .views.kv(bucket)
          .then((kv) => kv.destroy())
          .catch(() => undefined);
      await nc.close();
    }
  });

  const limiters = async (n: number) => {
    const bucket = `${testConfig(uniqueNamespace()).RELAIS_NAMESPACE.toUpperCase()}_RATE`;
    buckets.push(bucket);
    return Promise.all(
      Array.from({ length: n }, async () => {
        const nc = await connect({ servers: testConfig(uniqueNamespace()).NATS_URL });
        connections.push(nc);
        return { limiter: await SharedRateLimit.open(nc, bucket), kv: await nc.jetstream().views.kv(bucket) };
      }),
    );
  };

  it('gives each unit its turn, at least 1/limit after the one before, between several instances', async () => {
    const three = await limiters(3);
    const taken: { turn: number; at: number }[] = [];
    const start = Date.now();
    // 3 instances x 20 takes of 1 unit at 20 units/s: a turn every 50 ms, about 3 s in all.
    await Promise.all(
      three.map(async ({ limiter }) => {
        for (let i = 0; i < 20; i++) {
          const turn = (await limiter.take('sms:CCAS', 1, 20))!;
          taken.push({ turn, at: Date.now() });
        }
      }),
    );
    expect(taken).to.have.length(60);
    const turns = taken.map((t) => t.turn).sort((a, b) => a - b);
    // 50 ms apart at least (more when every caller was between two takes: an idle turn is not banked).
    for (let i = 1; i < turns.length; i++) expect(turns[i] - turns[i - 1], `turn ${i}`).to.be.at.least(49.999);
    // Nobody went more than the 20 ms tolerance before its turn; so no second held more than 20 + 1.
    for (const t of taken) expect(t.at).to.be.at.least(t.turn - 20);
    for (const t of turns) expect(turns.filter((u) => u >= t && u < t + 1000).length).to.be.at.most(21);
    expect(Date.now() - start).to.be.at.least(2_900);
    // Another sender has its own budget.
    const t0 = Date.now();
    await three[0].limiter.take('sms:AUTRE', 5, 20);
    expect(Date.now() - t0).to.be.below(500);
  });

  it('serves the concurrent takes of one instance in order, several per write', async () => {
    const [{ limiter, kv }] = await limiters(1);
    // 40 callers at once at 1,000 units/s: turns 1 ms apart, the first 21 served by the first write.
    const order: number[] = [];
    await Promise.all(Array.from({ length: 40 }, (_, i) => limiter.take('sms:CCAS', 1, 1000).then(() => order.push(i))));
    expect(order).to.deep.equal([...Array(40).keys()]);
    // The bucket's revision counts its writes: fewer than callers (each write serves every turn come by then).
    expect((await kv.get(Buffer.from('sms:CCAS').toString('base64url')))!.revision).to.be.below(30);
  });

  it('lets a take larger than the limit through, and makes the next wait its share; an aborted wait is refused', async () => {
    const [{ limiter }] = await limiters(1);
    const t0 = Date.now();
    await limiter.take('sms:BIG', 80, 100); // 0.8 s of budget, let through at once
    expect(Date.now() - t0).to.be.below(300);
    await limiter.take('sms:BIG', 1, 100);
    expect(Date.now() - t0).to.be.at.least(780);
    const aborted = new AbortController();
    await limiter.take('sms:BIG', 80, 100);
    const waiting = limiter.take('sms:BIG', 1, 100, aborted.signal).catch((e: Error) => e);
    aborted.abort();
    expect(await waiting)
      .to.be.instanceOf(Error)
      .with.property('message', 'rate limit wait aborted');
  });
});
