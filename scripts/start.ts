// `npm start`: the whole system on this machine — every service and the gateway, each in its own
// process, against MONGO_URL / NATS_URL when set, else a local FerretDB and nats-server started here.
// Then a demo org with one user per role, whose API tokens are printed with the docs URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { GatewayStore, loadGatewayConfig, seedDemo } from '@relais/gateway';
import { provideInfra } from '@relais/shared/testing';

const root = fileURLToPath(new URL('..', import.meta.url));
const localNode = path.join(root, 'node_modules/.bin/node');
const nodeBin = existsSync(localNode) ? localNode : process.execPath;

const processes: [name: string, entry: string][] = [
  ['contacts', 'services/contacts/src/main.ts'],
  ['domiciliation', 'services/domiciliation/src/main.ts'],
  ['mail', 'services/mail/src/main.ts'],
  ['notifications', 'services/notifications/src/main.ts'],
  ['exchanges', 'services/exchanges/src/main.ts'],
  ['gateway', 'gateway/src/main.ts'],
];

const say = (msg: string) => process.stderr.write(`relais: ${msg}\n`);

async function main(): Promise<void> {
  const infra = await provideInfra({ purpose: 'start' });
  say(`database and NATS: ${infra.source}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MONGO_URL: infra.mongoUrl,
    NATS_URL: infra.natsUrl,
    RELAIS_NAMESPACE: process.env.RELAIS_NAMESPACE ?? 'relais',
    GATEWAY_PORT: process.env.GATEWAY_PORT ?? '3000',
    RELAIS_PLATFORM_TOKEN: process.env.RELAIS_PLATFORM_TOKEN ?? randomBytes(32).toString('base64url'),
  };
  const children: ChildProcess[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping');
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    await infra.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  for (const [name, entry] of processes) {
    const child = spawn(nodeBin, ['--import', 'tsx', entry], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    for (const stream of [child.stdout!, child.stderr!]) {
      readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(`[${name}] ${line}\n`));
    }
    child.once('exit', (code) => {
      if (stopping) return;
      say(`${name} exited with code ${code}; stopping everything`);
      void stopAll(1);
    });
  }

  const base = `http://127.0.0.1:${env.GATEWAY_PORT}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      say(`not ready after 120 s: see ${base}/readyz`);
      return stopAll(1);
    }
    await new Promise((r) => setTimeout(r, 500));
  }

  const store = await GatewayStore.open(loadGatewayConfig(env));
  const demo = await seedDemo(store);
  await store.close();
  const lines = [
    '',
    `Relais is up: ${base}`,
    `API docs:     ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
    `Platform token (POST /v1/orgs): ${env.RELAIS_PLATFORM_TOKEN}`,
    `Demo org "CCAS Demo" (${demo.orgId}), API tokens:`,
    ...demo.users.map((u) => `  ${u.role.padEnd(10)} ${u.token}`),
    '',
    `Try: curl -H "Authorization: Bearer ${demo.users[0].token}" ${base}/v1/me`,
    'Stop with Ctrl-C.',
    '',
  ];
  console.log(lines.join('\n'));
}

main().catch((err) => {
  say((err as Error).message);
  process.exit(1);
});
