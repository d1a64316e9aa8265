import { expect } from 'chai';
import type { Principal } from '../src/auth/store';
import { hashToken, newToken } from '../src/auth/tokens';
import { TokenVerifier } from '../src/auth/verifier';

const principal = (tokenId: string, userId = 'u1'): Principal => ({
  auth: { userId, orgId: 'o1', role: 'agent' },
  org: { region: 'FR', timeZone: 'Europe/Paris' },
  tokenId,
});

/** A store that answers from a map and counts its lookups. */
function fakeStore(known: Map<string, Principal>, delayMs = 0) {
  const store = {
    lookups: 0,
    async principalFor(hash: string) {
      store.lookups++;
      // Reads now, answers later: like a database reply still in flight.
      const found = known.get(hash) ?? null;
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return found;
    },
  };
  return store;
}

describe('token verifier cache', function () {
  this.timeout(5_000);
  const a = newToken();
  const known = () => new Map([[a.hash, principal('t1')]]);

  it('reads the store once per token per TTL, then again after it', async () => {
    const store = fakeStore(known());
    const verifier = new TokenVerifier(store, { ttlMs: 1_000 });
    const now = Date.now();
    expect(await verifier.verify(a.token, now)).to.deep.equal(principal('t1'));
    expect(await verifier.verify(a.token, now + 500)).to.deep.equal(principal('t1'));
    expect(store.lookups).to.equal(1);
    await verifier.verify(a.token, now + 2_000);
    expect(store.lookups).to.equal(2);
  });

  it('never looks up a malformed token, and shares one lookup between concurrent requests', async () => {
    const store = fakeStore(known(), 20);
    const verifier = new TokenVerifier(store, { ttlMs: 1_000 });
    expect(await verifier.verify('rl_short')).to.equal(null);
    expect(store.lookups).to.equal(0);
    const results = await Promise.all(Array.from({ length: 10 }, () => verifier.verify(a.token)));
    expect(results.every((r) => r?.tokenId === 't1')).to.equal(true);
    expect(store.lookups).to.equal(1);
  });

  it('caches unknown tokens without evicting known ones', async () => {
    const store = fakeStore(known());
    const verifier = new TokenVerifier(store, { ttlMs: 60_000, maxEntries: 10 });
    await verifier.verify(a.token);
    for (let i = 0; i < 50; i++) await verifier.verify(newToken().token);
    const before = store.lookups;
    await verifier.verify(a.token);
    expect(store.lookups).to.equal(before);
  });

  it('forgets a revoked token or a changed user at once, and does not cache a lookup that raced the change', async () => {
    const map = known();
    const store = fakeStore(map, 20);
    const verifier = new TokenVerifier(store, { ttlMs: 60_000 });
    await verifier.verify(a.token);
    map.delete(a.hash);
    verifier.forgetToken('t1');
    expect(await verifier.verify(a.token)).to.equal(null);

    map.set(a.hash, principal('t1'));
    verifier.forgetUser('u1');
    const racing = verifier.verify(a.token); // reads the old state...
    map.delete(a.hash);
    verifier.forgetUser('u1'); // ...while the user changes
    expect(await racing).to.not.equal(null);
    expect(await verifier.verify(a.token)).to.equal(null);
  });

  it('with a TTL of 0 reads the store on every request', async () => {
    const store = fakeStore(known());
    const verifier = new TokenVerifier(store, { ttlMs: 0 });
    await verifier.verify(a.token);
    await verifier.verify(a.token);
    expect(store.lookups).to.equal(2);
    expect(hashToken(a.token)).to.equal(a.hash);
  });
});
