import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The gateway imports each service's src/api.ts for its routes and OpenAPI document: it must be a
 * pure contract, zod schemas and the vocabulary and helpers they are built from (the service's
 * src/contract/*.ts), so that the gateway loads no domain, data, action, engine or provider code
 * and no package but zod and @relais/shared.
 *
 * The walk reads each file's import and re-export statements (and dynamic imports) and follows
 * the relative ones. Choice for type-only statements (`import type`, `export type ... from`):
 * they are erased at run time, so a type-only import of a package is allowed; but the walk still
 * follows type-only relative imports, and no file it reaches may lie under a forbidden folder of
 * src/: the contract describes the API, and the domain builds on it, not the reverse.
 * An import with inline `type` specifiers only (`import { type A } from 'x'`) counts as a value
 * import: some settings (verbatimModuleSyntax) keep it as `import 'x'`.
 */

const SERVICES_DIR = fileURLToPath(new URL('../services/', import.meta.url));
const ALLOWED_PACKAGES = ['zod', '@relais/shared'];
const FORBIDDEN_DIRS = ['domain', 'data', 'actions', 'engine', 'providers', 'delivery', 'planning', 'sending', 'settings'];

/**
 * Every service with an api.ts, and contract files its walk must reach: proof that the walk did
 * follow the contract (api.ts gathers the contract files, which reach the vocabulary and helpers).
 */
const SERVICES: Record<string, string[]> = {
  contacts: ['contract/channels.ts', 'contract/settings.ts', 'contract/vocabulary.ts', 'contract/parsing.ts'],
  domiciliation: [],
  mail: [],
  notifications: ['contract/settings.ts', 'contract/vocabulary.ts'],
  exchanges: [],
};

interface Import {
  specifier: string;
  typeOnly: boolean;
}

interface Walk {
  /** Every file reached, relative to the root. */
  files: string[];
  /** "file: why" for each rule broken. */
  problems: string[];
}

// `import x from`, `import { a } from`, `import * as n from`, `import './side-effect'`, `export * from`, `export { a } from`,
// with `type` after the keyword for type-only statements; a statement may span lines. Anchored to a line start, so text
// in strings or comments that says "import" is not read as a statement.
const STATIC_IMPORT = /^[ \t]*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(source: string): Import[] {
  const found: Import[] = [];
  for (const m of source.matchAll(STATIC_IMPORT)) {
    // `import type X = require(...)` and `export type X = ...` are not module imports: the regex needs `from` or a quote.
    found.push({ specifier: m[3], typeOnly: m[2] !== undefined });
  }
  for (const m of source.matchAll(DYNAMIC_IMPORT)) found.push({ specifier: m[1], typeOnly: false });
  return found;
}

/** The file a relative specifier names, as the bundler resolves it (extensionless, .js written for .ts, or a folder's index). */
function resolve(from: string, specifier: string): string | null {
  const base = path.resolve(path.dirname(from), specifier);
  const candidates = [base, `${base}.ts`, `${base}.tsx`, `${base}.d.ts`, base.replace(/\.js$/, '.ts'), path.join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile()) ?? null;
}

const packageName = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Every file reachable from `entry` through relative imports, and what breaks the contract's rules under `root`. */
function walkContract(root: string, entry: string): Walk {
  const seen = new Set<string>();
  const problems: string[] = [];
  const queue = [path.resolve(root, entry)];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const rel = path.relative(root, file);
    const top = rel.split(path.sep)[0];
    if (rel.startsWith('..') || path.isAbsolute(rel)) problems.push(`${rel}: outside src/`);
    else if (FORBIDDEN_DIRS.includes(top)) problems.push(`${rel}: under src/${top}`);
    for (const { specifier, typeOnly } of importsOf(readFileSync(file, 'utf8'))) {
      if (specifier.startsWith('.')) {
        const target = resolve(file, specifier);
        if (target) queue.push(target);
        else problems.push(`${rel}: cannot resolve '${specifier}'`);
      } else if (!typeOnly && !ALLOWED_PACKAGES.includes(packageName(specifier))) {
        problems.push(`${rel}: imports the package '${specifier}'`);
      }
    }
  }
  return { files: [...seen].map((f) => path.relative(root, f)).sort(), problems };
}

describe('the service contracts (services/*/src/api.ts)', () => {
  it('covers every service with an api.ts', () => {
    const withApi = readdirSync(SERVICES_DIR).filter((name) => existsSync(path.join(SERVICES_DIR, name, 'src/api.ts')));
    expect(withApi.sort()).to.deep.equal(Object.keys(SERVICES).sort());
  });

  for (const [service, reached] of Object.entries(SERVICES)) {
    it(`${service}: reaches only its contract files, no ${FORBIDDEN_DIRS.join(', ')} file and no package but zod and @relais/shared`, () => {
      const { files, problems } = walkContract(path.join(SERVICES_DIR, service, 'src'), 'api.ts');
      expect(problems).to.deep.equal([]);
      expect(files).to.include.members(['api.ts', ...reached.map((f) => f.split('/').join(path.sep))]);
      expect(files.every((f) => f === 'api.ts' || f.startsWith(`contract${path.sep}`))).to.equal(true, files.join(', '));
    });
  }

  it('the walk catches what it must: multi-line, re-exported, type-only and dynamic imports, in every forbidden folder', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'contract-purity-'));
    try {
      const write = (file: string, text: string) => {
        mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        writeFileSync(path.join(root, file), text);
      };
      write(
        'api.ts',
        [
          "import { z } from 'zod';",
          "import type { Route } from '@relais/shared';",
          "import type { Readable } from 'node:stream';",
          'import {',
          '  a,',
          '  b,',
          "} from './contract/a';",
          "export * from './contract/b';",
          'const description = \'an import of the register from "../domain/nothing"\';',
        ].join('\n'),
      );
      write('contract/a.ts', "import type { Doc } from '../domain/doc';\nexport const a = 1;\nexport const b = 2;\n");
      write('contract/b.ts', "import mongoose from 'mongoose';\nexport const load = () => import('../data/repo');\nexport { thing } from './missing';\n");
      write('domain/doc.ts', 'export interface Doc { id: string }\n');
      write('data/repo.ts', "import { helper } from '../actions/helper';\nexport const repo = helper;\n");
      write('actions/helper.ts', "export { helper } from '../engine/loop';\n");
      write('engine/loop.ts', "import '../providers/sms';\nexport const helper = 1;\n");
      write('providers/sms.ts', 'export {};\n');

      const { files, problems } = walkContract(root, 'api.ts');
      expect(files).to.deep.equal(
        ['actions/helper.ts', 'api.ts', 'contract/a.ts', 'contract/b.ts', 'data/repo.ts', 'domain/doc.ts', 'engine/loop.ts', 'providers/sms.ts'].map((f) =>
          f.split('/').join(path.sep),
        ),
      );
      expect(problems.map((p) => p.split(path.sep).join('/')).sort()).to.deep.equal([
        'actions/helper.ts: under src/actions',
        "contract/b.ts: cannot resolve './missing'",
        "contract/b.ts: imports the package 'mongoose'",
        'data/repo.ts: under src/data',
        'domain/doc.ts: under src/domain',
        'engine/loop.ts: under src/engine',
        'providers/sms.ts: under src/providers',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
