// The ops CLI as ops run it (npm run relais -- <command>): against the run's database and NATS, in a
// namespace of its own; answers are tables and sentences, failures one line and exit code 1.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { repoRoot } from './support/stack';

const localNode = path.join(repoRoot, 'node_modules/.bin/node');
const nodeBin = existsSync(localNode) ? localNode : process.execPath;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('npm run relais (ops CLI)', function () {
  this.timeout(60_000);
  const namespace = `${process.env.RELAIS_TEST_PREFIX ?? 't_local'}_cli`;
  let state: string;

  const relais = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        nodeBin,
        ['--import', 'tsx', 'scripts/relais.ts', ...args],
        { cwd: repoRoot, env: { ...process.env, RELAIS_NAMESPACE: namespace, RELAIS_STATE_DIR: state, ...env }, timeout: 45_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const tokensFile = () => path.join(state, 'demo-tokens.env');
  const envLine = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(readFileSync(tokensFile(), 'utf8'))?.[1];

  before(() => {
    state = mkdtempSync(path.join(os.tmpdir(), 'relais-cli-'));
  });
  after(() => rmSync(state, { recursive: true, force: true }));

  it('demo writes the tokens file (0600) and keeps its tokens on the next run', async () => {
    const first = await relais(['demo', '--tokens-file', tokensFile()]);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout)
      .to.match(/^RELAIS_URL=http/m)
      .and.match(/^ADMIN_TOKEN=rl_/m)
      .and.match(/^AGENT_TOKEN=rl_/m);
    expect(readFileSync(tokensFile(), 'utf8')).to.equal(first.stdout);
    expect((statSync(tokensFile()).mode & 0o777).toString(8)).to.equal('600');
    const second = await relais(['demo', '--tokens-file', tokensFile()]);
    expect(second.stdout).to.equal(first.stdout);
    expect(second.stderr).to.include('4 of 4 tokens kept');
  });

  it('lists orgs, users and live tokens, and revokes one', async () => {
    const orgs = await relais(['orgs']);
    expect(orgs.stdout)
      .to.match(/^id\s+name\s+region\s+time zone\s+created$/m)
      .and.include('CCAS Demo');
    const users = await relais(['users', 'CCAS Demo']);
    for (const role of ['admin', 'manager', 'caseworker', 'agent']) expect(users.stdout).to.include(`${role}@demo.relais.test`);
    const tokens = await relais(['tokens', 'CCAS Demo', 'agent@demo.relais.test']);
    const rows = tokens.stdout.trim().split('\n').slice(1);
    expect(rows, tokens.stdout).to.have.length(1);
    const tokenId = rows[0].split(/\s+/)[0];
    const revoked = await relais(['tokens', 'revoke', 'CCAS Demo', tokenId]);
    expect(revoked.code, revoked.stderr).to.equal(0);
    expect(revoked.stdout).to.include(`token ${tokenId} ("demo") revoked`);
    expect((await relais(['tokens', 'CCAS Demo', 'agent@demo.relais.test'])).stdout.trim()).to.equal('no live tokens');
    // The next demo run replaces the revoked token, and only that one.
    const before = envLine('ADMIN_TOKEN');
    const again = await relais(['demo', '--tokens-file', tokensFile()]);
    expect(again.stderr).to.include('3 of 4 tokens kept');
    expect(envLine('ADMIN_TOKEN')).to.equal(before);
  });

  it('lists dead letters (none here) and refuses a bad sequence number', async () => {
    expect((await relais(['dlq', 'list'])).stdout.trim()).to.equal('no dead letters');
    const bad = await relais(['dlq', 'replay', 'x']);
    expect(bad.code).to.equal(1);
    expect(bad.stderr.trim()).to.equal('relais: Not a positive whole number: x');
  });

  it('answers with one sentence, not a stack trace, when the org or the stack is not there', async () => {
    const unknown = await relais(['users', 'Nobody']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr.trim()).to.equal('relais: No org with the id or name "Nobody" (npm run relais -- orgs lists them).');
    const noDb = await relais(['orgs'], { MONGO_URL: 'mongodb://127.0.0.1:1' });
    expect(noDb.code).to.equal(1);
    expect(noDb.stderr.trim()).to.equal(
      'relais: No database answers at mongodb://127.0.0.1:1. Is the stack running? Start it with npm start, or set MONGO_URL.',
    );
    const noNats = await relais(['dlq', 'list'], { NATS_URL: 'nats://127.0.0.1:1' });
    expect(noNats.stderr.trim()).to.match(/^relais: No NATS server answers at nats:\/\/127\.0\.0\.1:1\. /);
    const usage = await relais(['bogus']);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.include('unknown command "bogus"').and.include('usage: npm run relais');
  });
});
