// `npm run bench -- <name> [args...]`: runs bench/<name>.ts against MongoDB and NATS (reused when
// MONGO_URL / NATS_URL are set or servers run locally, else started and stopped here), in a namespace
// prefix of its own, then always removes that prefix's databases and streams. The whole run is
// bounded in time: a stalled database ends it with a message instead of hanging.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cleanUpPrefix, provideInfra, uniqueNamespace } from '@relais/testing';
import { whenAborted, type BenchContext, type Benchmark } from '../bench/lib/context';

const BENCH_DIR = fileURLToPath(new URL('../bench/', import.meta.url));
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 1_800_000);
// After an abort, the benchmark gets this long to stop its processes before clean-up goes ahead anyway.
const ABORT_GRACE_MS = 10_000;

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

function benchmarks(): string[] {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  const known = benchmarks();
  if (!name || !known.includes(name)) {
    if (name) log(`unknown benchmark "${name}"`);
    const lines = ['usage: npm run bench -- <name> [args...]', 'benchmarks:'];
    for (const b of known) {
      const mod = (await import(pathToFileURL(path.join(BENCH_DIR, `${b}.ts`)).href)) as Benchmark;
      lines.push(`  ${b.padEnd(12)} ${mod.description}`);
    }
    console.error(lines.join('\n'));
    return 2;
  }

  const t0 = Date.now();
  const infra = await provideInfra({ purpose: 'test' });
  log(`${infra.source} (ready in ${seconds(t0)})`);
  const prefix = uniqueNamespace('b');
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new Error(`gave up after ${TIMEOUT_MS / 1000} s (BENCH_TIMEOUT_MS): the database or NATS may be stalled`)),
    TIMEOUT_MS,
  );
  const onSignal = (signal: NodeJS.Signals) => controller.abort(new Error(`interrupted (${signal})`));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const ctx: BenchContext = { mongoUrl: infra.mongoUrl, natsUrl: infra.natsUrl, prefix, signal: controller.signal };
  let code = 0;
  let running: Promise<string[]> | undefined;
  let summary: string[] = [];
  try {
    const mod = (await import(pathToFileURL(path.join(BENCH_DIR, `${name}.ts`)).href)) as Benchmark;
    running = mod.run(args, ctx);
    summary = await Promise.race([running, whenAborted(controller.signal)]);
  } catch (err) {
    log(`${name} failed: ${(err as Error).message}`);
    code = 1;
    // Let the benchmark stop its processes first: a service still writing would recreate what clean-up drops.
    if (running) await Promise.race([running.catch(() => {}), new Promise((r) => setTimeout(r, ABORT_GRACE_MS))]);
  } finally {
    clearTimeout(timer);
    await cleanUp(infra.mongoUrl, infra.natsUrl, prefix);
    await infra.stop();
  }
  if (Array.isArray(summary) && summary.length > 0) console.log(['', ...summary].join('\n'));
  return code;
}

async function cleanUp(mongoUrl: string, natsUrl: string, prefix: string): Promise<void> {
  log(await cleanUpPrefix(mongoUrl, natsUrl, prefix));
}

// Exit explicitly: a driver timer left behind must not keep the run open.
process.exit(await main());
