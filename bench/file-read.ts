// `npm run bench -- file-read [parties=2000] [rate=10] [duration=20] [repeats=3] [mix=1,1,1,1] [clients=16] [seed=7]`: reading
// parties' files through the gateway at a fixed request rate, against a floor of bare express + mongoose reading
// the same documents from the same database, in the same run.
//
// Setup (untimed): the contacts service and the gateway as processes of their own, one org, three
// collaborators, and `parties` people created through the API as a client would, `clients` at a time: POST
// /v1/people, four channels each (POST /v1/parties/{id}/channels: a mobile, a landline, an e-mail, a postal
// address), the mobile validated and made the default, the e-mail validated on every other file, the postal
// address validated and made the default on every third; three files in ten assigned to one of the
// collaborators (PUT /v1/parties/{id}/assignment), so that the list views have content.
//
// Measured: an open-loop load of `rate` requests a second for `duration` seconds (each request sent when it
// is due whatever the earlier answers; its latency counts from then, queueing included). The default rate, 10,
// is the highest round one the floor keeps up with here in every round (2 cores, FerretDB 1.24): FerretDB sorts
// and limits in Go, so a list view reads every matching document, ~100 ms for an assignee's 200 files; at 50/s
// the database alone is saturated and every side is OVERLOADED, and at 20/s one round in three of any side may
// be, which compares nothing. Over the reads of
// opening a file: GET /v1/parties/{id} (the file with its defaults), GET /v1/parties/{id}/channels, and the
// default list views GET /v1/parties?assignedTo=<user>&limit=20 and GET /v1/people?name=<prefix>&limit=20,
// random parties, users and three-letter name prefixes (seeded: every contender gets the same requests).
// `mix` weighs the four routes in that order (0 leaves one out); by default they take turns. Three contenders,
// each first sent its requests one at a time (what each route costs alone), then taking turns `repeats` times,
// each turn a warm-up and the measured run at the same rate; each side's median turn (by p99) is compared, as a
// passing load of the shared machine then weighs on one turn rather than on one side:
// - the floor (bench/lib/file-read-floor.ts): express + mongoose in this process on the contacts database, the
//   same queries, the documents as JSON, no auth, no NATS;
// - Relais: the gateway (auth, validation, helmet, problem handling) -> NATS -> contacts;
// - for where the time goes: the same four actions called over NATS from a broker in this process, with the
//   caller in ctx.meta as the gateway puts it (contacts and NATS without the gateway).
// A contender that does not keep up (more than 2 s of requests awaiting an answer) is reported OVERLOADED
// and sent no more; the database is left to work off its queue before the next one. Answers are checked: 200, and the
// same list sizes and file defaults on every side.
import { readFileSync, readdirSync } from 'node:fs';
import { GatewayStore, createOrgWithAdmin, createUserWithToken, loadGatewayConfig } from '@relais/gateway';
import { baseConfigSchema, createBroker, loadConfig, type RelaisMeta } from '@relais/shared';
import { freePort } from '@relais/testing';
import { Children, stackEnv } from './lib/children';
import { parseArgs, sleep, whenAborted, type BenchContext } from './lib/context';
import { cpuReport, cpuSnapshot } from './lib/cpu';
import { startFileReadFloor } from './lib/file-read-floor';
import { HttpClient, type Reply, waitReady } from './lib/http';
import { openLoop, processesBusy, seededRandom, statsByRoute, weightedCycle, type LoadRun, type Sample, type Shot, type Stats } from './lib/open-loop';

export const description = "a party's file read through the gateway at a fixed rate (p50/p99), vs bare express + mongoose on the same documents";

const SERVICES = ['contacts'] as const;
const READY_TIMEOUT_MS = 120_000;
const USERS = 3;
/** Seconds of load before each contender's measured run. */
const WARMUP_S = 3;
const SOCKETS = 64;
/** Requests one at a time per route before the load, for what each costs alone. */
const UNLOADED = 5;
/** A contender with more than this many seconds of requests awaiting an answer does not keep up. */
const MAX_QUEUE_S = 2;
/** After an overloaded run: wait until this run's processes use less than this many cores (or SETTLE_MAX_MS). */
const SETTLED_CORES = 0.2;
const SETTLE_MAX_MS = 90_000;

const ROUTES = ['GET /v1/parties/{id}', 'GET /v1/parties/{id}/channels', 'GET /v1/parties?assignedTo', 'GET /v1/people?name'] as const;
type RouteName = (typeof ROUTES)[number];

const SURNAMES = [
  'Martin',
  'Bernard',
  'Dubois',
  'Thomas',
  'Robert',
  'Richard',
  'Petit',
  'Durand',
  'Leroy',
  'Moreau',
  'Simon',
  'Laurent',
  'Lefebvre',
  'Michel',
  'Garcia',
  'David',
  'Bertrand',
  'Roux',
  'Vincent',
  'Fournier',
  'Morel',
  'Girard',
  'Andre',
  'Mercier',
  'Dupont',
  'Lambert',
  'Bonnet',
  'Francois',
  'Legrand',
  'Garnier',
  'Faure',
  'Rousseau',
  'Blanc',
  'Guerin',
  'Muller',
  'Henry',
  'Roussel',
  'Nicolas',
  'Perrin',
  'Hoarau',
];
const FIRST_NAMES = ['Lucas', 'Ines', 'Marie', 'Jean', 'Lea', 'Hugo', 'Chloe', 'Louis', 'Emma', 'Nathan', 'Jade', 'Paul'];
// What a caseworker types in the search box: the first three letters of a surname.
const PREFIXES = [...new Set(SURNAMES.map((s) => s.slice(0, 3).toLowerCase()))];

const say = (msg: string) => process.stderr.write(`file-read: ${msg}\n`);

interface Request {
  route: RouteName;
  path: string;
  action: string;
  params: Record<string, unknown>;
}

interface Round {
  run: LoadRun;
  cpu: string;
  /** How long the machine took to quieten after the run, ms. */
  settled: number;
  /** Of the answered requests, per route and "all". */
  stats: Map<string, Stats>;
}

interface Contender {
  name: string;
  send: (r: Request) => () => Promise<{ status: number; size: number }>;
  rounds: Round[];
  /** Route -> median ms of requests sent one at a time. */
  alone: Map<string, number>;
}

export async function run(args: string[], ctx: BenchContext): Promise<string[]> {
  const mixArg = args.find((a) => a.startsWith('mix='));
  const mix = (mixArg ?? 'mix=1,1,1,1').slice('mix='.length).split(',').map(Number);
  if (mix.length !== ROUTES.length || mix.some((w) => !Number.isInteger(w) || w < 0) || mix.every((w) => w === 0)) {
    throw new Error(`mix must be ${ROUTES.length} weights (integers, 0 leaves a route out), in this order: ${ROUTES.join(', ')} (got "${mixArg}")`);
  }
  const opts = parseArgs(
    args.filter((a) => a !== mixArg),
    { parties: 2000, rate: 10, duration: 20, repeats: 3, clients: 16, seed: 7 },
  );
  const namespace = `${ctx.prefix}_relais`;
  const port = await freePort();
  const env = stackEnv(ctx, namespace, port);
  const children = new Children(namespace, ctx.signal);
  const guard = <T>(work: Promise<T>) => Promise.race([work, children.crashed, whenAborted(ctx.signal)]);
  const base = new URL(`http://127.0.0.1:${port}`);
  let api: HttpClient | undefined;
  let reader: HttpClient | undefined;
  let floorClient: HttpClient | undefined;
  let floor: Awaited<ReturnType<typeof startFileReadFloor>> | undefined;
  let broker: ReturnType<typeof createBroker> | undefined;
  let keepLogs = true;
  try {
    say(`starting contacts and the gateway in namespace ${namespace} (gateway on port ${port})`);
    for (const name of SERVICES) children.start(name, `services/${name}/src/main.ts`, env);
    children.start('gateway', 'gateway/src/main.ts', env);
    await guard(waitReady(new HttpClient(base, null, 1), SERVICES, ctx.signal, READY_TIMEOUT_MS));

    const store = await guard(GatewayStore.open(loadGatewayConfig(env)));
    const { org, admin, token, users } = await guard(
      (async () => {
        const created = await createOrgWithAdmin(store, { name: `Bench ${namespace}`, admin: { name: 'Bench Admin', email: 'bench@relais.test' } });
        const users: string[] = [];
        for (let u = 0; u < USERS; u++) {
          users.push((await createUserWithToken(store, created.org.id, { name: `Caseworker ${u}`, email: `cw${u}@relais.test`, role: 'caseworker' })).user.id);
        }
        return { ...created, users };
      })(),
    ).finally(() => store.close());

    // --- Setup through the API --------------------------------------------------------------
    api = new HttpClient(base, token.token, opts.clients);
    const t0 = performance.now();
    const seeded = await guard(seed(api, opts.parties, opts.clients, users, ctx.signal));
    const seedS = (performance.now() - t0) / 1000;
    say(
      `seeded ${seeded.ids.length} parties through the API in ${seedS.toFixed(1)} s (${seeded.requests} requests, ${(seeded.requests / seedS).toFixed(0)}/s)`,
    );
    api.close();
    api = undefined;

    // --- The requests, the same for every contender -----------------------------------------
    const rnd = seededRandom(opts.seed);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];
    const request = (route: RouteName): Request => {
      if (route === 'GET /v1/parties/{id}') {
        const id = pick(seeded.ids);
        return { route, path: `/v1/parties/${id}`, action: 'contacts.getFile', params: { partyId: id } };
      }
      if (route === 'GET /v1/parties/{id}/channels') {
        const id = pick(seeded.ids);
        return { route, path: `/v1/parties/${id}/channels`, action: 'contacts.listChannels', params: { partyId: id } };
      }
      if (route === 'GET /v1/parties?assignedTo') {
        const user = pick(users);
        return { route, path: `/v1/parties?assignedTo=${user}&limit=20`, action: 'contacts.searchParties', params: { assignedTo: user, limit: '20' } };
      }
      const prefix = pick(PREFIXES);
      return { route, path: `/v1/people?name=${prefix}&limit=20`, action: 'contacts.searchPeople', params: { name: prefix, limit: '20' } };
    };
    const plan = (n: number): Request[] => weightedCycle(mix, n).map((k) => request(ROUTES[k]));
    const routes = ROUTES.filter((_, k) => mix[k] > 0);
    const count = opts.rate * opts.duration;
    const unloaded = routes.flatMap((r) => Array.from({ length: UNLOADED }, () => request(r)));
    const warmup = plan(opts.rate * WARMUP_S);
    const measured = plan(count);
    // More than this awaiting an answer: the contender does not keep up with the rate (see openLoop).
    const maxInFlight = Math.max(SOCKETS, opts.rate * MAX_QUEUE_S);

    // --- Contenders ------------------------------------------------------------------------
    floor = await guard(startFileReadFloor({ mongoUrl: ctx.mongoUrl, dbName: `${namespace}_contacts`, orgId: org.id }));
    floorClient = new HttpClient(new URL(`http://127.0.0.1:${floor.port}`), null, SOCKETS);
    reader = new HttpClient(base, token.token, SOCKETS);
    const config = loadConfig(baseConfigSchema, { ...env, LOG_LEVEL: 'warn' });
    broker = createBroker({ config, name: 'bench-file-read' });
    await guard(broker.start());
    await guard(broker.waitForServices(['contacts'], 30_000));
    const meta: RelaisMeta = { auth: { orgId: org.id, userId: admin.id, role: 'admin' }, org: { region: org.region, timeZone: org.timeZone } };
    const b = broker;
    const overHttp = (client: HttpClient) => (r: Request) => async () => sizeOf(r.route, await client.request('GET', r.path));
    const contenders: Contender[] = [
      { name: 'floor', send: overHttp(floorClient), rounds: [], alone: new Map() },
      { name: 'Relais', send: overHttp(reader), rounds: [], alone: new Map() },
      {
        name: 'over NATS',
        send: (r) => async () => sizeOf(r.route, { status: 200, body: await b.call(r.action, r.params, { meta }) }),
        rounds: [],
        alone: new Map(),
      },
    ];
    const [floorSide, relaisSide, natsSide] = contenders as [Contender, Contender, Contender];

    /**
     * After an overloaded run, until the database and the services have worked off what they were sent: their
     * CPU (this run's FerretDB and processes) under SETTLED_CORES over a second, at most SETTLE_MAX_MS.
     */
    const settle = async (run: LoadRun): Promise<number> => {
      const t = performance.now();
      await guard(sleep(1_000, ctx.signal));
      if (run.overloadedAt === null) return 0;
      const ours = [...children.pids().keys(), ...ourDatabase(ctx.mongoUrl).keys()];
      while (performance.now() - t < SETTLE_MAX_MS) {
        const busy = await guard(processesBusy(ours, 1_000));
        if (busy === null || busy < SETTLED_CORES) break;
      }
      return performance.now() - t;
    };
    const shots =
      (c: Contender, reqs: Request[]) =>
      (i: number): Shot => ({ route: reqs[i].route, send: c.send(reqs[i]) });

    // One request at a time first: what each route costs with nothing else running.
    for (const c of contenders) {
      for (const r of routes) {
        const ms: number[] = [];
        for (const req of unloaded.filter((u) => u.route === r)) {
          const t = performance.now();
          const answer = await guard(c.send(req)());
          if (answer.status !== 200) throw new Error(`${c.name}: ${req.path} answered ${answer.status}`);
          ms.push(performance.now() - t);
        }
        c.alone.set(r, ms.sort((x, y) => x - y)[Math.floor(ms.length / 2)]);
      }
    }
    children.mark();
    // The contenders take turns, `repeats` times: a passing load of the shared machine hits one round, not one side.
    for (let round = 1; round <= opts.repeats; round++) {
      for (const c of contenders) {
        const warm = await guard(openLoop(warmup.length, opts.rate, shots(c, warmup), { signal: ctx.signal, maxInFlight }));
        await settle(warm);
        say(`${c.name}, round ${round}/${opts.repeats}: ${count} requests at ${opts.rate}/s (${opts.duration} s, after ${WARMUP_S} s of warm-up)`);
        const cpu = cpuSnapshot();
        const run = await guard(openLoop(count, opts.rate, shots(c, measured), { signal: ctx.signal, maxInFlight }));
        const report = cpuReport(cpu, new Map([...children.pids(), ...ourDatabase(ctx.mongoUrl)]));
        if (run.overloadedAt !== null) say(`${c.name}: OVERLOADED after ${run.overloadedAt} requests (${maxInFlight} awaiting an answer)`);
        const settled = await settle(run);
        const answered = run.samples.filter((s) => s.status !== -1);
        c.rounds.push({ run, cpu: report, settled, stats: statsByRoute(answered, routes) });
      }
    }

    // --- Report ------------------------------------------------------------------------------
    const notes: string[] = [];
    for (const c of contenders) {
      for (const [i, { run, settled }] of c.rounds.entries()) {
        if (run.overloadedAt !== null) {
          notes.push(
            `  OVERLOADED: ${c.name}, round ${i + 1}: did not keep up with ${opts.rate} req/s: ${maxInFlight} requests were awaiting an answer after ` +
              `${run.overloadedAt} of ${count} (${(run.overloadedAt / opts.rate).toFixed(1)} s); the rest were not sent, and its latencies measure a growing queue` +
              (settled > 5_000 ? ` (the database stayed busy ${(settled / 1000).toFixed(0)} s more)` : ''),
          );
        }
        const bad = run.samples.filter((s) => s.status !== 200);
        if (bad.length > 0) {
          notes.push(
            `  WARNING: ${c.name}, round ${i + 1}: ${bad.length} answers were not 200 (${[...new Set(bad.map((s) => `${s.route} ${s.status}`))].slice(0, 5).join(', ')})`,
          );
        }
        for (const f of run.failures.slice(0, 2)) notes.push(`  WARNING: ${c.name}: ${f}`);
      }
    }
    const ok = (s: Sample | undefined) => s?.status === 200;
    const mismatch = (x: Contender) =>
      x.rounds.reduce(
        (n, r, i) =>
          n + r.run.samples.filter((s, k) => ok(s) && ok(floorSide.rounds[i].run.samples[k]) && s.size !== floorSide.rounds[i].run.samples[k].size).length,
        0,
      );
    const [m1, m2] = [mismatch(relaisSide), mismatch(natsSide)];
    const allOk = contenders.every((c) => c.rounds.every((r) => r.run.overloadedAt === null && r.run.samples.every(ok)));
    if (m1 + m2 > 0) notes.push(`  WARNING: answers of other sizes than the floor's: Relais ${m1}, over NATS ${m2}`);
    else if (allOk) notes.push(`  verified: every answer 200, the same list sizes and file defaults on every side (${count * opts.repeats} requests each)`);
    for (const { name, lines, log } of children.logLines()) {
      if (lines > 0) notes.push(`  note: ${name} logged ${lines} line(s) at warn or above, see ${log}`);
    }
    keepLogs = notes.some((n) => /note:|WARNING|OVERLOADED/.test(n));

    // Each side's median round by its overall p99 (an odd count of rounds: the middle one; else the worse of the two).
    const median = (c: Contender) => [...c.rounds].sort((x, y) => x.stats.get('all')!.p99 - y.stats.get('all')!.p99)[Math.floor(c.rounds.length / 2)];
    const [rm, fm, nm] = [median(relaisSide), median(floorSide), median(natsSide)];
    const num = (x: number, w: number) => (Number.isFinite(x) ? x.toFixed(1) : '-').padStart(w);
    const cell = (s: Stats) => `${num(s.p50, 7)} ${num(s.p99, 7)}`;
    const aloneOf = (c: Contender, r: string) => num(c.alone.get(r) ?? NaN, 6);
    const table = [
      `  ${'ms under load: p50 p99'.padEnd(32)} ${'Relais'.padStart(15)} ${'floor'.padStart(15)} ${'over NATS'.padStart(15)}  p99 Relais/floor | alone: Relais floor NATS`,
      ...[...routes, 'all'].map(
        (r) =>
          `  ${r.padEnd(32)} ${cell(rm.stats.get(r)!)} ${cell(fm.stats.get(r)!)} ${cell(nm.stats.get(r)!)}  ${num(rm.stats.get(r)!.p99 / fm.stats.get(r)!.p99, 16)} |` +
          (r === 'all' ? '' : ` ${aloneOf(relaisSide, r)} ${aloneOf(floorSide, r)} ${aloneOf(natsSide, r)}`),
      ),
    ];
    const all = { relais: rm.stats.get('all')!, floor: fm.stats.get('all')!, nats: nm.stats.get('all')! };
    const ratio = all.relais.p99 / all.floor.p99;
    const byRound = (c: Contender) => c.rounds.map((r) => r.stats.get('all')!.p99.toFixed(0)).join('/');
    const lag = (c: Contender) => Math.max(...c.rounds.map((r) => r.run.maxSendLag)).toFixed(0);
    const queued = (c: Contender) => Math.max(...c.rounds.map((r) => r.run.maxInFlight));
    // Whether the slowest answers are spread over the run (the contender's own cost) or bunched (a stall).
    const slowest = (r: Round) => {
      const answered = r.run.samples.filter(ok);
      const tail = [...answered].sort((x, y) => y.ms - x.ms).slice(0, Math.max(1, Math.ceil(answered.length / 100)));
      const at = tail.map((s) => s.at / 1000).sort((x, y) => x - y);
      return `${tail.length} slowest due between ${at[0].toFixed(1)} and ${at[at.length - 1].toFixed(1)} s`;
    };
    const share = mix.map((w, k) => (w > 0 ? `${ROUTES[k]} ${Math.round((100 * w) / mix.reduce((a, c) => a + c, 0))}%` : '')).filter(Boolean);
    return [
      `file-read: ${opts.parties} parties (4 channels each, ${seeded.assigned} assigned to ${users.length} collaborators), ` +
        `open loop at ${opts.rate} req/s for ${opts.duration} s (${count} requests), each side ${opts.repeats} times in turn after ${WARMUP_S} s of warm-up`,
      `  mix: ${share.join(', ')}; figures of each side's median round by p99; "alone": median of ${UNLOADED} requests one at a time`,
      `  setup: ${seeded.requests} API requests in ${seedS.toFixed(1)} s`,
      ...table,
      `  p99 ms round by round: Relais ${byRound(relaisSide)}, floor ${byRound(floorSide)}, over NATS ${byRound(natsSide)}`,
      `  max (median round): Relais ${all.relais.max.toFixed(0)} ms, floor ${all.floor.max.toFixed(0)} ms, over NATS ${all.nats.max.toFixed(0)} ms; ` +
        `sender at most ${lag(relaisSide)}/${lag(floorSide)}/${lag(natsSide)} ms late; at most ${queued(relaisSide)}/${queued(floorSide)}/${queued(natsSide)} awaiting an answer`,
      `  tails (median round): Relais ${slowest(rm)}; floor ${slowest(fm)}; over NATS ${slowest(nm)} (of ${opts.duration} s)`,
      `  p99 Relais / floor ${ratio.toFixed(2)} (target <= 2); p50: Relais ${all.relais.p50.toFixed(1)} ms, of which the gateway (Relais - over NATS) ${(all.relais.p50 - all.nats.p50).toFixed(1)} ms`,
      `  CPU, Relais, median round (% of one core): ${rm.cpu}`,
      `  CPU, floor: ${fm.cpu}`,
      `  CPU, over NATS: ${nm.cpu}`,
      ...notes,
      `RESULT file-read ${all.relais.p99.toFixed(1)} ms ratio=${ratio.toFixed(2)}`,
    ];
  } finally {
    api?.close();
    reader?.close();
    floorClient?.close();
    await floor?.close();
    await broker?.stop().catch(() => {});
    await children.stopAll();
    if (!keepLogs) children.discardLogs();
  }
}

/**
 * What to compare across contenders: the items of a list; for a file, its default channels (Relais's
 * `defaults`, in the floor's stored document the channels in state default).
 */
function sizeOf(route: RouteName, reply: Reply): { status: number; size: number } {
  if (reply.status !== 200) return { status: reply.status, size: -1 };
  const body = reply.body as { items?: unknown[]; channels?: { qualification?: { state?: string } }[]; defaults?: Record<string, unknown> };
  if (route === 'GET /v1/parties/{id}') {
    const size = body.defaults
      ? Object.values(body.defaults).filter((c) => c !== null).length
      : (body.channels ?? []).filter((c) => c.qualification?.state === 'default').length;
    return { status: 200, size };
  }
  return { status: 200, size: body.items?.length ?? -1 };
}

/**
 * The FerretDB serving this run (a local process listening on the port of MONGO_URL), named apart in the CPU
 * report from other FerretDB processes of the machine, which other runs may be using meanwhile.
 */
function ourDatabase(mongoUrl: string): Map<number, string> {
  const out = new Map<number, string>();
  const port = /^mongodb:\/\/(?:[^@/]*@)?[^:/,]+:(\d+)/.exec(mongoUrl)?.[1] ?? '27017';
  try {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        if (/ferretdb/.test(cmd[0] ?? '') && cmd.some((a) => a.endsWith(`:${port}`))) out.set(Number(pid), 'ferretdb (this run)');
      } catch {
        // exited meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return out;
}

/** `n` people with their channels, `clients` files at a time; each file's requests one after the other. */
async function seed(http: HttpClient, n: number, clients: number, users: string[], signal: AbortSignal) {
  let requests = 0;
  let assigned = 0;
  const call = async (method: string, path: string, json: unknown, status: number) => {
    requests++;
    const r = await http.request(method, path, json);
    if (r.status !== status) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 400)}`);
    return r.body as { id: string };
  };
  const one = async (i: number) => {
    const person = await call('POST', '/v1/people', { lastName: SURNAMES[i % SURNAMES.length], firstName: FIRST_NAMES[(i * 7) % FIRST_NAMES.length] }, 201);
    const channels = `/v1/parties/${person.id}/channels`;
    const digits = (width: number) => String(i).padStart(width, '0');
    const mobile = await call('POST', channels, { kind: 'phone', type: 'mobile', number: `06${digits(8)}` }, 201);
    await call('POST', channels, { kind: 'phone', type: 'private', number: `014${digits(7)}` }, 201);
    const email = await call('POST', channels, { kind: 'email', type: 'private', email: `person${i}@example.org` }, 201);
    const postal = await call(
      'POST',
      channels,
      { kind: 'postal', address: { street: `${(i % 200) + 1} rue de la République`, postalCode: '97400', city: 'Saint-Denis' } },
      201,
    );
    const qualify = (id: string, body: unknown) => call('POST', `${channels}/${id}/qualification`, body, 200);
    await qualify(mobile.id, { action: 'validate', evidence: { kind: 'outboundCall' } });
    await qualify(mobile.id, { action: 'setDefault' });
    if (i % 2 === 0) await qualify(email.id, { action: 'validate', evidence: { kind: 'emailDelivered' } });
    if (i % 3 === 0) {
      await qualify(postal.id, { action: 'validate', evidence: { kind: 'acknowledgmentOfReceipt' } });
      await qualify(postal.id, { action: 'setDefault' });
    }
    if (i % 10 < 3) {
      await call('PUT', `/v1/parties/${person.id}/assignment`, { userId: users[i % users.length] }, 200);
      assigned++;
    }
    return person.id;
  };
  const ids: string[] = new Array(n);
  let next = 0;
  let done = 0;
  let lastSaid = performance.now();
  const worker = async () => {
    while (next < n) {
      if (signal.aborted) return;
      const i = next++;
      ids[i] = await one(i);
      done++;
      if (performance.now() - lastSaid > 15_000) {
        lastSaid = performance.now();
        say(`  ${done}/${n} parties`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(clients, n) }, worker));
  return { ids, requests, assigned };
}
