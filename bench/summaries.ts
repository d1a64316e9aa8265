// `npm run bench -- summaries [requests=1000] [rate=2] [duration=20] [seed=7]`: the exchanges summaries of
// `requests` intervention requests in one call through the gateway (POST /v1/exchange-summaries), at a fixed
// request rate, against a floor of one bare indexed find of the same read model in this process, in the same run.
//
// Setup (untimed): the contacts and exchanges services and the gateway as processes of their own, one org, one
// client with its contacts, `requests` requests registered through the API; then 0 to 50 exchanges per request
// (seeded), written as the exchanges service stores them: the exchanges into its collection and each request's
// summary recounted by its own read model code (Summaries.recount), which is what every recorded exchange does.
//
// Measured, each contender in turn after a warm-up at the same rate, `duration` seconds each (open loop: a
// request's latency counts from when it was due):
// - the floor: one find of the `requests` summary documents by _id ($in, the org in the filter) on the
//   exchanges database, through the mongodb driver of this process, the documents as JSON;
// - Relais: the gateway (auth, validation, helmet) -> NATS -> exchanges -> the same find -> the summaries as
//   the API answers them.
// The answers are checked: 200, `requests` summaries, the same counts as seeded. The default rate, 2, is one
// both sides keep up with in every run here (2 cores, FerretDB 1.24 answers the find of 1,000 summaries in
// ~350 ms, reading them in Go); at 4/s the floor's own queue grows and its p99 varies by a factor of 3.
import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';
import { GatewayStore, createOrgWithAdmin, loadGatewayConfig } from '@relais/gateway';
import { databaseName } from '@relais/shared';
import { freePort } from '@relais/testing';
import { Summaries } from '../services/exchanges/src/data/summaries';
import type { ExchangeDoc } from '../services/exchanges/src/domain/exchanges';
import { Children, stackEnv } from './lib/children';
import { parseArgs, whenAborted, type BenchContext } from './lib/context';
import { HttpClient, waitReady } from './lib/http';
import { openLoop, seededRandom, stats, type Shot, type Stats } from './lib/open-loop';

export const description = 'the exchanges summaries of 1,000 requests in one call through the gateway (p99), vs one bare indexed find of the read model';

const SERVICES = ['contacts', 'exchanges'] as const;
const WARMUP_S = 3;
const say = (msg: string) => process.stderr.write(`summaries: ${msg}\n`);
const line = (name: string, s: Stats) =>
  `${name.padEnd(8)} n=${s.n} p50=${s.p50.toFixed(1)} ms p99=${s.p99.toFixed(1)} ms max=${s.max.toFixed(1)} ms errors=${s.errors}`;

export async function run(args: string[], ctx: BenchContext): Promise<string[]> {
  const opts = parseArgs(args, { requests: 1000, rate: 2, duration: 20, seed: 7 });
  const namespace = `${ctx.prefix}_relais`;
  const port = await freePort();
  const env = stackEnv(ctx, namespace, port);
  const children = new Children(namespace, ctx.signal);
  const guard = <T>(work: Promise<T>) => Promise.race([work, children.crashed, whenAborted(ctx.signal)]);
  const base = new URL(`http://127.0.0.1:${port}`);
  let api: HttpClient | undefined;
  let db: mongoose.Connection | undefined;
  try {
    for (const name of SERVICES) children.start(name, `services/${name}/src/main.ts`, env);
    children.start('gateway', 'gateway/src/main.ts', env);
    await guard(waitReady(new HttpClient(base, null, 1), SERVICES, ctx.signal));
    const store = await guard(GatewayStore.open(loadGatewayConfig(env)));
    const created = await guard(createOrgWithAdmin(store, { name: `Bench ${namespace}`, admin: { name: 'Bench Admin', email: 'bench@relais.test' } })).finally(
      () => store.close(),
    );
    const orgId = created.org.id;
    api = new HttpClient(base, created.token.token, 16);
    const must = async (method: string, path: string, json?: unknown) => {
      const r = await api!.request(method, path, json);
      if (r.status >= 300) throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 300)}`);
      return r.body as { id: string };
    };

    // --- Setup ---------------------------------------------------------------------------------
    const client = await guard(must('POST', '/v1/companies', { companyName: 'Résidence Les Filaos' }));
    await guard(must('POST', `/v1/parties/${client.id}/contacts`, { name: 'Jeanne Payet', function: 'Gestionnaire', email: 'jeanne@filaos.test' }));
    const t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < opts.requests; i += 16) {
      const batch = Array.from({ length: Math.min(16, opts.requests - i) }, () =>
        must('POST', '/v1/intervention-requests', { clientId: client.id, title: 'Bench' }),
      );
      ids.push(...(await guard(Promise.all(batch))).map((r) => r.id));
    }
    say(`registered ${ids.length} requests through the API in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    db = await mongoose.createConnection(ctx.mongoUrl, { dbName: databaseName({ RELAIS_NAMESPACE: namespace }, 'exchanges') }).asPromise();
    const summaries = Summaries.open(db, 10);
    const rnd = seededRandom(opts.seed);
    const counts = new Map<string, number>();
    const t1 = performance.now();
    let total = 0;
    for (const requestId of ids) {
      const n = Math.floor(rnd() * 51);
      counts.set(requestId, n);
      const at = Date.now() - 86_400_000;
      const exchanges: ExchangeDoc[] = Array.from({ length: n }, (_, k) => ({
        _id: randomUUID(),
        orgId,
        requestId,
        direction: k % 2 ? 'received' : 'sent',
        type: k % 7 === 6 ? 'reminder' : 'contact',
        sentBy: { kind: 'user', userId: created.admin.id },
        receivedBy: { kind: 'contact', contactNumber: 1 },
        email: null,
        subject: null,
        detail: `Appel numéro ${k} : le client confirme le rendez-vous de mardi matin entre 9 h et 11 h, accès par le portail arrière.`,
        occurredAt: new Date(at + k * 60_000),
        origin: 'staff',
        visibility: 'internal',
        createdBy: created.admin.id,
        createdAt: new Date(at + k * 60_000),
        edits: [],
        emailDelivery: null,
        attachments: [],
        deleted: null,
      }));
      if (n > 0) await guard(db.collection('exchanges').insertMany(exchanges as never[]));
      await guard(summaries.recount(orgId, requestId, exchanges, new Date()));
      total += n;
    }
    say(`seeded ${total} exchanges and ${ids.length} summaries in ${((performance.now() - t1) / 1000).toFixed(1)} s`);

    // --- Measured ------------------------------------------------------------------------------
    const keys = ids.map((id) => `${orgId}:${id}`);
    const model = db.collection('exchange_summaries');
    const expected = [...counts.values()].reduce((a, b) => a + b, 0);
    const floorShot = (): Shot => ({
      route: 'floor',
      async send() {
        const docs = await model.find({ orgId, _id: { $in: keys as never[] } }).toArray();
        const body = JSON.stringify(docs);
        return { status: docs.length === ids.length && body.length > 0 ? 200 : 500, size: docs.length };
      },
    });
    const relaisShot = (): Shot => ({
      route: 'relais',
      async send() {
        const r = await api!.request('POST', '/v1/exchange-summaries', { requestIds: ids });
        const items = (r.body as { items?: { summary: { count: number } }[] })?.items ?? [];
        const sum = items.reduce((a, i) => a + i.summary.count, 0);
        return { status: r.status === 200 && items.length === ids.length && sum === expected ? 200 : r.status === 200 ? 500 : r.status, size: items.length };
      },
    });
    const measure = async (shot: () => Shot) => {
      await guard(openLoop(WARMUP_S * opts.rate, opts.rate, shot, { signal: ctx.signal, maxInFlight: opts.rate * 2 }));
      const run = await guard(openLoop(opts.duration * opts.rate, opts.rate, shot, { signal: ctx.signal, maxInFlight: opts.rate * 2 }));
      return { s: stats(run.samples), overloaded: run.overloadedAt !== null };
    };
    const floor = await measure(floorShot);
    const relais = await measure(relaisShot);
    const ratio = relais.s.p99 / floor.s.p99;
    return [
      `summaries of ${ids.length} requests (${total} exchanges) per call, ${opts.rate}/s for ${opts.duration} s each`,
      line('floor', floor.s) + (floor.overloaded ? ' OVERLOADED' : ''),
      line('relais', relais.s) + (relais.overloaded ? ' OVERLOADED' : ''),
      `target: relais p99 <= 2x floor p99 (${ratio <= 2 ? 'met' : 'NOT met'})`,
      `RESULT summaries ${relais.s.p99.toFixed(1)} ms ratio=${ratio.toFixed(2)}`,
    ];
  } finally {
    api?.close();
    await db?.close();
    await children.stopAll();
    children.discardLogs();
  }
}
