// Test runner behind `npm test [-- mocha args or spec files]`: provides MongoDB and NATS, runs
// mocha in a child process, then always removes what the run created and stops what it started.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanUpPrefix, provideInfra, uniqueNamespace } from '@relais/testing';

const root = fileURLToPath(new URL('..', import.meta.url));
const defaultSpecs = ['shared/test/**/*.test.ts', 'gateway/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'];

const args = process.argv.slice(2);
// Without a spec file or glob among the arguments (only flags such as --grep), run every suite.
const hasSpec = args.some((a) => !a.startsWith('-') && (/\.[cm]?[jt]s$|\*/.test(a) || existsSync(a)));
const mochaArgs = hasSpec ? args : [...defaultSpecs, ...args];

// The Node of the `node` devDependency, whatever `node` started this script.
const localNode = path.join(root, 'node_modules/.bin/node');
const nodeBin = existsSync(localNode) ? localNode : process.execPath;

const log = (msg: string) => process.stderr.write(`test: ${msg}\n`);
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

async function main(): Promise<number> {
  const t0 = Date.now();
  let infra;
  try {
    infra = await provideInfra({ purpose: 'test' });
  } catch (err) {
    log((err as Error).message);
    return 1;
  }
  log(`${infra.source} (ready in ${seconds(t0)})`);

  const prefix = uniqueNamespace();
  const statsDir = mkdtempSync(path.join(os.tmpdir(), 'relais-mocha-'));
  const statsFile = path.join(statsDir, 'stats.json');
  let code: number;
  try {
    code = await runMocha({
      ...process.env,
      MONGO_URL: infra.mongoUrl,
      NATS_URL: infra.natsUrl,
      RELAIS_TEST_PREFIX: prefix,
      RELAIS_MOCHA_STATS: statsFile,
    });
  } finally {
    await cleanUp(infra.mongoUrl, infra.natsUrl, prefix);
    await infra.stop();
  }

  const stats = readStats(statsFile);
  rmSync(statsDir, { recursive: true, force: true });
  if (stats) {
    const skipped = stats.pending > 0 ? `, ${stats.pending} skipped` : '';
    console.log(`${stats.passes} passed, ${stats.failures} failed${skipped}`);
  } else {
    console.log(`mocha exited with code ${code} before reporting results`);
    if (code === 0) code = 1;
  }
  return code;
}

function runMocha(env: NodeJS.ProcessEnv): Promise<number> {
  const mocha = path.join(root, 'node_modules/mocha/bin/mocha.js');
  const child = spawn(
    nodeBin,
    // --import=tsx as Node's own option: given to mocha, it would start a second Node for the tests, which a
    // SIGTERM to its parent does not reach.
    ['--import=tsx', mocha, '--timeout', '60000', '--exit', '--reporter', path.join(root, 'scripts/mocha-reporter.cjs'), ...mochaArgs],
    { cwd: root, env, stdio: 'inherit' },
  );
  // Ctrl-C reaches mocha through the process group; SIGTERM is passed on. Either way this
  // process stays alive long enough to clean up.
  const onSignal = (signal: NodeJS.Signals) => {
    if (signal === 'SIGTERM') child.kill('SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return new Promise((resolve) => {
    child.once('error', (err) => {
      log(`cannot run mocha: ${err.message}`);
      resolve(1);
    });
    child.once('exit', (exitCode, signal) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(exitCode ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1));
    });
  });
}

async function cleanUp(mongoUrl: string, natsUrl: string, prefix: string): Promise<void> {
  log(await cleanUpPrefix(mongoUrl, natsUrl, prefix));
}

function readStats(file: string): { passes: number; failures: number; pending: number } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

// Exit explicitly: a driver timer left behind must not keep the run open.
process.exit(await main());
