import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = new URL('../src/', import.meta.url).pathname;

/** The files of the ledger that hold its collections: nothing outside delivery/ may import them. */
const INSIDE = /from '\.\/(rows|results|lots)'/;

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));

describe('notifications: the delivery ledger is the one owner of delivery state', () => {
  it('no source outside delivery/ imports its rows, results or lots: they go through ledger.ts', () => {
    const offenders = sources(SRC)
      .filter((f) => !relative(SRC, f).startsWith('delivery/'))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .filter((line) => line.startsWith('import') && /delivery\/(rows|results|lots)'/.test(line))
          .map((line) => `${relative(SRC, f)}: ${line}`),
      );
    expect(offenders).to.deep.equal([]);
  });

  it("the ledger's collections are reached from ledger.ts alone inside delivery/", () => {
    const dir = join(SRC, 'delivery');
    const offenders = readdirSync(dir)
      .filter((f) => !['ledger.ts', 'rows.ts', 'results.ts', 'lots.ts'].includes(f))
      .flatMap((f) =>
        readFileSync(join(dir, f), 'utf8')
          .split('\n')
          .filter((line) => line.startsWith('import') && INSIDE.test(line))
          .map((line) => `${f}: ${line}`),
      );
    expect(offenders).to.deep.equal([]);
  });
});
