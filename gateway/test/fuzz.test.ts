import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { eventually } from '@relais/testing';
import {
  RawClient,
  createFixture,
  formatFailures,
  fuzzRequests,
  operationsOf,
  runRequests,
  verifyAcks,
  type Failure,
  type Fixture,
  type FuzzOperation,
  type FuzzRun,
  type OpenApiDoc,
} from './support/fuzz';
import { PLATFORM_TOKEN, startTestStack, type TestStack } from './support';

// FUZZ_SEED=<n> replays a run (the report names each failure's request by number); FUZZ_REQUESTS changes its size.
const SEED = Number(process.env.FUZZ_SEED ?? 18);
// One sweep of every mutation of every operation, then random requests, a quarter of them valid: enough of them
// that every creating operation meets valid requests after the sweep.
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 9000);
const CONCURRENCY = 8;

/**
 * The whole stack (gateway and every service over real NATS) under a seeded stream of hostile and valid
 * requests built from the OpenAPI document it serves: whatever comes in, the answer is a 2xx or a problem
 * document, no process goes down, and whatever was acknowledged can be read back.
 */
describe('fuzz: every operation of the OpenAPI document, hostile and valid requests', function () {
  this.timeout(300_000);
  let stack: TestStack;
  let client: RawClient;
  let fx: Fixture;
  let ops: FuzzOperation[];
  let run: FuzzRun;
  let missing: Failure[];
  const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();
  const only = (kind: Failure['kind']) => [...run.failures, ...missing].filter((f) => f.kind === kind);

  before(async function () {
    this.timeout(300_000);
    // Quiet by default: the run provokes thousands of refusals, and reports what matters itself.
    stack = await startTestStack({ LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal' });
    client = new RawClient(stack.gw.url, CONCURRENCY);
    await eventually(async () => (await client.json('GET', '/readyz', null)).status === 200, { what: 'readyz 200' });
    fx = await createFixture(client, PLATFORM_TOKEN, randomUUID().slice(0, 8));
    ops = operationsOf((await client.json('GET', '/openapi.json', null)).json as OpenApiDoc);
    run = await runRequests(client, fuzzRequests(ops, fx, { seed: SEED, count: REQUESTS }), { concurrency: CONCURRENCY, check: true });
    missing = await verifyAcks(client, fx, run.acks, CONCURRENCY);
    const classes = Object.entries(run.byClass)
      .map(([c, n]) => `${c} ${n}`)
      .join(', ');
    process.stderr.write(
      `      fuzz: seed ${SEED}, ${run.sent} requests in ${(run.ms / 1000).toFixed(1)} s (${classes}), ${run.acks.length} writes read back\n`,
    );
  });

  after(async function () {
    this.timeout(60_000);
    client?.close();
    await stack?.close();
  });

  it('walks every operation, with valid requests whose writes are acknowledged', () => {
    for (const op of ops) expect(run.byOperation[op.operationId], op.route).to.not.equal(undefined);
    // Each creating operation acknowledged writes: the valid requests did reach the services.
    const creating = ops.filter((op) => op.success === 201 || op.operationId === 'mail.registerBatch');
    const acked = new Set(run.acks.map((a) => a.route));
    expect(creating.filter((op) => !acked.has(op.route)).map((op) => op.route)).to.deep.equal([]);
  });

  it('answers every request, and none with a 5xx', () => {
    const failures = [...only('server error'), ...only('no answer')];
    expect(failures.length, formatFailures(failures, SEED)).to.equal(0);
  });

  it('answers every 4xx with application/problem+json carrying status, title and detail', () => {
    const failures = only('not a problem document');
    expect(failures.length, formatFailures(failures, SEED)).to.equal(0);
  });

  it('answers every 2xx with its documented body: JSON, or a whole download with its headers', () => {
    const failures = only('not the documented success body');
    expect(failures.length, formatFailures(failures, SEED)).to.equal(0);
  });

  it("never answers 2xx to a path naming another org's id", () => {
    const failures = only("another org's id answered 2xx");
    expect(failures.length, formatFailures(failures, SEED)).to.equal(0);
  });

  it('reads back everything it acknowledged (created people, mail, users, tokens, orgs, domiciliations, attachments byte for byte)', () => {
    const failures = only('acknowledged but missing');
    expect(failures.length, formatFailures(failures, SEED)).to.equal(0);
  });

  it('leaves every process alive and ready, and Object.prototype untouched', async () => {
    const down = stack.nodes.filter((n) => !n.started || n.transit?.connected !== true).map((n) => n.nodeID);
    expect(down, 'service brokers stopped or disconnected').to.deep.equal([]);
    const ready = await client.json('GET', '/readyz', null);
    expect(ready.status, ready.text).to.equal(200);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).to.deep.equal(prototypeKeys);
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });
});
