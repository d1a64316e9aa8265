// What the README promises a newcomer, checked on the real `npm start`: its walkthrough runs as
// written in bash and zsh and answers what it says, and stopping npm start stops everything.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { alive, repoRoot, startStack, type Proc, type Stack } from './support/stack';
import { buildScript, check, newNonce, parseWalkthrough, runScript, type Shell } from './support/walkthrough';

const STOP_WITHIN_MS = 10_000;
const WALKTHROUGH_MS = 120_000;

const onPath = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
const describeProcs = (procs: Proc[]) => procs.map((p) => `  ${p.pid} ${p.command}`).join('\n');

describe('npm start, as the README tells a newcomer', function () {
  let stack: Stack | undefined;

  before(async function () {
    this.timeout(150_000);
    stack = await startStack();
  });

  after(async function () {
    this.timeout(30_000);
    if (!stack) return;
    // Whatever a test left running is killed: a failure here never leaves processes behind.
    await stack.stop(5_000);
    const leftovers = stack.kill();
    if (leftovers.length > 0) console.error(`killed processes npm start left running:\n${describeProcs(leftovers)}`);
  });

  for (const shell of ['bash', 'zsh'] as Shell[]) {
    it(`the README walkthrough runs as written (${shell})`, async function () {
      this.timeout(WALKTHROUGH_MS + 10_000);
      if (!onPath(shell)) {
        if (process.env.CI === 'true')
          expect.fail(`${shell} is not installed: install it (apt-get install ${shell}) so the README walkthrough is checked in it`);
        this.skip();
      }
      for (const tool of ['curl', 'jq']) expect(onPath(tool), `the walkthrough needs ${tool}: install it`).to.equal(true);

      const steps = parseWalkthrough(readFileSync(path.join(repoRoot, 'README.md'), 'utf8'));
      const nonce = newNonce();
      // The README's commands run from the repository root, where npm start keeps .relais/: a directory
      // holding the repository's files (linked) and this stack's .relais.
      const cwd = mkdtempSync(path.join(os.tmpdir(), 'relais-walkthrough-'));
      for (const entry of readdirSync(repoRoot)) if (entry !== '.relais' && entry !== '.git') symlinkSync(path.join(repoRoot, entry), path.join(cwd, entry));
      symlinkSync(stack!.stateDir, path.join(cwd, '.relais'));
      const file = path.join(cwd, `walkthrough.${shell}`);
      writeFileSync(file, buildScript(steps, shell, nonce));
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        // `node` as a newcomer has it: the one running this test.
        PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
      };
      // The walkthrough must set these itself, from the tokens file.
      for (const name of Object.keys(env)) if (name === 'TOKEN' || name === 'RELAIS_URL' || name.endsWith('_TOKEN')) delete env[name];
      // Nor has a newcomer's shell these: the ops CLI finds the stack from .relais/stack.json, as the README says.
      for (const name of ['MONGO_URL', 'NATS_URL', 'RELAIS_NAMESPACE']) delete env[name];
      const outcome = await runScript(shell, file, cwd, env, WALKTHROUGH_MS);
      const problems = check(steps, outcome, nonce);
      // On failure the script stays, to be read or run again.
      if (problems.length > 0) expect.fail(`${shell} -e ${file}:\n\n${problems.join('\n\n')}`);
      rmSync(cwd, { recursive: true, force: true });
    });
  }

  it(`SIGTERM to npm start stops the whole stack within ${STOP_WITHIN_MS / 1000} s`, async function () {
    this.timeout(STOP_WITHIN_MS + 10_000);
    const running = stack!.processes().filter(alive);
    // The listing must hold the stack itself, or this test would pass on nothing.
    for (const name of ['gateway', 'contacts', 'domiciliation', 'mail', 'notifications', 'exchanges']) {
      // Its sources (<name>/src/main.ts) or its bundle (dist/<name>.js).
      const entry = new RegExp(`\\b${name}(/src/main\\.ts|\\.js)\\b`);
      expect(
        running.some((p) => entry.test(p.command)),
        `no process of npm start runs ${name}:\n${describeProcs(running)}`,
      ).to.equal(true);
    }
    process.kill(stack!.pid, 'SIGTERM');
    const deadline = Date.now() + STOP_WITHIN_MS;
    while (running.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const remaining = running.filter(alive);
    expect(remaining, `still running ${STOP_WITHIN_MS / 1000} s after SIGTERM to npm (pid ${stack!.pid}):\n${describeProcs(remaining)}`).to.deep.equal([]);
  });
});
