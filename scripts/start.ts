// `npm start` (bundled as dist/start.js): the whole system on this machine — every service and the
// gateway, each in its own process, against MONGO_URL / NATS_URL when set, else a local FerretDB and nats-server started here.
// Then the demo org (one user per role) through the ops CLI, and a banner, printed last.
//
// This process only launches and relays: it imports no service code, so it stays small. The
// children log JSON to it; it shows them as readable lines in a terminal (JSON otherwise), and
// during start-up only their warnings and errors.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { logFormat, prettyStream } from '@relais/shared/log';
// Only the infrastructure module: the testing index would load Moleculer and the MongoDB driver here.
import { provideInfra, type Infra } from '@relais/testing/infra';

const root = fileURLToPath(new URL('..', import.meta.url)); // bundle-safe: scripts/ and dist/ are both one level down
const localNode = path.join(root, 'node_modules/.bin/node');
const nodeBin = existsSync(localNode) ? localNode : process.execPath;
const stateDir = path.resolve(root, process.env.RELAIS_STATE_DIR ?? '.relais');

/** Each process (its bundle dist/<name>.js, made by npm run build) and its metrics port with METRICS=1. */
const processes: [name: string, metricsPort: number][] = [
  ['gateway', 9101],
  ['contacts', 9102],
  ['domiciliation', 9103],
  ['mail', 9104],
  ['notifications', 9105],
  ['exchanges', 9106],
];
// The bundles run on plain Node: no TypeScript loader in each process. Source maps cost each process
// ~20 MB; NODE_OPTIONS=--enable-source-maps npm start turns them on for stack traces in the sources.
const bundle = (name: string) => [path.join(root, 'dist', `${name}.js`)];

const READY_WITHIN_MS = 120_000;
// A child that has not stopped by then is killed: the whole stack stops within 10 s.
const CHILD_STOP_MS = 6_000;
// Kept per process while starting, shown if it fails to start.
const STARTUP_LINES = 200;

const say = (msg: string) => process.stderr.write(`relais: ${msg}\n`);

// ---------------------------------------------------------------- logs

const WARN = 40;
// Readable lines at a terminal (or with LOG_FORMAT=pretty), the children's JSON as it is otherwise.
const pretty = logFormat() === 'pretty' ? prettyStream({ destination: process.stdout }) : undefined;

/** Relays one process's output: JSON log lines read as such, anything else (a crash) as it came. */
class Relay {
  private started = false;
  private readonly held: (() => void)[] = [];

  constructor(private readonly name: string) {}

  line(text: string): void {
    let level = WARN;
    let show = () => void process.stdout.write(`${pretty ? `[${this.name}] ` : ''}${text}\n`);
    if (text.startsWith('{')) {
      try {
        const entry = JSON.parse(text) as { level?: number; name?: string; mod?: string };
        level = entry.level ?? WARN;
        // The line's tag says which process: "gateway", "mail/broker", "notifications/notifications".
        const own = entry.name ?? entry.mod;
        const tag = own === this.name ? own : `${this.name}/${own ?? '?'}`;
        if (pretty) show = () => void pretty.write(`${JSON.stringify({ ...entry, name: tag })}\n`);
        else show = () => void process.stdout.write(`${text}\n`);
      } catch {
        // Not a log line: shown as it came.
      }
    }
    if (this.started || level >= WARN) show();
    else {
      this.held.push(show);
      if (this.held.length > STARTUP_LINES) this.held.shift();
    }
  }

  /** Everything from now on is shown. */
  release(): void {
    this.started = true;
    this.held.length = 0;
  }

  /** What the process said while starting (it failed). */
  dump(): void {
    for (const show of this.held) show();
    this.held.length = 0;
  }
}

// ---------------------------------------------------------------- state

/** The platform token stays the same across restarts unless RELAIS_PLATFORM_TOKEN says otherwise. */
function platformToken(): string {
  if (process.env.RELAIS_PLATFORM_TOKEN) return process.env.RELAIS_PLATFORM_TOKEN;
  const file = path.join(stateDir, 'platform-token');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 24) return kept;
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

// ---------------------------------------------------------------- main

const children: { name: string; child: ChildProcess; relay: Relay }[] = [];
let infra: Infra | undefined;
let stopping: Promise<void> | undefined;
const stackFile = path.join(stateDir, 'stack.json');

function stopAll(code: number): Promise<void> {
  stopping ??= (async () => {
    say('stopping');
    const exited = (c: ChildProcess) =>
      c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r()));
    for (const { child } of children) child.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, CHILD_STOP_MS);
    await Promise.all(children.map(({ child }) => exited(child)));
    clearTimeout(killer);
    rmSync(stackFile, { force: true });
    await infra?.stop();
    process.exit(code);
  })();
  return stopping;
}

function spawnNode(name: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const relay = new Relay(name);
  const child = spawn(nodeBin, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push({ name, child, relay });
  for (const stream of [child.stdout, child.stderr]) readline.createInterface({ input: stream }).on('line', (l) => relay.line(l));
  child.once('exit', (code, signal) => {
    if (stopping) return;
    relay.dump();
    say(`${name} exited (${signal ?? `code ${code}`}); stopping everything`);
    void stopAll(1);
  });
  return child;
}

/** `relais demo` in its own process: the ops CLI owns the demo seed and its tokens file. */
function seedDemo(env: NodeJS.ProcessEnv, tokensFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBin, [...bundle('relais'), 'demo', '--tokens-file', tokensFile], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the demo seed failed: ${errors.trim() || `exit code ${code}`}`))));
  });
}

async function waitReady(url: string): Promise<boolean> {
  const deadline = Date.now() + READY_WITHIN_MS;
  while (Date.now() < deadline) {
    if (stopping) return false;
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

async function main(): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stopAll(0));
  const missing = [...processes.map(([name]) => name), 'relais'].filter((name) => !existsSync(path.join(root, 'dist', `${name}.js`)));
  if (missing.length > 0) throw new Error(`dist/ lacks ${missing.join(', ')}: run npm start (it builds them) or npm run build`);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);

  const t0 = Date.now();
  infra = await provideInfra({ purpose: 'start' });
  say(`database and NATS: ${infra.source}`);
  const port = process.env.GATEWAY_PORT ?? '3000';
  const url = `http://localhost:${port}`;
  const metrics = process.env.METRICS === '1';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MONGO_URL: infra.mongoUrl,
    NATS_URL: infra.natsUrl,
    RELAIS_NAMESPACE: process.env.RELAIS_NAMESPACE ?? 'relais',
    GATEWAY_PORT: port,
    RELAIS_PLATFORM_TOKEN: platformToken(),
    // This process formats the children's lines; they write JSON to it.
    LOG_FORMAT: 'json',
    // The services stop by themselves if this process is killed outright.
    RELAIS_PARENT_PID: String(process.pid),
    // The exchanges service's inbound SMTP listener (replies and bounces), for the walkthrough's reply.
    INBOUND_SMTP_PORT: process.env.INBOUND_SMTP_PORT ?? '2525',
  };
  for (const [name, metricsPort] of processes) {
    spawnNode(name, bundle(name), metrics ? { ...env, METRICS_PORT: String(metricsPort) } : env);
  }
  if (stopping) return;

  if (!(await waitReady(`http://127.0.0.1:${port}`))) {
    if (stopping) return;
    for (const { relay } of children) relay.dump();
    say(`not ready after ${READY_WITHIN_MS / 1000} s: see http://127.0.0.1:${port}/readyz`);
    return stopAll(1);
  }
  const tokensFile = path.join(stateDir, 'demo-tokens.env');
  await seedDemo({ ...env, RELAIS_URL: url, LOG_FORMAT: undefined }, tokensFile);
  writeFileSync(
    stackFile,
    `${JSON.stringify({ pid: process.pid, mongoUrl: infra.mongoUrl, natsUrl: infra.natsUrl, namespace: env.RELAIS_NAMESPACE, gatewayUrl: url, startedAt: new Date().toISOString() }, null, 2)}\n`,
    { mode: 0o600 },
  );

  const relative = path.relative(process.cwd(), tokensFile);
  const shown = relative.startsWith('..') || path.isAbsolute(relative) ? tokensFile : relative;
  const tokens = readFileSync(tokensFile, 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+_TOKEN=/.test(l));
  const lines = [
    '',
    `Relais is up: ${url}   (started in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    `API docs:     ${url}/docs   (OpenAPI: ${url}/openapi.json)`,
    `Demo org "CCAS Demo": tokens in ${shown}; load them with:  . ${shown}`,
    ...tokens.map((l) => `  ${l}`),
    ...(metrics ? [`Metrics:      ${processes.map(([name, p]) => `${name} :${p}`).join(', ')} (/metrics)`] : []),
    `Ops CLI:      npm run relais -- help`,
    'Stop with Ctrl-C.',
    '',
  ];
  // The children's start-up lines were held back; from here on everything they log is shown.
  console.log(lines.join('\n'));
  for (const { relay } of children) relay.release();
}

main().catch((err) => {
  say((err as Error).message);
  void stopAll(1);
});
