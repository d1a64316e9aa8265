// `npm run bench -- ingest [items=2000] [concurrency=32] [round=100] [rounds=4] [repeats=5] [people=10000]`: mail registered
// through the gateway, stored by the mail service, published on JetStream and recorded by the notifications
// service, against two raw floors (the same writes with the bare drivers, one at a time and batched), all on
// the same database and NATS in one run. Relais runs two timed phases, each compared with its like: one item
// per request (`concurrency` clients) against the one-at-a-time floor, and rounds of `round` items per
// request (POST /v1/mail/batch, `rounds` clients) against the batched floor. A batched run lasts under a
// second, where a passing hiccup of the machine weighs a lot: the rounds phase and the batched floor take
// turns `repeats` times, and each side's median is compared. The org holds `people` domiciled files (a
// realistic org, so that costs growing with its size show); the mail goes to 20 of them.
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { GatewayStore, createOrgWithAdmin, loadGatewayConfig } from '@relais/gateway';
import { freePort } from '@relais/testing';
import { parseArgs, rate, sleep, whenAborted, type BenchContext } from './lib/context';
import { Children, stackEnv } from './lib/children';
import { cpuReport, cpuSnapshot } from './lib/cpu';
import { openFloor, type Floor, type FloorMode } from './lib/floors';
import { HttpClient, quantile, waitReady } from './lib/http';

export const description = 'mail registered through the gateway -> stored -> JetStream -> recorded by notifications, vs raw floors';

const WARMUP = 50;
const PEOPLE = 20;
const KINDS = ['letter', 'parcel', 'deliveryNotice'] as const;
const READY_TIMEOUT_MS = 120_000;
const POLL_MS = 100;
const MAX_POLL_MS = 1_000;
const SERVICES = ['contacts', 'domiciliation', 'mail', 'notifications'] as const;

const say = (msg: string) => process.stderr.write(`ingest: ${msg}\n`);

export async function run(args: string[], ctx: BenchContext): Promise<string[]> {
  const { items, concurrency, round, rounds, repeats, people } = parseArgs(args, {
    items: 2000,
    concurrency: 32,
    round: 100,
    rounds: 4,
    repeats: 5,
    people: 10_000,
  });
  say(
    `${items} items, ${concurrency} single-item clients, ${rounds} clients of ${round}-item rounds (${repeats} times), ${WARMUP} warm-up items per contender, an org of ${people} people`,
  );

  const { ms: one, cpu: oneCpu } = await floor('one', items, ctx);
  say(`floor, one at a time: ${rate(items, one)} items/s`);
  const batchedFloor = await openWarmFloor('batched', ctx);
  let relais: Awaited<ReturnType<typeof relaisFlow>>;
  try {
    relais = await relaisFlow(items, { concurrency, round, rounds, repeats, people }, batchedFloor, ctx);
  } finally {
    await batchedFloor.close();
  }

  const perS = (ms: number) => items / (ms / 1000);
  const singleRate = perS(relais.single.ms);
  const oneRate = perS(one);
  // The median run of each side (an odd count of runs: the middle one).
  const middle = <T>(xs: T[], ms: (x: T) => number) => [...xs].sort((a, b) => ms(a) - ms(b))[Math.floor(xs.length / 2)];
  const roundsMid = middle(relais.rounds, (p) => p.ms);
  const batchedMid = middle(relais.batched, (b) => b.ms);
  const roundRate = perS(roundsMid.ms);
  const batchedRate = perS(batchedMid.ms);
  const runs = relais.rounds.map((p, i) => `${perS(p.ms).toFixed(0)}/${perS(relais.batched[i].ms).toFixed(0)}`).join(', ');
  return [
    `ingest: N=${items} items per contender (after ${WARMUP} warm-up items each), an org of ${Math.max(people, PEOPLE + 2)} domiciled people`,
    `  Relais, one item per request (${concurrency} clients)          ${singleRate.toFixed(2).padStart(9)} items/s  (${(relais.single.ms / 1000).toFixed(2)} s)`,
    `  floor, one at a time                                  ${oneRate.toFixed(2).padStart(9)} items/s  (${(one / 1000).toFixed(2)} s)`,
    `  Relais, rounds of ${round} (POST /v1/mail/batch, ${rounds} clients)  ${roundRate.toFixed(2).padStart(9)} items/s  (median of ${repeats}, ${(roundsMid.ms / 1000).toFixed(2)} s)`,
    `  floor, batched (100 per write)                        ${batchedRate.toFixed(2).padStart(9)} items/s  (median of ${repeats}, ${(batchedMid.ms / 1000).toFixed(2)} s)`,
    `  rounds / batched floor, items/s, run by run: ${runs}`,
    `  one item per request / one-at-a-time floor ${(singleRate / oneRate).toFixed(2)} (target > 1); rounds / batched floor ${(roundRate / batchedRate).toFixed(2)} (target >= 0.5)`,
    ...describePhase('one item per request', relais.single, items),
    ...describePhase(`rounds of ${round}, median run`, roundsMid, items),
    ...relais.notes,
    ...(oneCpu ? [`  CPU, floor one at a time: ${oneCpu}`] : []),
    `  CPU, floor batched, median run: ${batchedMid.cpu}`,
    `ratio_one_at_a_time=${(singleRate / oneRate).toFixed(2)}`,
    `RESULT ingest ${roundRate.toFixed(2)} items/s ratio=${(roundRate / batchedRate).toFixed(2)}`,
  ];
}

function describePhase(name: string, p: Phase, items: number): string[] {
  const lat = p.latencies;
  return [
    `  Relais, ${name}: last HTTP response after ${(p.httpMs / 1000).toFixed(2)} s, ${p.recordedAtHttpEnd}/${items} recorded by then, ` +
      `the rest ${(Math.max(0, p.ms - p.httpMs) / 1000).toFixed(2)} s later; request latency ms p50 ${quantile(lat, 0.5).toFixed(0)}, ` +
      `p95 ${quantile(lat, 0.95).toFixed(0)}, p99 ${quantile(lat, 0.99).toFixed(0)}, max ${lat[lat.length - 1].toFixed(0)}`,
    `  CPU, Relais ${name} (% of one core): ${p.cpu}`,
  ];
}

/** A floor on its own stream and collections, warmed up. */
async function openWarmFloor(mode: FloorMode, ctx: BenchContext): Promise<Floor> {
  const f = await Promise.race([
    openFloor(mode, { mongoUrl: ctx.mongoUrl, natsUrl: ctx.natsUrl, namespace: `${ctx.prefix}_floor_${mode}` }),
    whenAborted(ctx.signal),
  ]);
  try {
    await Promise.race([f.run(WARMUP), whenAborted(ctx.signal)]);
    return f;
  } catch (err) {
    await f.close();
    throw err;
  }
}

/** Milliseconds for `items` through a warm floor, with the machine's CPU meanwhile. */
async function timeFloor(f: Floor, items: number, ctx: BenchContext): Promise<{ ms: number; cpu: string }> {
  const cpu = cpuSnapshot();
  const ms = await Promise.race([f.run(items), whenAborted(ctx.signal)]);
  return { ms, cpu: cpuReport(cpu, new Map()) };
}

/** Milliseconds for `items` through one floor, after a warm-up on the same stream and collections. */
async function floor(mode: FloorMode, items: number, ctx: BenchContext): Promise<{ ms: number; cpu: string }> {
  const f = await openWarmFloor(mode, ctx);
  try {
    return await timeFloor(f, items, ctx);
  } finally {
    await f.close();
  }
}

interface Phase {
  /** First request to all N recorded by notifications. */
  ms: number;
  /** First request to the last response. */
  httpMs: number;
  recordedAtHttpEnd: number;
  /** Sorted, ms, per request. */
  latencies: number[];
  cpu: string;
}

/**
 * Relais's two phases: one item per request, then rounds taking turns with the batched floor
 * (`floor`, already warm), `repeats` times. Relais's services sit idle while the floor runs.
 */
async function relaisFlow(
  items: number,
  opts: { concurrency: number; round: number; rounds: number; repeats: number; people: number },
  floor: Floor,
  ctx: BenchContext,
): Promise<{ single: Phase; rounds: Phase[]; batched: { ms: number; cpu: string }[]; notes: string[] }> {
  const namespace = `${ctx.prefix}_relais`;
  const port = await freePort();
  const env = stackEnv(ctx, namespace, port, {
    // Nothing is sent (the org's SMS are off); whatever the environment says, nothing could leave the machine.
    SMS_PROVIDER: 'log',
    EMAIL_PROVIDER: 'log',
  });
  const children = new Children(namespace, ctx.signal);
  // Every wait below also ends when a service dies or the run is aborted.
  const guard = <T>(work: Promise<T>) => Promise.race([work, children.crashed, whenAborted(ctx.signal)]);
  const mongo = new MongoClient(ctx.mongoUrl, { serverSelectionTimeoutMS: 5_000, socketTimeoutMS: 30_000 });
  let client: HttpClient | undefined;
  // Kept when something failed or was logged, for a look afterwards.
  let keepLogs = true;
  try {
    say(`starting the services in namespace ${namespace} (gateway on port ${port})`);
    for (const name of SERVICES) children.start(name, `services/${name}/src/main.ts`, env);
    children.start('gateway', 'gateway/src/main.ts', env);
    const base = new URL(`http://127.0.0.1:${port}`);
    await guard(waitReady(new HttpClient(base, null, 1), SERVICES, ctx.signal, READY_TIMEOUT_MS));

    const store = await guard(GatewayStore.open(loadGatewayConfig(env)));
    const { token } = await guard(
      createOrgWithAdmin(store, { name: `Bench ${namespace}`, admin: { name: 'Bench Admin', email: 'bench@relais.test' } }),
    ).finally(() => store.close());
    client = new HttpClient(base, token.token, Math.max(opts.concurrency, opts.rounds));

    // Untimed: the people whose mail is registered, and two more for the warm-up.
    const people = await guard(createPeople(client, PEOPLE + 2));
    const warmupPeople = people.slice(PEOPLE);
    const timedPeople = people.slice(0, PEOPLE);

    await mongo.connect();
    await guard(fillOrg(mongo, namespace, people[0], opts.people - people.length));
    const recorded = mongo.db(`${namespace}_notifications`).collection('pending_mail');
    const count = () => recorded.countDocuments({});
    // The consumer stamps the processed-id marks of each batch (`at`) right after applying it: the latest
    // stamp is when the last item was recorded, wherever the coarse polling below happened to fall.
    const marks = mongo.db(`${namespace}_notifications`).collection<{ _id: string; at: Date }>('processed_events');
    const lastRecordedAt = async () => {
      const mark = await marks
        .find({ _id: { $regex: '^notifications__mail_registered:' } })
        .sort({ at: -1 })
        .limit(1)
        .next();
      if (!mark) throw new Error('notifications recorded mail but left no processed-id mark');
      return mark.at.getTime();
    };
    const intents = mongo.db(`${namespace}_mail`).collection('mail_items_outbox');
    // The mail service publishes in the background once the items are stored; a phase starts when the
    // previous one's publishing is over (no outbox intent left), so it pays for its own work only.
    const outboxSettled = async () => {
      while ((await guard(intents.countDocuments({}))) > 0) await guard(sleep(POLL_MS, ctx.signal));
    };

    say(`warm-up: ${WARMUP} registrations, one per request, then ${WARMUP} in rounds`);
    await guard(register(client, warmupPeople, WARMUP, opts.concurrency));
    await guard(registerRounds(client, warmupPeople, WARMUP, Math.min(opts.round, WARMUP / 2), opts.rounds));
    await guard(until(count, 2 * WARMUP, ctx.signal));

    /** One timed phase: `send` registers `items` items; done when notifications recorded all of them. */
    const phase = async (name: string, already: number, send: () => Promise<number[]>): Promise<Phase> => {
      await outboxSettled();
      say(`timed: ${items} registrations, ${name}`);
      const target = already + items;
      children.mark();
      const cpuAtStart = cpuSnapshot();
      const t0 = performance.now();
      const wall0 = Date.now();
      const latencies = await guard(send());
      const httpEnd = performance.now();
      // Counting is a full scan on FerretDB (no count pushdown, ~50 µs a row): polled every 100 ms from the
      // first request, it would take a large share of the database from the flow it measures. All N cannot
      // be recorded before the last item is stored, so polling starts at the last response; while the end
      // is still far (estimated from the rate seen so far) it polls less often, down to every 100 ms near it.
      // The polls only tell when all N are in; the phase ends at the last recorded batch's stamp.
      const poll = async () => ({ n: await guard(count()), at: performance.now() });
      let last = await poll();
      const recordedAtHttpEnd = Math.min(last.n, target) - already;
      while (last.n < target) {
        const perMs = (last.n - already) / (last.at - t0);
        const eta = perMs > 0 ? (target - last.n) / perMs : Infinity;
        await guard(sleep(Math.min(MAX_POLL_MS, Math.max(POLL_MS, eta / 2)), ctx.signal));
        last = await poll();
      }
      return {
        ms: (await guard(lastRecordedAt())) - wall0,
        httpMs: httpEnd - t0,
        recordedAtHttpEnd,
        latencies: latencies.sort((a, b) => a - b),
        cpu: cpuReport(cpuAtStart, children.pids()),
      };
    };
    const single = await phase(`one per request, ${opts.concurrency} clients`, 2 * WARMUP, () => register(client!, timedPeople, items, opts.concurrency));
    const rounds: Phase[] = [];
    const batched: { ms: number; cpu: string }[] = [];
    for (let r = 0; r < opts.repeats; r++) {
      batched.push(await guard(timeFloor(floor, items, ctx)));
      say(`floor, batched, run ${r + 1}/${opts.repeats}: ${rate(items, batched[r].ms)} items/s`);
      rounds.push(
        await phase(`rounds of ${opts.round}, ${opts.rounds} clients, run ${r + 1}/${opts.repeats}`, 2 * WARMUP + items * (1 + r), () =>
          registerRounds(client!, timedPeople, items, opts.round, opts.rounds),
        ),
      );
    }

    const notes: string[] = [];
    const sums = await guard(
      Promise.all(
        timedPeople.map(async (id) => {
          const r = await client!.request('GET', `/v1/people/${id}/pending-mail`);
          if (r.status !== 200) throw new Error(`GET pending-mail answered ${r.status}: ${JSON.stringify(r.body)}`);
          return Object.values((r.body as { counts: Record<string, number> }).counts).reduce((a, b) => a + b, 0);
        }),
      ),
    );
    const total = sums.reduce((a, b) => a + b, 0);
    const expected = (1 + opts.repeats) * items;
    if (total !== expected) notes.push(`WARNING: the people's pending-mail counts sum to ${total}, not ${expected}`);
    else notes.push(`  verified: the ${PEOPLE} people's pending-mail counts sum to ${expected} (every phase)`);
    for (const { name, lines, log } of children.logLines()) {
      if (lines > 0) notes.push(`  note: ${name} logged ${lines} line(s) at warn or above, see ${log}`);
    }
    keepLogs = notes.some((n) => /note:|WARNING/.test(n));
    return { single, rounds, batched, notes };
  } finally {
    client?.close();
    await mongo.close(true).catch(() => {});
    await children.stopAll();
    if (!keepLogs) children.discardLogs();
  }
}

/**
 * Untimed: `n` more domiciled people in the org, copies of the file and domiciliation of `model` written
 * straight to the services' collections (creating 10,000 through the API would take minutes).
 */
async function fillOrg(mongo: MongoClient, namespace: string, model: string, n: number): Promise<void> {
  if (n <= 0) return;
  const parties = mongo.db(`${namespace}_contacts`).collection('parties');
  const domiciliations = mongo.db(`${namespace}_domiciliation`).collection('domiciliations');
  const party = await parties.findOne({ _id: model as never });
  const domiciliation = await domiciliations.findOne({ personId: model });
  if (!party || !domiciliation) throw new Error('the model person of the org is not stored');
  for (let done = 0; done < n; done += 1000) {
    const ids = Array.from({ length: Math.min(1000, n - done) }, () => randomUUID());
    await parties.insertMany(
      ids.map((id, i) => ({
        ...party,
        _id: id as never,
        lastName: `Org${done + i}`,
        customIdKey: id,
        searchKeys: [`org${done + i}`],
        sortKey: `org${done + i} ${id}`,
      })),
    );
    await domiciliations.insertMany(ids.map((id) => ({ ...domiciliation, _id: randomUUID() as never, personId: id, eventIds: [] })));
  }
  say(`the org holds ${n} more domiciled people`);
}

async function createPeople(http: HttpClient, n: number): Promise<string[]> {
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const expect = (r: { status: number; body: unknown }, status: number, what: string) => {
    if (r.status !== status) throw new Error(`${what} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body as { id: string };
  };
  const one = async (i: number) => {
    const person = expect(await http.request('POST', '/v1/people', { lastName: `Bench${i}`, firstName: 'Person' }), 201, 'POST /v1/people');
    const path = `/v1/people/${person.id}/domiciliation`;
    expect(await http.request('POST', path, {}), 201, 'POST domiciliation');
    expect(await http.request('POST', `${path}/activate`, { startDate: day(-1), endDate: day(364) }), 200, 'POST domiciliation/activate');
    return person.id;
  };
  const ids: string[] = [];
  for (let i = 0; i < n; i += 4) ids.push(...(await Promise.all([i, i + 1, i + 2, i + 3].filter((j) => j < n).map(one))));
  return ids;
}

/** `n` registrations spread over `people`, from `concurrency` clients; the latency of each, ms. */
async function register(http: HttpClient, people: string[], n: number, concurrency: number): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  let failed: Error | null = null;
  const worker = async () => {
    while (!failed) {
      const i = next++;
      if (i >= n) return;
      const t = performance.now();
      const r = await http.request('POST', `/v1/people/${people[i % people.length]}/mail`, {
        kind: KINDS[i % KINDS.length],
        quantity: 1,
        sender: 'CAF',
      });
      // No Idempotency-Key (with one, mail first looks the key up: a read per request the floors do not
      // make), hence no safe retry: a failed request makes the run invalid.
      if (r.status !== 201) throw (failed = new Error(`POST mail answered ${r.status}: ${JSON.stringify(r.body)}`));
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return latencies;
}

/** `n` registrations spread over `people`, in rounds of `size` items per request from `clients` clients; the latency of each request, ms. */
async function registerRounds(http: HttpClient, people: string[], n: number, size: number, clients: number): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  let failed: Error | null = null;
  const worker = async () => {
    while (!failed && next < n) {
      const first = next;
      next = Math.min(n, next + size);
      const items = Array.from({ length: next - first }, (_, j) => ({
        personId: people[(first + j) % people.length],
        kind: KINDS[(first + j) % KINDS.length],
        quantity: 1,
        sender: 'CAF',
      }));
      const t = performance.now();
      const r = await http.request('POST', '/v1/mail/batch', { items });
      if (r.status !== 200 || (r.body as { registered?: number } | null)?.registered !== items.length) {
        throw (failed = new Error(`POST /v1/mail/batch answered ${r.status}: ${JSON.stringify(r.body).slice(0, 500)}`));
      }
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  return latencies;
}

async function until(count: () => Promise<number>, target: number, signal: AbortSignal): Promise<void> {
  while ((await count()) < target) await sleep(POLL_MS, signal);
}
