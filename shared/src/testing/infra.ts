import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { connect } from 'nats';

export type InfraPurpose = 'test' | 'start';

export interface InfraOptions {
  purpose: InfraPurpose;
  /** Port where a local MongoDB-compatible server is looked for and FerretDB is spawned (27017). */
  mongoPort?: number;
  /** Port where an already running nats-server is looked for (4222). */
  natsPort?: number;
}

export interface Infra {
  mongoUrl: string;
  natsUrl: string;
  /** Human-readable description of where each service came from. */
  source: string;
  /** Stops only what provideInfra started. Safe to call twice. */
  stop(): Promise<void>;
}

interface Provided {
  url: string;
  source: string;
  stop?: () => Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CACHE = path.join(ROOT, '.cache');
const LOGS = path.join(CACHE, 'logs');
const FERRETDB_BIN = path.join(CACHE, 'ferretdb');
const FERRETDB_PIDFILE = path.join(CACHE, 'ferretdb.pid');
const PG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'relais' };
const NATS_BIN_FALLBACK = '/usr/sbin/nats-server';

// FerretDB and nats-server usually answer within a second, but either can stall: every wait is bounded.
const FERRETDB_READY_MS = 30_000;
const NATS_READY_MS = 15_000;
const STOP_GRACE_MS = 5_000;

/**
 * MongoDB and NATS (with JetStream) for tests and `npm start`, from the first source that works:
 * MONGO_URL / NATS_URL, then local servers (reused, or FerretDB on PostgreSQL and nats-server
 * spawned), then containers if a Docker engine answers.
 */
export async function provideInfra(opts: InfraOptions): Promise<Infra> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    while (stops.length > 0) await stops.pop()!().catch(() => {});
  };
  try {
    const mongo = await provide('MongoDB', process.env.MONGO_URL, 'MONGO_URL', () => localMongo(opts), dockerMongo);
    if (mongo.stop) stops.push(mongo.stop);
    const nats = await provide('NATS', process.env.NATS_URL, 'NATS_URL', () => localNats(opts), dockerNats);
    if (nats.stop) stops.push(nats.stop);
    let stopped: Promise<void> | undefined;
    return {
      mongoUrl: mongo.url,
      natsUrl: nats.url,
      source: `mongo: ${mongo.source}; nats: ${nats.source}`,
      stop: () => (stopped ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function provide(
  what: string,
  envValue: string | undefined,
  envName: string,
  local: () => Promise<Provided | string>,
  docker: () => Promise<Provided>,
): Promise<Provided> {
  if (envValue) return { url: envValue, source: `${envName} from the environment` };
  const localResult = await local();
  if (typeof localResult !== 'string') return localResult;
  const engine = await dockerEngine();
  if (engine === true) return docker();
  throw new Error(
    [
      `No ${what} available.`,
      `  local: ${localResult}`,
      `  docker: ${engine}`,
      'Provide MongoDB and NATS (with JetStream) in one of these ways:',
      '  - set MONGO_URL (e.g. mongodb://127.0.0.1:27017) and NATS_URL (e.g. nats://127.0.0.1:4222) to running servers;',
      '  - or install Go, PostgreSQL (trust auth for user postgres on 127.0.0.1:5432) and nats-server, then run',
      '    scripts/setup.sh to build FerretDB into .cache/ferretdb;',
      '  - or run a Docker engine (containers mongo:8 and nats:2.10 are started automatically).',
    ].join('\n'),
  );
}

// ---------------------------------------------------------------- MongoDB

async function localMongo(opts: InfraOptions): Promise<Provided | string> {
  let port = opts.mongoPort ?? 27017;
  const reuseUrl = `mongodb://127.0.0.1:${port}`;
  // The TCP check first: the driver retries a refused connection until its timeout.
  if ((await portOpen('127.0.0.1', port)) && (await pingMongo(reuseUrl, 2_000))) {
    return { url: reuseUrl, source: `MongoDB-compatible server on 127.0.0.1:${port} (reused)` };
  }

  // One FerretDB holds ~50 of PostgreSQL's 100 connections: never leave a second one running.
  const running = await runningFerretDB();
  if (running) return running;

  if (!existsSync(FERRETDB_BIN)) return `${path.relative(ROOT, FERRETDB_BIN)} is missing (scripts/setup.sh builds it with Go)`;
  if (!(await portOpen(PG.host, PG.port))) return `PostgreSQL does not answer on ${PG.host}:${PG.port}`;
  const created = await ensurePgDatabase();
  if (created !== true) return created;

  // Something holds the port without speaking MongoDB: don't fight it.
  if (await portOpen('127.0.0.1', port)) port = await freePort();

  const url = `mongodb://127.0.0.1:${port}`;
  const pgUrl = `postgres://${PG.user}@${PG.host}:${PG.port}/${PG.database}`;
  const child = await spawnLogged('ferretdb', FERRETDB_BIN, ['-listen', `127.0.0.1:${port}`, '-postgresql-url', pgUrl]);
  writeFileSync(FERRETDB_PIDFILE, `${child.pid} ${port}\n`);
  const stop = async () => {
    await terminate(child);
    removePidfile(child.pid);
  };
  const ready = await waitFor(async () => (await portOpen('127.0.0.1', port)) && pingMongo(url, 2_000), FERRETDB_READY_MS, child);
  if (!ready) {
    await stop();
    // Lost a race with another run that started FerretDB on the same port at the same time.
    if (await pingMongo(url, 2_000)) return { url, source: `MongoDB-compatible server on 127.0.0.1:${port} (reused)` };
    throw new Error(`FerretDB did not answer ping on 127.0.0.1:${port} within ${FERRETDB_READY_MS / 1000} s; see ${logPath('ferretdb')}:\n${await logTail('ferretdb')}`);
  }
  return { url, source: `FerretDB spawned on 127.0.0.1:${port} (PostgreSQL database ${PG.database})`, stop };
}

/**
 * A FerretDB already running on this machine (ours from a run that died, or someone's dev
 * instance): reuse it if it answers. A stalled one we started ourselves is killed.
 */
async function runningFerretDB(): Promise<Provided | undefined> {
  let ownPid: number | undefined;
  try {
    ownPid = Number(readFileSync(FERRETDB_PIDFILE, 'utf8').trim().split(/\s+/)[0]);
  } catch {
    // no pidfile
  }
  for (const { pid, listen } of ferretdbProcesses()) {
    const url = `mongodb://${listen}`;
    if (await pingMongo(url, 2_000)) return { url, source: `FerretDB already running on ${listen} (pid ${pid}, reused)` };
    if (pid === ownPid) await terminatePid(pid);
  }
  if (ownPid !== undefined) removePidfile(ownPid);
  return undefined;
}

/** FerretDB processes found in /proc (Linux; elsewhere none) with their -listen address. */
function ferretdbProcesses(): Array<{ pid: number; listen: string }> {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  const found: Array<{ pid: number; listen: string }> = [];
  for (const pid of pids) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!path.basename(argv[0] ?? '').startsWith('ferretdb')) continue;
    const i = argv.findIndex((a) => a === '-listen' || a === '--listen');
    const listen = i >= 0 ? argv[i + 1] : argv.find((a) => /^--?listen=/.test(a))?.split('=')[1];
    if (listen) found.push({ pid: Number(pid), listen: listen.replace(/^(0\.0\.0\.0|\[::\]|):/, '127.0.0.1:') });
  }
  return found;
}

function removePidfile(pid: number | undefined): void {
  try {
    if (readFileSync(FERRETDB_PIDFILE, 'utf8').startsWith(`${pid} `)) rmSync(FERRETDB_PIDFILE);
  } catch {
    // already gone
  }
}

async function ensurePgDatabase(): Promise<true | string> {
  const psql = (sql: string) =>
    run('psql', ['-h', PG.host, '-p', String(PG.port), '-U', PG.user, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-Atc', sql], 10_000);
  try {
    const exists = await psql(`SELECT 1 FROM pg_database WHERE datname = '${PG.database}'`);
    if (exists.trim() === '1') return true;
    await psql(`CREATE DATABASE ${PG.database}`);
    return true;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return 'psql is not installed (needed to create the PostgreSQL database)';
    if (/already exists/.test(e.stderr ?? '')) return true;
    return `could not create PostgreSQL database ${PG.database}: ${(e.stderr || e.message).trim()}`;
  }
}

/** True when a MongoDB-compatible server answers `ping` within `ms`. */
export async function pingMongo(url: string, ms: number): Promise<boolean> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: ms, connectTimeoutMS: ms, socketTimeoutMS: ms });
  try {
    await withDeadline(client.db('admin').command({ ping: 1 }), ms + 1_000);
    return true;
  } catch {
    return false;
  } finally {
    await withDeadline(client.close(true), 2_000).catch(() => {});
  }
}

async function dockerMongo(): Promise<Provided> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const c = await new GenericContainer('mongo:8')
    .withExposedPorts(27017)
    .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
    .withStartupTimeout(120_000)
    .start();
  const url = `mongodb://${c.getHost()}:${c.getMappedPort(27017)}/?directConnection=true`;
  return { url, source: 'container mongo:8', stop: async () => void (await c.stop()) };
}

// ---------------------------------------------------------------- NATS

async function localNats(opts: InfraOptions): Promise<Provided | string> {
  const reuseUrl = `nats://127.0.0.1:${opts.natsPort ?? 4222}`;
  if (await probeJetStream(reuseUrl, 2_000)) return { url: reuseUrl, source: `nats-server on ${reuseUrl.slice(7)} (reused)` };

  const bin = findOnPath('nats-server') ?? (isExecutable(NATS_BIN_FALLBACK) ? NATS_BIN_FALLBACK : undefined);
  if (!bin) return 'no nats-server with JetStream on 127.0.0.1:4222 and no nats-server binary on PATH';

  // Tests get a throw-away store; `npm start` keeps its streams across restarts.
  const temporary = opts.purpose === 'test';
  const storeDir = temporary ? await mkdtemp(path.join(os.tmpdir(), 'relais-nats-')) : path.join(CACHE, 'nats-store');
  const server = await spawnNatsServer(bin, storeDir, await freePort());
  return {
    url: server.url,
    source: `nats-server spawned on ${server.url.slice(7)}`,
    stop: async () => {
      await server.stop();
      if (temporary) await rm(storeDir, { recursive: true, force: true });
    },
  };
}

/**
 * A nats-server with JetStream on `port`, its streams in `storeDir`: started again with the same
 * port and directory, it comes back with its streams (tests of a broker outage use this).
 */
export async function spawnNatsServer(
  bin: string | undefined = findOnPath('nats-server') ?? (isExecutable(NATS_BIN_FALLBACK) ? NATS_BIN_FALLBACK : undefined),
  storeDir: string,
  port: number,
): Promise<{ url: string; stop(): Promise<void> }> {
  if (!bin) throw new Error('no nats-server binary on PATH');
  await mkdir(storeDir, { recursive: true });
  const url = `nats://127.0.0.1:${port}`;
  const child = await spawnLogged('nats-server', bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir]);
  const stop = () => terminate(child);
  if (!(await waitFor(() => probeJetStream(url, 2_000), NATS_READY_MS, child))) {
    await stop();
    throw new Error(`nats-server did not start JetStream on ${url} within ${NATS_READY_MS / 1000} s; see ${logPath('nats-server')}:\n${await logTail('nats-server')}`);
  }
  return { url, stop };
}

/** True when a NATS server accepts a connection and its JetStream API answers within `ms`. */
export async function probeJetStream(url: string, ms: number): Promise<boolean> {
  let nc: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    nc = await withDeadline(connect({ servers: url, timeout: ms, reconnect: false }), ms + 1_000);
    const jsm = await withDeadline(nc.jetstreamManager({ timeout: ms }), ms + 1_000);
    await withDeadline(jsm.getAccountInfo(), ms + 1_000);
    return true;
  } catch {
    return false;
  } finally {
    await nc?.close().catch(() => {});
  }
}

async function dockerNats(): Promise<Provided> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const c = await new GenericContainer('nats:2.10')
    .withCommand(['-js'])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .withStartupTimeout(60_000)
    .start();
  return { url: `nats://${c.getHost()}:${c.getMappedPort(4222)}`, source: 'container nats:2.10', stop: async () => void (await c.stop()) };
}

// ---------------------------------------------------------------- Docker

let dockerCheck: Promise<true | string> | undefined;

/** true, or why no Docker engine can be used. Checked once per process. */
function dockerEngine(): Promise<true | string> {
  dockerCheck ??= (async () => {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await withDeadline(getContainerRuntimeClient(), 15_000);
      return true as const;
    } catch (err) {
      return `no Docker engine answers (${(err as Error).message.split('\n')[0]})`;
    }
  })();
  return dockerCheck;
}

// ---------------------------------------------------------------- processes

const children = new Set<ChildProcess>();
// Never leave a spawned server behind, even when the caller crashes before stop().
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function logPath(name: string): string {
  return path.join(LOGS, `${name}.log`);
}

async function logTail(name: string): Promise<string> {
  const text = await readFile(logPath(name), 'utf8').catch(() => '');
  return text.split('\n').slice(-15).join('\n');
}

async function spawnLogged(name: string, bin: string, args: string[]): Promise<ChildProcess> {
  await mkdir(LOGS, { recursive: true });
  const fd = openSync(logPath(name), 'w');
  try {
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
    children.add(child);
    child.once('exit', () => children.delete(child));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return child;
  } finally {
    closeSync(fd);
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM, then SIGKILL after STOP_GRACE_MS. */
async function terminate(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await done;
  clearTimeout(timer);
}

async function terminatePid(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + STOP_GRACE_MS;
  while (alive() && Date.now() < deadline) await sleep(100);
  if (alive()) process.kill(pid, 'SIGKILL');
}

/** Polls `check` until it is true, the child exits or `ms` elapse. */
async function waitFor(check: () => Promise<boolean>, ms: number, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !exited(child)) {
    if (await check()) return true;
    await sleep(250);
  }
  return false;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, env: { ...process.env, PGCONNECT_TIMEOUT: '5' } }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr }));
      else resolve(stdout);
    });
  });
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

// ---------------------------------------------------------------- network

function portOpen(host: string, port: number, ms = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
