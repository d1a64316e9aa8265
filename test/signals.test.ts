// A process manager stops `npm test` with SIGTERM, not Ctrl-C: the signal must reach the test runner
// through npm, and nothing the run started (mocha, the services a test spawns) may outlive it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { eventually } from '@relais/testing';
import { alive, descendants, repoRoot } from './support/stack';

const STOP_WITHIN_MS = 10_000;

describe('SIGTERM to npm test', function () {
  this.timeout(120_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'relais-sigterm-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`stops the run and every process it started within ${STOP_WITHIN_MS / 1000} s`, async () => {
    const started = path.join(dir, 'started');
    // A spec that starts a service process, as the crash test starts notification instances, then waits.
    const spec = path.join(dir, 'slow.test.mjs');
    writeFileSync(
      spec,
      `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
describe('slow', function () {
  this.timeout(600_000);
  it('waits', async () => {
    spawn(process.execPath, ['--import', 'tsx', 'services/exchanges/src/main.ts'], {
      stdio: 'ignore',
      env: { ...process.env, RELAIS_NAMESPACE: process.env.RELAIS_TEST_PREFIX + '_sig', LOG_LEVEL: 'fatal', RELAIS_PARENT_PID: String(process.pid) },
    });
    writeFileSync(${JSON.stringify(started)}, 'yes');
    await new Promise((r) => setTimeout(r, 300_000));
  });
});
`,
    );
    const npm = spawn('npm', ['test', '--', spec], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    let output = '';
    npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await eventually(() => existsSync(started), { what: `the spec running under npm test:\n${output}`, timeoutMs: 90_000 });
      const running = descendants(npm.pid!).filter(alive);
      expect(
        running.some((p) => /mocha/.test(p.command)),
        `mocha among npm test's processes:\n${running.map((p) => p.command).join('\n')}`,
      ).to.equal(true);
      expect(
        running.some((p) => /exchanges\/src\/main/.test(p.command)),
        'the service the spec started among them',
      ).to.equal(true);
      process.kill(npm.pid!, 'SIGTERM');
      const deadline = Date.now() + STOP_WITHIN_MS;
      while (running.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const left = running.filter(alive);
      expect(
        left.map((p) => `${p.pid} ${p.command}`),
        'still running after SIGTERM',
      ).to.deep.equal([]);
    } finally {
      for (const p of descendants(npm.pid!)) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      npm.kill('SIGKILL');
    }
  });
});
