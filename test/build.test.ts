// scripts/build.ts into a temporary directory: every bundle must load with plain Node (no tsx) and
// resolve all its imports, which shows as Relais's configuration error when MONGO_URL is unset.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert, expect } from 'chai';
import { build, ENTRIES, type BuildResult } from '../scripts/build';

const root = fileURLToPath(new URL('..', import.meta.url));
// The Node of the `node` devDependency (24), whatever `node` started mocha.
const localNode = path.join(root, 'node_modules/.bin/node');
const nodeBin = existsSync(localNode) ? localNode : process.execPath;

// The ops CLI would look for a running stack: its usage shows that it loaded.
const args: Record<string, string[]> = { relais: ['--help'] };

interface Run {
  code: number | null;
  output: string;
}

function runBundle(file: string, argv: string[]): Promise<Run> {
  // No MONGO_URL or NATS_URL (the test runner sets them) and no NODE_OPTIONS: plain Node, no loader.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  return new Promise((resolve) => {
    execFile(nodeBin, [file, ...argv], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe('npm run build', function () {
  this.timeout(60_000);
  let tmp: string;
  let result: BuildResult;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'relais-build-'));
    // Bare imports in dist/ resolve from ../node_modules, as /app/node_modules does in the image.
    symlinkSync(path.join(root, 'node_modules'), path.join(tmp, 'node_modules'), 'dir');
    result = await build(path.join(tmp, 'dist'));
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('writes one bundle and source map per entry, and the files they read', () => {
    expect(result.bundles).to.deep.equal(Object.keys(ENTRIES).map((name) => `${name}.js`));
    for (const bundle of result.bundles) {
      expect(existsSync(path.join(result.outDir, bundle)), bundle).to.equal(true);
      expect(existsSync(path.join(result.outDir, `${bundle}.map`)), `${bundle}.map`).to.equal(true);
    }
    expect(result.assets).to.include.members(['docs/page.html', 'docs/docs.js']);
  });

  it('bundles the workspace packages and leaves npm packages as imports', () => {
    const gateway = readFileSync(path.join(result.outDir, 'gateway.js'), 'utf8');
    expect(gateway).to.not.match(/from "@relais\//);
    expect(gateway).to.match(/from "express"/);
    expect(result.externals).to.include.members(['express', 'moleculer', 'mongoose']);
  });

  it('imports only production dependencies, which npm ci --omit=dev installs', () => {
    const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    for (const name of result.externals) {
      const entry = lock.packages[`node_modules/${name}`];
      assert.exists(entry, `${name} is not in package-lock.json`);
      expect(entry.dev, `${name} is only a devDependency`).to.not.equal(true);
    }
  });

  it('loads every bundle with plain Node: services stop at the missing MONGO_URL, the CLI shows its usage', async () => {
    const runs = await Promise.all(
      result.bundles.map(async (bundle) => {
        const name = path.basename(bundle, '.js');
        return { bundle, run: await runBundle(path.join(result.outDir, bundle), args[name] ?? []) };
      }),
    );
    for (const { bundle, run } of runs) {
      expect(run.output, bundle).to.not.match(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)|ENOENT/);
      if (bundle === 'relais.js') {
        expect(run.code, `${bundle} exit code\n${run.output}`).to.equal(0);
        expect(run.output, bundle).to.include('usage: npm run relais');
        continue;
      }
      expect(run.code, `${bundle} exit code\n${run.output}`).to.equal(1);
      expect(run.output, bundle).to.include('MONGO_URL');
    }
  });
});
