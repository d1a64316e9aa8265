// `npm run relais -- <command>`: the ops CLI. It finds the stack the way `npm start` left it
// (MONGO_URL / NATS_URL, else the launcher's .relais/stack.json, else the local defaults) and
// answers with messages, never stack traces. Bundled as dist/relais.js for the image, so it
// imports nothing that only development installs.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GatewayStore, listTokens, seedDemo, DEMO_ORG } from '@relais/gateway';
import {
  ConfigError,
  DurableEvents,
  ROLES,
  canConnect,
  connectDatabase,
  createBroker,
  loadConfig,
  baseConfigSchema,
  type RelaisMeta,
  type Role,
} from '@relais/shared';
import { Register, RegisterImportError } from '../services/contacts/src/data/register';
import { RescreenJobs, rescreenState } from '../services/contacts/src/data/screening';
import { RegisterFormatError } from '../services/contacts/src/domain/screening';

const USAGE = `usage: npm run relais -- <command>

  demo [--tokens-file <file>]   create or reuse the demo org "${DEMO_ORG}" and print its tokens
                                (tokens still valid in the file are kept; others are replaced and revoked)
  orgs                          every org
  users <org>                   an org's users (<org>: its id or its exact name)
  tokens <org> [<user>]         live API tokens of an org or of one user (<user>: id or e-mail), with last use
  tokens revoke <org> <tokenId> revoke one token
  slots                         each org's next SMS slot (needs the notifications service running)
  rehearse <org>                run the org's SMS slot now (non-production stacks)
  dlq list [<limit>]            dead letters: what failed, where, why
  dlq replay <seq>...           put dead letters back on their subject
  register import <file>        load a publication of the asset-freeze register (its public JSON) into the
                                contacts service's copy; the same publication again changes nothing
                                (the contacts service then re-screens every party in the background)
  register status               the publication screenings use, and the progress of the last re-screen
  where                         which database and NATS this CLI uses, and why`;

/** Where the launcher records the running stack (and the demo tokens, platform token). */
export const stateDir = () => path.resolve(process.env.RELAIS_STATE_DIR ?? '.relais');

/** What `npm start` writes to <state>/stack.json while the stack runs. */
export interface StackFile {
  pid: number;
  mongoUrl: string;
  natsUrl: string;
  namespace: string;
  gatewayUrl: string;
  startedAt: string;
}

class CliError extends Error {}

interface Stack {
  mongoUrl: string;
  natsUrl: string;
  namespace: string;
  gatewayUrl: string;
  /** How each address was found, for messages. */
  source: string;
}

function readStackFile(): StackFile | undefined {
  const file = path.join(stateDir(), 'stack.json');
  if (!existsSync(file)) return undefined;
  try {
    const stack = JSON.parse(readFileSync(file, 'utf8')) as StackFile;
    // A file left by a launcher that was killed outright describes nothing.
    process.kill(stack.pid, 0);
    return stack;
  } catch {
    return undefined;
  }
}

function locateStack(): Stack {
  const file = readStackFile();
  const env = process.env;
  const pick = (name: 'MONGO_URL' | 'NATS_URL', fromFile: string | undefined, fallback: string) =>
    env[name]
      ? { url: env[name], from: `${name}` }
      : fromFile
        ? { url: fromFile, from: 'npm start (.relais/stack.json)' }
        : { url: fallback, from: 'local default' };
  const mongo = pick('MONGO_URL', file?.mongoUrl, 'mongodb://127.0.0.1:27017');
  const nats = pick('NATS_URL', file?.natsUrl, 'nats://127.0.0.1:4222');
  return {
    mongoUrl: mongo.url,
    natsUrl: nats.url,
    namespace: env.RELAIS_NAMESPACE ?? file?.namespace ?? 'relais',
    gatewayUrl: env.RELAIS_URL ?? file?.gatewayUrl ?? `http://localhost:${env.GATEWAY_PORT ?? 3000}`,
    source: `database ${redactUrl(mongo.url)} (${mongo.from}), NATS ${redactUrl(nats.url)} (${nats.from})`,
  };
}

const redactUrl = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');

/** A TCP probe with a short timeout: the drivers would retry a refused address for seconds. */
function reachable(url: string, defaultPort: number): Promise<boolean> {
  // mongodb+srv names a DNS record, not a host: the driver finds it.
  if (url.startsWith('mongodb+srv:')) return Promise.resolve(true);
  let first: URL;
  try {
    first = new URL(url.split(',')[0]);
  } catch {
    return Promise.resolve(true);
  }
  return canConnect({ host: first.hostname || '127.0.0.1', port: Number(first.port) || defaultPort }, 1_500);
}

const notRunning = (what: string, url: string, variable: string) =>
  new CliError(`No ${what} answers at ${redactUrl(url)}. Is the stack running? Start it with npm start, or set ${variable}.`);

async function openStore(stack: Stack): Promise<GatewayStore> {
  if (!(await reachable(stack.mongoUrl, 27017))) throw notRunning('database', stack.mongoUrl, 'MONGO_URL');
  return GatewayStore.open({ MONGO_URL: stack.mongoUrl, RELAIS_NAMESPACE: stack.namespace, DB_TIMEOUT_MS: 15_000 });
}

async function withStore<T>(stack: Stack, work: (store: GatewayStore) => Promise<T>): Promise<T> {
  const store = await openStore(stack);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

async function orgOf(store: GatewayStore, ref: string | undefined) {
  if (!ref) throw new CliError('Name the org: its id or its exact name (npm run relais -- orgs lists them).');
  const org = (await store.orgs.byId(ref)) ?? (await store.orgs.findByName(ref));
  if (!org) throw new CliError(`No org with the id or name "${ref}" (npm run relais -- orgs lists them).`);
  return org;
}

const day = (d: Date | null | undefined) => (d ? d.toISOString().replace('T', ' ').slice(0, 16) + 'Z' : '-');

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

// ---------------------------------------------------------------- demo

const ENV_NAME: Record<Role, string> = { admin: 'ADMIN_TOKEN', manager: 'MANAGER_TOKEN', caseworker: 'CASEWORKER_TOKEN', agent: 'AGENT_TOKEN' };

/** The KEY=value lines of a tokens file; a missing or unreadable file is an empty one. */
function readEnvFile(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(\S*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2]!;
  }
  return out;
}

async function demo(stack: Stack, args: string[]): Promise<void> {
  if (process.env.NODE_ENV === 'production') {
    throw new CliError('The demo org is for development stacks; this one runs with NODE_ENV=production.');
  }
  const at = args.indexOf('--tokens-file');
  const file = at >= 0 ? args[at + 1] : undefined;
  if (at >= 0 && !file) throw new CliError('--tokens-file needs a file name.');
  const previous = file ? readEnvFile(file) : {};
  const keep = Object.fromEntries(ROLES.filter((r) => previous[ENV_NAME[r]]).map((r) => [r, previous[ENV_NAME[r]]]));
  const seed = await withStore(stack, (store) => seedDemo(store, keep));
  const lines = [
    `# Relais demo org "${DEMO_ORG}" (${seed.orgId}): . .relais/demo-tokens.env`,
    `RELAIS_URL=${stack.gatewayUrl}`,
    ...(process.env.RELAIS_PLATFORM_TOKEN ? [`PLATFORM_TOKEN=${process.env.RELAIS_PLATFORM_TOKEN}`] : []),
    ...seed.users.map((u) => `${ENV_NAME[u.role]}=${u.token}`),
  ];
  const text = `${lines.join('\n')}\n`;
  if (file) {
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    // Written whole then renamed: a reader never sees half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  }
  process.stdout.write(text);
  const kept = seed.users.filter((u) => u.reused).length;
  if (file) process.stderr.write(`relais: ${kept} of ${seed.users.length} tokens kept from ${file}; the others are new and replace earlier demo tokens\n`);
}

// ---------------------------------------------------------------- accounts

async function orgs(stack: Stack): Promise<void> {
  await withStore(stack, async (store) => {
    const all = await store.orgs.list();
    if (all.length === 0) return console.log('no orgs yet (create one with POST /v1/orgs, or npm run relais -- demo)');
    console.log(table([['id', 'name', 'region', 'time zone', 'created'], ...all.map((o) => [o._id, o.name, o.region, o.timeZone, day(o.createdAt)])]));
  });
}

async function users(stack: Stack, [ref]: string[]): Promise<void> {
  await withStore(stack, async (store) => {
    const org = await orgOf(store, ref);
    const list = await store.users.list(org._id);
    console.log(table([['id', 'e-mail', 'role', 'name', 'state'], ...list.map((u) => [u._id, u.email, u.role, u.name, u.disabled ? 'disabled' : 'active'])]));
  });
}

async function tokens(stack: Stack, args: string[]): Promise<void> {
  if (args[0] === 'revoke') {
    const [, ref, tokenId] = args;
    if (!tokenId) throw new CliError('usage: npm run relais -- tokens revoke <org> <tokenId>');
    return withStore(stack, async (store) => {
      const org = await orgOf(store, ref);
      const token = await store.tokens.byId(org._id, tokenId);
      if (!token) throw new CliError(`No token ${tokenId} in the org "${org.name}".`);
      if (token.revokedAt) return console.log(`token ${tokenId} was already revoked on ${day(token.revokedAt)}`);
      await store.tokens.revoke(org._id, tokenId, new Date());
      console.log(`token ${tokenId} ("${token.label}") revoked; it stops working within TOKEN_CACHE_TTL_MS (30 s by default)`);
    });
  }
  const [ref, userRef] = args;
  return withStore(stack, async (store) => {
    const org = await orgOf(store, ref);
    const people = await store.users.list(org._id);
    let userId: string | undefined;
    if (userRef) {
      const user = people.find((u) => u._id === userRef || u.email === userRef.toLowerCase());
      if (!user) throw new CliError(`No user "${userRef}" in the org "${org.name}".`);
      userId = user._id;
    }
    const list = await listTokens(store, org._id, { userId, include: 'active' });
    const email = new Map(people.map((u) => [u._id, u.email]));
    if (list.length === 0) return console.log('no live tokens');
    const at = (iso: string | null) => (iso ? day(new Date(iso)) : '-');
    console.log(
      table([
        ['id', 'user', 'label', 'created', 'last used'],
        ...list.map((t) => [t.id, email.get(t.userId) ?? t.userId, t.label, at(t.createdAt), at(t.lastUsedAt)]),
      ]),
    );
  });
}

// ---------------------------------------------------------------- notifications (through the running services)

async function withBroker<T>(
  stack: Stack,
  work: (call: (action: string, params: object, orgId: string, org: { region: string; timeZone: string }) => Promise<unknown>) => Promise<T>,
): Promise<T> {
  if (!(await reachable(stack.natsUrl, 4222))) throw notRunning('NATS server', stack.natsUrl, 'NATS_URL');
  const config = loadConfig(baseConfigSchema, {
    MONGO_URL: stack.mongoUrl,
    NATS_URL: stack.natsUrl,
    RELAIS_NAMESPACE: stack.namespace,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    LOG_FORMAT: process.env.LOG_FORMAT,
  });
  const broker = createBroker({ config, name: 'relais-cli' });
  await broker.start();
  try {
    try {
      await broker.waitForServices(['notifications'], 10_000);
    } catch {
      throw new CliError(
        `The notifications service does not answer on NATS (${redactUrl(stack.natsUrl)}, namespace ${stack.namespace}). Is the stack running?`,
      );
    }
    // The CLI acts as the org's admin: it has the platform's database access anyway.
    return await work((action, params, orgId, org) => {
      const meta: RelaisMeta = { auth: { userId: 'relais-cli', orgId, role: 'admin' }, org };
      return broker.call(action, params, { meta });
    });
  } finally {
    await broker.stop();
  }
}

interface SettingsView {
  smsEnabled: boolean;
  timeZone: string;
  nextSlotAt: string | null;
  nextSlotLocal: string | null;
}

async function slots(stack: Stack): Promise<void> {
  const all = await withStore(stack, (store) => store.orgs.list());
  if (all.length === 0) return console.log('no orgs yet');
  await withBroker(stack, async (call) => {
    const rows = [['org', 'name', 'SMS', 'next slot (org time)', 'next slot (UTC)']];
    for (const org of all) {
      const s = (await call('notifications.getSettings', {}, org._id, { region: org.region, timeZone: org.timeZone })) as SettingsView;
      rows.push([org._id, org.name, s.smsEnabled ? 'on' : 'off', s.nextSlotLocal ?? '-', s.nextSlotAt ?? '-']);
    }
    console.log(table(rows));
  });
}

async function rehearse(stack: Stack, [ref]: string[]): Promise<void> {
  const org = await withStore(stack, (store) => orgOf(store, ref));
  await withBroker(stack, async (call) => {
    const result = await call('notifications.rehearse', {}, org._id, { region: org.region, timeZone: org.timeZone });
    console.log(JSON.stringify(result, null, 2));
  });
}

// ---------------------------------------------------------------- dead letters

async function dlq(stack: Stack, [sub, ...args]: string[]): Promise<void> {
  if (sub !== 'list' && !(sub === 'replay' && args.length > 0)) throw new CliError('usage: npm run relais -- dlq list [<limit>] | dlq replay <seq>...');
  const numbers = args.map((a) => Number(a));
  const bad = args.filter((_, i) => !Number.isInteger(numbers[i]) || numbers[i] < 1);
  if (bad.length > 0) throw new CliError(`Not a positive whole number: ${bad.join(', ')}`);
  if (!(await reachable(stack.natsUrl, 4222))) throw notRunning('NATS server', stack.natsUrl, 'NATS_URL');
  const events = await DurableEvents.connect({ natsUrl: stack.natsUrl, namespace: stack.namespace, name: 'relais-cli' });
  try {
    if (sub === 'list') {
      const letters = await events.deadLetters(numbers[0] ?? 100);
      if (letters.length === 0) return console.log('no dead letters');
      for (const d of letters) {
        const env = d.envelope ? `${d.envelope.type} ${d.envelope.id} org ${d.envelope.orgId}` : '(malformed)';
        console.log(`#${d.seq}  ${d.failedAt}  ${d.group}  ${env}  after ${d.deliveries} deliveries: ${d.error}`);
      }
    } else {
      for (const seq of numbers) {
        await events.replay(seq);
        console.log(`#${seq} replayed`);
      }
    }
  } finally {
    await events.close();
  }
}

// ---------------------------------------------------------------- asset-freeze register

async function registerStatus(stack: Stack): Promise<void> {
  if (!(await reachable(stack.mongoUrl, 27017))) throw notRunning('database', stack.mongoUrl, 'MONGO_URL');
  const db = await connectDatabase({ MONGO_URL: stack.mongoUrl, RELAIS_NAMESPACE: stack.namespace, DB_TIMEOUT_MS: 15_000 }, 'contacts');
  try {
    const current = await Register.open(db).current();
    if (!current) return console.log('register: no publication imported yet (npm run relais -- register import <file>); saves are logged as notScreened');
    console.log(`register: publication of ${current.publishedAt.toISOString()}, ${current.entryCount} entries, imported ${day(current.importedAt)}`);
    const [job] = await RescreenJobs.open(db).latest(1);
    if (!job) return console.log('re-screen: none yet (the contacts service starts one within seconds of an import, when it runs)');
    const state = rescreenState(job, new Date());
    const of = job._id === current.contentHash ? 'this publication' : `the publication of ${job.publishedAt.toISOString()}`;
    console.log(
      `re-screen of ${of}: ${state}, ${job.done} of ${Math.max(job.total, job.done)} parties, ${job.newHits} new potential match(es) to review` +
        ` (all orgs), started ${day(job.startedAt)}${job.finishedAt ? `, ended ${day(job.finishedAt)}` : `, last progress ${day(job.heartbeatAt)}`}`,
    );
  } finally {
    await db.close();
  }
}

async function register(stack: Stack, [sub, file, ...rest]: string[]): Promise<void> {
  if (sub === 'status' && !file) return registerStatus(stack);
  if (sub !== 'import' || !file || rest.length > 0) throw new CliError('usage: npm run relais -- register import <file> | register status');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`Cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  if (!(await reachable(stack.mongoUrl, 27017))) throw notRunning('database', stack.mongoUrl, 'MONGO_URL');
  // The contacts service's own database: the register copy is its data.
  const db = await connectDatabase({ MONGO_URL: stack.mongoUrl, RELAIS_NAMESPACE: stack.namespace, DB_TIMEOUT_MS: 60_000 }, 'contacts');
  try {
    const repo = Register.open(db);
    await repo.init();
    const result = await repo.importPublication(json).catch((err: unknown) => {
      throw err instanceof RegisterFormatError || err instanceof RegisterImportError ? new CliError(`${file}: ${err.message}`) : err;
    });
    const was = result.previous ? `; it replaces the publication of ${result.previous.publishedAt.toISOString()} (${result.previous.entries} entries)` : '';
    console.log(
      result.changed
        ? `register: publication of ${result.publishedAt.toISOString()} imported, ${result.entries} entries${was}`
        : `register: publication of ${result.publishedAt.toISOString()} already imported (${result.entries} entries), nothing changed`,
    );
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------- main

const commands: Record<string, (stack: Stack, args: string[]) => Promise<void>> = {
  demo,
  orgs,
  users,
  tokens,
  slots,
  rehearse,
  dlq,
  register,
  where: (stack) => {
    console.log(`${stack.source}; namespace ${stack.namespace}; gateway ${stack.gatewayUrl}`);
    return Promise.resolve();
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? commands[name] : undefined;
  if (!name || ['help', '--help', '-h'].includes(name)) {
    console.log(USAGE);
    return 0;
  }
  if (!command) {
    console.error(`relais: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  // The bundle in the image has no stack file: its environment must name the servers.
  const stack = locateStack();
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(stack.namespace)) {
    throw new CliError(`RELAIS_NAMESPACE "${stack.namespace}" is invalid: lower-case letters, digits or _ (at most 31), starting with a letter.`);
  }
  await command(stack, args);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = err as Error & { type?: string; code?: number };
    // Errors of the services (problem-like Moleculer errors) carry a message meant for people.
    const message = err instanceof CliError || err instanceof ConfigError || e.type ? e.message : `${e.name}: ${e.message}`;
    console.error(`relais: ${message}`);
    process.exit(1);
  },
);
