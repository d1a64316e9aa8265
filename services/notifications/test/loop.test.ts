import { expect } from 'chai';
import { startLoop } from '../src/loop';

describe('background loop', () => {
  const log = { error: () => undefined };

  it('waits its interval when idle, and runs at once when woken', async () => {
    const passes: number[] = [];
    const t0 = Date.now();
    const pass = () => {
      passes.push(Date.now() - t0);
      return Promise.resolve();
    };
    const loop = startLoop('test', pass, 60_000, log);
    await new Promise((r) => setTimeout(r, 50));
    expect(passes).to.have.length(1); // the first pass, then a 60 s wait
    loop.wake();
    await new Promise((r) => setTimeout(r, 50));
    expect(passes).to.have.length(2);
    await loop.stop();
  });

  it('a wake during a pass makes the next pass follow at once', async () => {
    let passes = 0;
    let release: () => void = () => undefined;
    const loop = startLoop(
      'test',
      async () => {
        passes++;
        if (passes === 1) await new Promise<void>((r) => (release = r));
      },
      60_000,
      log,
    );
    await new Promise((r) => setTimeout(r, 20));
    loop.wake(); // during the first pass
    release();
    await new Promise((r) => setTimeout(r, 50));
    expect(passes).to.equal(2);
    await loop.stop();
  });

  it('runs when work falls due, before its interval is over', async () => {
    const passes: number[] = [];
    const t0 = Date.now();
    let dueAt: number | null = t0 + 150;
    const pass = () => {
      passes.push(Date.now() - t0);
      return Promise.resolve();
    };
    const loop = startLoop('test', pass, 60_000, log, {
      waitAtMost: () => {
        const due = dueAt;
        dueAt = null; // nothing more due after this one
        return due === null ? null : due - Date.now();
      },
    });
    await new Promise((r) => setTimeout(r, 400));
    expect(passes).to.have.length(2);
    expect(passes[1]).to.be.within(140, 350);
    await loop.stop();
  });
});
