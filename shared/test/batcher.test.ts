import { expect } from 'chai';
import { Batcher, chunks } from '../src';

describe('Batcher (group commit)', () => {
  it('writes concurrent items together and gives each caller its own outcome', async () => {
    const writes: number[][] = [];
    const b = new Batcher<number, number>(
      (items) => {
        writes.push(items);
        return Promise.resolve(items.map((i) => (i === 3 ? new Error('bad 3') : i * 10)));
      },
      { maxItems: 10, maxWaitMs: 5 },
    );
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => b.add(i)));
    expect(writes).to.deep.equal([[1, 2, 3, 4]]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).to.deep.equal([10, 20, 'bad 3', 40]);
  });

  it('splits at maxItems; a failed write is retried item by item, so only the bad item fails', async () => {
    const sizes: number[] = [];
    const b = new Batcher<number, number>(
      (items) => {
        sizes.push(items.length);
        if (items.includes(13)) return Promise.reject(new Error('cannot store 13'));
        return Promise.resolve(items);
      },
      { maxItems: 5, maxWaitMs: 5 },
    );
    const results = await Promise.allSettled(Array.from({ length: 15 }, (_, i) => b.add(i)));
    expect(sizes.slice(0, 3).every((s) => s <= 5)).to.equal(true);
    // The batch holding 13 failed as a whole, then its five items were written alone.
    expect(sizes.filter((s) => s === 1)).to.have.length(5);
    const rejected = results.flatMap((r, i) => (r.status === 'rejected' ? [[i, (r.reason as Error).message]] : []));
    expect(rejected).to.deep.equal([[13, 'cannot store 13']]);
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => r.value)).to.have.length(14);
  });

  it('chunks lists', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).to.deep.equal([[1, 2], [3, 4], [5]]);
  });
});
