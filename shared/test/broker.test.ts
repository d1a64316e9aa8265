import { expect } from 'chai';
import { startNode, testConfig, uniqueNamespace } from '@relais/testing';

describe('broker factory', function () {
  this.timeout(60_000);

  it('stops at once after a call timed out (no context left tracked until the shutdown timeout)', async () => {
    const config = testConfig(uniqueNamespace(), { REQUEST_TIMEOUT_MS: '300' });
    let release: () => void = () => {};
    const slow = await startNode(config, 'slow', [{ name: 'slow', actions: { wait: () => new Promise<void>((resolve) => (release = resolve)) } }]);
    const caller = await startNode(config, 'caller');
    try {
      await caller.waitForServices(['slow'], 10_000);
      const err = await caller.call('slow.wait', {}).then(
        () => null,
        (e: { type?: string }) => e,
      );
      expect(err?.type).to.equal('REQUEST_TIMEOUT');
      await new Promise((r) => setTimeout(r, 400));
      const started = Date.now();
      await caller.stop();
      expect(Date.now() - started).to.be.below(3_000);
    } finally {
      release();
      await slow.stop();
    }
  });
});
