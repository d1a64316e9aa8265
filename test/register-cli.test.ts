// `npm run relais -- register import <file>` as ops run it, against the run's database in a namespace of its own.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { repoRoot } from './support/stack';

const localNode = path.join(repoRoot, 'node_modules/.bin/node');
const nodeBin = existsSync(localNode) ? localNode : process.execPath;
const SAMPLE = path.join(repoRoot, 'services/contacts/test/fixtures/gels-avoirs-sample.json');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('npm run relais -- register import', function () {
  this.timeout(60_000);
  const namespace = `${process.env.RELAIS_TEST_PREFIX ?? 't_local'}_register`;
  let state: string;

  const relais = (args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      execFile(
        nodeBin,
        ['--import', 'tsx', 'scripts/relais.ts', ...args],
        { cwd: repoRoot, env: { ...process.env, RELAIS_NAMESPACE: namespace, RELAIS_STATE_DIR: state }, timeout: 45_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  before(() => {
    state = mkdtempSync(path.join(os.tmpdir(), 'relais-register-'));
  });
  after(() => rmSync(state, { recursive: true, force: true }));

  it('imports a publication, says its date and count, and changes nothing the second time', async () => {
    const first = await relais(['register', 'import', SAMPLE]);
    expect(first, first.stderr).to.deep.include({ code: 0 });
    expect(first.stdout).to.equal('register: publication of 2026-04-30T15:05:12.347Z imported, 20 entries\n');
    const again = await relais(['register', 'import', SAMPLE]);
    expect(again.stdout).to.equal('register: publication of 2026-04-30T15:05:12.347Z already imported (20 entries), nothing changed\n');
  });

  it('replaces it with a newer publication, refuses an older one and a file of another shape, in one line each', async () => {
    const newer = JSON.parse(readFileSync(SAMPLE, 'utf8')) as { Publications: { DatePublication: string } };
    newer.Publications.DatePublication = '2026-05-07T17:00:00+02:00';
    const file = path.join(state, 'newer.json');
    writeFileSync(file, JSON.stringify(newer));
    const replaced = await relais(['register', 'import', file]);
    expect(replaced.stdout).to.equal(
      'register: publication of 2026-05-07T15:00:00.000Z imported, 20 entries; it replaces the publication of 2026-04-30T15:05:12.347Z (20 entries)\n',
    );
    const older = await relais(['register', 'import', SAMPLE]);
    expect(older).to.deep.include({ code: 1, stdout: '' });
    expect(older.stderr).to.match(/^relais: .*older than the current one.*not imported\n$/);
    const wrong = await relais(['register', 'import', path.join(repoRoot, 'package.json')]);
    expect(wrong.code).to.equal(1);
    expect(wrong.stderr).to.match(/^relais: .*not a register publication/);
  });
});
