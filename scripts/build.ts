// `npm run build`: bundles each process entry point into one plain JS file under dist/, so the
// production image runs `node dist/<name>.js` without tsx. The workspace packages (@relais/*) are
// bundled in; every npm package stays external and is resolved from node_modules at run time.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Output name (dist/<name>.js) -> entry point, relative to the repository root. */
export const ENTRIES: Record<string, string> = {
  gateway: 'gateway/src/main.ts',
  contacts: 'services/contacts/src/main.ts',
  domiciliation: 'services/domiciliation/src/main.ts',
  mail: 'services/mail/src/main.ts',
  notifications: 'services/notifications/src/main.ts',
  exchanges: 'services/exchanges/src/main.ts',
  relais: 'scripts/relais.ts',
};

/** The `npm start` launcher: a development tool, never in the image (it can start containers). */
export const LAUNCHER: Record<string, string> = { start: 'scripts/start.ts' };

// Bare imports other than @relais/* stay imports of npm packages. The workspace packages are
// symlinked in node_modules, so `packages: 'external'` alone would leave them out too.
const npmPackagesExternal: esbuild.Plugin = {
  name: 'npm-packages-external',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('@relais/')) return undefined;
      return { path: args.path, external: true };
    });
  },
};

// `new URL('./file', import.meta.url)`: a file read at run time next to the module that reads it.
const assetReference = /new URL\(\s*(['"])(\.\.?\/[^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g;

function lineOf(text: string, index: number): string {
  const end = text.indexOf('\n', index);
  return text.slice(text.lastIndexOf('\n', index) + 1, end < 0 ? undefined : end);
}

/**
 * Files that bundled sources read through `new URL('./…', import.meta.url)` (the gateway's docs
 * page). In a bundle import.meta.url is dist/<name>.js, so each is copied to the same path
 * relative to the output directory. Returns the copied paths, relative to outDir.
 */
function copyAssets(inputs: string[], outDir: string): string[] {
  const copied = new Map<string, string>();
  for (const input of inputs) {
    if (!/\.[cm]?[jt]s$/.test(input)) continue;
    const source = path.join(root, input);
    const text = readFileSync(source, 'utf8');
    const matches = [...text.matchAll(assetReference)];
    // Any other use (a directory, a path built at run time) may not hold in a bundle: look at it, and
    // mark a use that holds from dist/ as well with a `bundle-safe` comment on its line.
    const unchecked = text.split('\n').filter((l) => l.includes('import.meta.url') && !l.includes('bundle-safe'));
    const uses = unchecked.reduce((n, l) => n + l.split('import.meta.url').length - 1, 0);
    if (uses > matches.filter((m) => !lineOf(text, m.index).includes('bundle-safe')).length) {
      console.warn(`build: warning: ${input} uses import.meta.url in a way the build does not check`);
    }
    for (const match of matches) {
      const relative = match[2];
      const from = path.resolve(path.dirname(source), relative);
      const to = path.resolve(outDir, relative);
      if (!to.startsWith(path.resolve(outDir) + path.sep)) {
        throw new Error(`${input} reads ${relative}, which would lie outside ${outDir} in a bundle`);
      }
      if (!existsSync(from)) throw new Error(`${input} reads ${relative}, which does not exist`);
      const earlier = copied.get(to);
      if (earlier !== undefined && earlier !== from) {
        throw new Error(`${from} and ${earlier} would both be copied to ${to}`);
      }
      mkdirSync(path.dirname(to), { recursive: true });
      copyFileSync(from, to);
      copied.set(to, from);
    }
  }
  return [...copied.keys()].map((to) => path.relative(outDir, to)).sort();
}

export interface BuildResult {
  outDir: string;
  bundles: string[];
  /** Files copied next to the bundles, relative to outDir. */
  assets: string[];
  /** The npm packages the bundles import, which node_modules must provide at run time. */
  externals: string[];
}

// 'pino' -> 'pino', 'libphonenumber-js/max' -> 'libphonenumber-js', '@scope/name/sub' -> '@scope/name'.
const packageName = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Builds every entry of `entries` into outDir (emptied first). Throws when an entry is missing. */
export async function build(outDir = path.join(root, 'dist'), entries = ENTRIES): Promise<BuildResult> {
  const missing = Object.values(entries).filter((entry) => !existsSync(path.join(root, entry)));
  if (missing.length > 0) {
    throw new Error(`Cannot build: entry point(s) not found: ${missing.join(', ')}`);
  }
  rmSync(outDir, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: entries,
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    sourcemap: true,
    plugins: [npmPackagesExternal],
    metafile: true,
    logLevel: 'warning',
  });
  // The .js files are ES modules wherever dist/ is copied, whatever package.json is above it.
  writeFileSync(path.join(outDir, 'package.json'), '{ "type": "module" }\n');
  const assets = copyAssets(Object.keys(result.metafile.inputs), outDir);
  const externals = new Set<string>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imported of output.imports) {
      if (imported.external && !isBuiltin(imported.path)) externals.add(packageName(imported.path));
    }
  }
  return { outDir, bundles: Object.keys(entries).map((name) => `${name}.js`), assets, externals: [...externals].sort() };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const t0 = Date.now();
    // `--launcher` (npm start) adds the launcher to the process bundles.
    const args = process.argv.slice(2);
    const launcher = args.includes('--launcher');
    const dir = args.find((a) => !a.startsWith('--'));
    const { outDir, bundles, assets } = await build(dir ? path.resolve(dir) : undefined, launcher ? { ...ENTRIES, ...LAUNCHER } : ENTRIES);
    const rel = path.relative(process.cwd(), outDir) || '.';
    console.error(`build: ${bundles.length} bundles and ${assets.length} asset(s) in ${rel}/ (${Date.now() - t0} ms)`);
  } catch (err) {
    // esbuild has already printed its own errors with their locations.
    console.error(`build: ${(err as Error).message}`);
    process.exit(1);
  }
}
