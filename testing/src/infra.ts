import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, existsSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { canConnect } from '@relais/shared/net';
import { withTimeout } from '@relais/shared/timeout';

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

/** The repository: the nearest directory above this module holding tools/ferretdb (also from a bundle in dist/). */
function repositoryRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url)); // bundle-safe: searched upwards
  while (!existsSync(path.join(dir, 'tools', 'ferretdb'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}
const ROOT = repositoryRoot();
const CACHE = path.join(ROOT, '.cache');
const LOGS = path.join(CACHE, 'logs');
const FERRETDB_BIN = path.join(CACHE, 'ferretdb');
const FERRETDB_PIDFILE = path.join(CACHE, 'ferretdb.pid');
// The variables that move the PostgreSQL a spawned FerretDB uses, as psql and libpq know them.
const PG_VARIABLES = 'PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE';
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

interface PgSettings {
  /** A host name or address, or (starting with /) the directory of PostgreSQL's Unix socket, as for libpq. */
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
}

/**
 * The PostgreSQL behind a spawned FerretDB: the libpq variables, read when used (a launcher may set them
 * after importing this module), else a local server with trust auth for user postgres. A string says
 * why the variables cannot be used.
 */
function pgSettings(env: NodeJS.ProcessEnv = process.env): PgSettings | string {
  const port = Number(env.PGPORT || 5432);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return `PGPORT=${env.PGPORT} is not a port number`;
  return {
    host: env.PGHOST || '127.0.0.1',
    port,
    user: env.PGUSER || 'postgres',
    password: env.PGPASSWORD || undefined,
    database: env.PGDATABASE || 'relais',
  };
}

const isSocketDir = (host: string) => host.startsWith('/');

/** Where PostgreSQL is looked for, for messages: `user@host:port/database`. */
function pgAddress(pg: PgSettings): string {
  const where = isSocketDir(pg.host) ? `${pg.host}/.s.PGSQL.${pg.port}` : `${pg.host}:${pg.port}`;
  return `${pg.user}@${where}/${pg.database}`;
}

/**
 * FerretDB's connection string. The password stays out of it: the URL is on FerretDB's command line,
 * which every user of the machine can read (ps, /proc), while pgx, FerretDB's driver, takes PGPASSWORD
 * from its environment like libpq does.
 */
function pgUrl(pg: PgSettings): string {
  const user = encodeURIComponent(pg.user);
  const database = encodeURIComponent(pg.database);
  if (isSocketDir(pg.host)) {
    return `postgres://${user}@/${database}?host=${encodeURIComponent(pg.host)}&port=${pg.port}`;
  }
  const host = pg.host.includes(':') ? `[${pg.host}]` : pg.host;
  return `postgres://${user}@${host}:${pg.port}/${database}`;
}

/** The environment of psql and FerretDB: PGPASSWORD passes there, never on a command line. */
function pgEnv(pg: PgSettings): NodeJS.ProcessEnv {
  return pg.password === undefined ? { ...process.env } : { ...process.env, PGPASSWORD: pg.password };
}

function pgOpen(pg: PgSettings): Promise<boolean> {
  return canConnect(isSocketDir(pg.host) ? { path: `${pg.host}/.s.PGSQL.${pg.port}` } : { host: pg.host, port: pg.port });
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
  const pg = pgSettings();
  const pgWhere = typeof pg === 'string' ? pg : `${pgAddress(pg)}, trust auth or PGPASSWORD`;
  throw new Error(
    [
      `No ${what} available.`,
      `  local: ${localResult}`,
      `  docker: ${engine}`,
      'Provide MongoDB and NATS (with JetStream) in one of these ways:',
      '  - set MONGO_URL (e.g. mongodb://127.0.0.1:27017) and NATS_URL (e.g. nats://127.0.0.1:4222) to running servers;',
      `  - or install Go, PostgreSQL (${pgWhere}; ${PG_VARIABLES} change it) and nats-server,`,
      '    then run scripts/setup.sh to build FerretDB into .cache/ferretdb;',
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
  const pg = pgSettings();
  if (typeof pg === 'string') return pg;
  if (!(await pgOpen(pg))) return `PostgreSQL does not answer at ${pgAddress(pg)} (${PG_VARIABLES} change it)`;
  const created = await ensurePgDatabase(pg);
  if (created !== true) return created;

  // Something holds the port without speaking MongoDB: don't fight it.
  if (await portOpen('127.0.0.1', port)) port = await freePort();

  const url = `mongodb://127.0.0.1:${port}`;
  const child = await spawnLogged('ferretdb', FERRETDB_BIN, ['-listen', `127.0.0.1:${port}`, '-postgresql-url', pgUrl(pg)], pgEnv(pg));
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
    throw new Error(
      `FerretDB did not answer ping on 127.0.0.1:${port} within ${FERRETDB_READY_MS / 1000} s; see ${logPath('ferretdb')}:\n${await logTail('ferretdb')}`,
    );
  }
  return { url, source: `FerretDB spawned on 127.0.0.1:${port} (PostgreSQL ${pgAddress(pg)})`, stop };
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

async function ensurePgDatabase(pg: PgSettings): Promise<true | string> {
  const psql = (sql: string) =>
    run('psql', ['-h', pg.host, '-p', String(pg.port), '-U', pg.user, '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-Atc', sql], 10_000, pgEnv(pg));
  // Quoted as SQL wants: PGDATABASE may hold any name (libpq connects to it case-sensitively).
  const literal = `'${pg.database.replaceAll("'", "''")}'`;
  const identifier = `"${pg.database.replaceAll('"', '""')}"`;
  try {
    const exists = await psql(`SELECT 1 FROM pg_database WHERE datname = ${literal}`);
    if (exists.trim() === '1') return true;
    await psql(`CREATE DATABASE ${identifier}`);
    return true;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return 'psql is not installed (needed to create the PostgreSQL database)';
    if (/already exists/.test(e.stderr ?? '')) return true;
    return `could not create PostgreSQL database ${pg.database} at ${pgAddress(pg)} (${PG_VARIABLES} change it): ${(e.stderr || e.message).trim()}`;
  }
}

/** True when a MongoDB-compatible server answers `ping` within `ms`. */
export async function pingMongo(url: string, ms: number): Promise<boolean> {
  const plain = /^mongodb:\/\/([\w.-]+|\[[\d:a-f]+\]):(\d+)\/?$/i.exec(url);
  if (plain) return rawPing(plain[1].replace(/^\[|\]$/g, ''), Number(plain[2]), ms);
  // Credentials, several hosts, options: the driver's job.
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(url, { serverSelectionTimeoutMS: ms, connectTimeoutMS: ms, socketTimeoutMS: ms });
  try {
    await withTimeout(client.db('admin').command({ ping: 1 }), ms + 1_000, 'the MongoDB ping');
    return true;
  } catch {
    return false;
  } finally {
    await withTimeout(client.close(true), 2_000, 'closing the MongoDB client').catch(() => {});
  }
}

/**
 * `{ ping: 1 }` to one server as a bare OP_MSG: the launcher (npm start) asks this without loading
 * the MongoDB driver, which costs it ~35 MB of memory. True when the reply says ok: 1.
 */
function rawPing(host: string, port: number, ms: number): Promise<boolean> {
  const cstring = (s: string) => Buffer.from(`${s}\0`, 'utf8');
  const body = Buffer.concat([
    Buffer.from([0x10]),
    cstring('ping'),
    int32(1),
    Buffer.from([0x02]),
    cstring('$db'),
    int32(6),
    cstring('admin'),
    Buffer.from([0x00]),
  ]);
  const doc = Buffer.concat([int32(body.length + 4), body]);
  const OP_MSG = 2013;
  const payload = Buffer.concat([int32(0), Buffer.from([0]), doc]); // flagBits, section kind 0
  const message = Buffer.concat([int32(16 + payload.length), int32(1), int32(0), int32(OP_MSG), payload]);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => done(false), ms);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write(message));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4 || received.length < received.readInt32LE(0)) return;
      // header (16), flagBits (4), section kind (1), then the reply document.
      done(received.readInt32LE(12) === OP_MSG && received[20] === 0 && replyOk(received.subarray(21)));
    });
  });
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
}

/** Whether a BSON document's top-level `ok` is 1; reads the element types a ping reply holds. */
function replyOk(doc: Buffer): boolean {
  const sizes: Record<number, number> = { 0x01: 8, 0x07: 12, 0x08: 1, 0x09: 8, 0x0a: 0, 0x10: 4, 0x11: 8, 0x12: 8 };
  let at = 4;
  while (at < doc.length && doc[at] !== 0) {
    const type = doc[at];
    const nameEnd = doc.indexOf(0, at + 1);
    if (nameEnd < 0) return false;
    const name = doc.toString('utf8', at + 1, nameEnd);
    const value = nameEnd + 1;
    if (name === 'ok') {
      if (type === 0x01) return doc.readDoubleLE(value) === 1;
      if (type === 0x10) return doc.readInt32LE(value) === 1;
      return false;
    }
    if (type === 0x02) at = value + 4 + doc.readInt32LE(value);
    else if (type === 0x03 || type === 0x04) at = value + doc.readInt32LE(value);
    else if (type in sizes) at = value + sizes[type];
    else return false;
  }
  return false;
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
    throw new Error(
      `nats-server did not start JetStream on ${url} within ${NATS_READY_MS / 1000} s; see ${logPath('nats-server')}:\n${await logTail('nats-server')}`,
    );
  }
  return { url, stop };
}

/** True when a NATS server accepts a connection and its JetStream API answers within `ms`. */
export async function probeJetStream(url: string, ms: number): Promise<boolean> {
  let nc: Awaited<ReturnType<typeof connect>> | undefined;
  try {
    nc = await withTimeout(connect({ servers: url, timeout: ms, reconnect: false }), ms + 1_000, 'connecting to NATS');
    const jsm = await withTimeout(nc.jetstreamManager({ timeout: ms }), ms + 1_000, 'the JetStream manager');
    await withTimeout(jsm.getAccountInfo(), ms + 1_000, 'the JetStream account info');
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
      await withTimeout(getContainerRuntimeClient(), 15_000, 'the container runtime');
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

async function spawnLogged(name: string, bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  await mkdir(LOGS, { recursive: true });
  const fd = openSync(logPath(name), 'w');
  try {
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd], env });
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

function run(cmd: string, args: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, env: { ...env, PGCONNECT_TIMEOUT: '5' } }, (err, stdout, stderr) => {
      if (err) {
        // An Error, though its type (Omit<ExecException, 'code'> & ...) no longer says so.
        const failure: Error & { stderr: string } = Object.assign(err, { stderr });
        reject(failure);
      } else resolve(stdout);
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
  return canConnect({ host, port }, ms);
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
