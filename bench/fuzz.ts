// `npm run bench -- fuzz [requests=20000] [concurrency=16] [seed=18]`: the robustness generator of
// gateway/test/fuzz.test.ts, longer, against Relais started as separate processes (every service and the
// gateway, real NATS and database). It counts answers per status class, 5xx, crashed processes and
// acknowledged writes that cannot be read back. Its floor is the same request sequence answered by a bare
// express server (JSON parser, then 404) in its own process; the ratio compares requests per second.
import { randomBytes } from 'node:crypto';
import { freePort } from '@relais/testing';
import {
  RawClient,
  createFixture,
  formatFailures,
  fuzzRequests,
  operationsOf,
  runRequests,
  verifyAcks,
  type Failure,
  type FuzzRun,
  type OpenApiDoc,
} from '../gateway/test/support/fuzz';
import { Children, stackEnv } from './lib/children';
import { parseArgs, sleep, whenAborted, type BenchContext } from './lib/context';

export const description = 'seeded hostile and valid requests on every OpenAPI operation: 5xx, crashes, lost writes; vs a bare express floor';

const SERVICES = ['contacts', 'domiciliation', 'mail', 'notifications', 'exchanges'] as const;
const READY_TIMEOUT_MS = 120_000;

const say = (msg: string) => process.stderr.write(`fuzz: ${msg}\n`);

export async function run(args: string[], ctx: BenchContext): Promise<string[]> {
  const { requests, concurrency, seed } = parseArgs(args, { requests: 20_000, concurrency: 16, seed: 18 });
  const namespace = `${ctx.prefix}_relais`;
  const platformToken = randomBytes(24).toString('base64url');
  const port = await freePort();
  const env = stackEnv(ctx, namespace, port, {
    RELAIS_PLATFORM_TOKEN: platformToken,
    // Valid requests may switch the org's SMS on: nothing can leave the machine.
    SMS_PROVIDER: 'log',
    EMAIL_PROVIDER: 'log',
  });

  const children = new Children(namespace, ctx.signal);
  const crashes: string[] = [];
  children.crashed.catch((err: Error) => crashes.push(err.message));
  const base = `http://127.0.0.1:${port}`;
  const client = new RawClient(base, concurrency);
  let keepLogs = true;
  try {
    say(`starting every service and the gateway in namespace ${namespace} (port ${port})`);
    for (const name of SERVICES) children.start(name, `services/${name}/src/main.ts`, env);
    children.start('gateway', 'gateway/src/main.ts', env);
    await Promise.race([waitReady(client, ctx.signal), children.crashed, whenAborted(ctx.signal)]);

    const fx = await createFixture(client, platformToken, namespace);
    const ops = operationsOf((await client.json('GET', '/openapi.json', null)).json as OpenApiDoc);
    say(`${ops.length} operations; ${requests} requests from ${concurrency} clients, seed ${seed}`);

    const floor = await runFloor(requests, concurrency, seed, ops, fx, ctx);
    say(`floor: ${rate(floor).toFixed(0)} requests/s`);

    children.mark();
    const relais = await Promise.race([
      runRequests(client, fuzzRequests(ops, fx, { seed, count: requests }), { concurrency, check: true }),
      whenAborted(ctx.signal),
    ]);
    say(`Relais: ${rate(relais).toFixed(0)} requests/s; reading back ${relais.acks.length} acknowledged writes`);
    const missing = await verifyAcks(client, fx, relais.acks, concurrency);

    // Processes that exited, and services the gateway no longer finds ready.
    const dead = [...children.pids()].filter(([pid]) => !alive(pid)).map(([, name]) => name);
    const ready = await client.json('GET', '/readyz', null);
    const notReady = ready.status === 200 ? [] : [`not ready at the end: ${ready.text.slice(0, 300)}`];
    const crashCount = dead.length + notReady.length;

    const failures: Failure[] = [...relais.failures, ...missing];
    const count = (kind: Failure['kind']) => failures.filter((f) => f.kind === kind).length;
    const serverErrors = count('server error');
    const lost = count('acknowledged but missing');
    const notes = children
      .logLines()
      .filter((l) => l.lines > 0)
      .map((l) => `  note: ${l.name} logged ${l.lines} line(s) at warn or above, see ${l.log}`);
    keepLogs = failures.length > 0 || crashCount > 0 || notes.length > 0;
    const ratio = rate(relais) / rate(floor);
    return [
      `fuzz: ${requests} requests per contender on ${ops.length} operations, ${concurrency} clients, seed ${seed}`,
      `  Relais  ${describe(relais)}`,
      `  floor (bare express: JSON parser + 404)  ${describe(floor)}`,
      `  5xx: ${serverErrors}; crashes: ${crashCount}${dead.length ? ` (exited: ${dead.join(', ')})` : ''}; acknowledged-missing: ${lost} of ${relais.acks.length} writes read back`,
      `  also: no answer ${count('no answer')}; 4xx not a problem document ${count('not a problem document')}; another org's id answered 2xx ${count("another org's id answered 2xx")}`,
      ...notReady.map((n) => `  ${n}`),
      ...crashes.map((c) => `  crash: ${c}`),
      ...(failures.length ? [formatFailures(failures, seed, 30).replace(/^/gm, '  ')] : []),
      ...notes,
      `RESULT fuzz ${serverErrors + crashCount + lost} failures ratio=${ratio.toFixed(2)}`,
    ];
  } finally {
    client.close();
    await children.stopAll();
    if (!keepLogs) children.discardLogs();
  }
}

/** The same request sequence against the floor server, in a process of its own. */
async function runFloor(
  requests: number,
  concurrency: number,
  seed: number,
  ops: ReturnType<typeof operationsOf>,
  fx: Awaited<ReturnType<typeof createFixture>>,
  ctx: BenchContext,
): Promise<FuzzRun> {
  const port = await freePort();
  const floor = new Children(`${ctx.prefix}_floor`, ctx.signal);
  const client = new RawClient(`http://127.0.0.1:${port}`, concurrency);
  try {
    floor.start('floor', 'bench/lib/fuzz-floor.ts', { ...process.env, PORT: String(port) });
    const deadline = Date.now() + 30_000;
    while ((await client.json('GET', '/', null)).status !== 404) {
      if (Date.now() > deadline) throw new Error('the floor server did not answer within 30 s');
      await sleep(100, ctx.signal);
    }
    return await Promise.race([
      runRequests(client, fuzzRequests(ops, fx, { seed, count: requests }), { concurrency, check: false }),
      floor.crashed,
      whenAborted(ctx.signal),
    ]);
  } finally {
    client.close();
    await floor.stopAll();
    floor.discardLogs();
  }
}

async function waitReady(client: RawClient, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const reply = await client.json('GET', '/readyz', null);
    if (reply.status === 200) return;
    last = reply.text || reply.error || String(reply.status);
    await sleep(500, signal);
  }
  throw new Error(`Relais was not ready after ${READY_TIMEOUT_MS / 1000} s: ${last}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const rate = (r: FuzzRun) => r.sent / (r.ms / 1000);

function describe(r: FuzzRun): string {
  const classes = Object.entries(r.byClass)
    .filter(([, n]) => n > 0)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  return `${rate(r).toFixed(0).padStart(6)} requests/s (${(r.ms / 1000).toFixed(1)} s): ${classes}`;
}
