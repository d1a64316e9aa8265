import { hashToken, isWellFormedToken } from './tokens';
import type { GatewayStore, Principal } from './store';

interface Entry {
  principal: Principal | null;
  expiresAt: number;
}

export interface VerifierOptions {
  /** How long a lookup result is reused; 0 disables the cache. */
  ttlMs: number;
  /** Bound on memory: the oldest entries are dropped first. */
  maxEntries?: number;
  /** Called after a successful lookup, off the request path (lastUsedAt bookkeeping). */
  onVerified?: (principal: Principal) => void;
}

/**
 * Verifies bearer tokens with a short in-memory cache, so the hot path reads the
 * database at most once per token per TTL. Consequence, on purpose: a token revoked
 * or a user disabled or re-roled through another gateway instance (or directly in the
 * database) keeps working here for at most `ttlMs`. Changes made through this instance
 * are forgotten at once (forgetToken / forgetUser).
 *
 * Unknown tokens are cached too, in a smaller map of their own: a client retrying a bad token
 * costs one read per TTL, and a flood of random tokens cannot evict the valid ones.
 */
export class TokenVerifier {
  private readonly cache = new Map<string, Entry>();
  private readonly unknown = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Principal | null>>();
  private readonly maxEntries: number;
  // Bumped by every forget*: a lookup that started before it may have read stale data and is not cached.
  private generation = 0;

  constructor(
    private readonly store: Pick<GatewayStore, 'principalFor'>,
    private readonly options: VerifierOptions,
  ) {
    this.maxEntries = options.maxEntries ?? 10_000;
  }

  async verify(token: string, now = Date.now()): Promise<Principal | null> {
    if (!isWellFormedToken(token)) return null;
    const hash = hashToken(token);
    for (const map of [this.cache, this.unknown]) {
      const hit = map.get(hash);
      if (hit && hit.expiresAt > now) return hit.principal;
      if (hit) map.delete(hash);
    }

    // Concurrent first requests with the same token share one lookup.
    let lookup = this.pending.get(hash);
    if (!lookup) {
      const generation = this.generation;
      lookup = this.store.principalFor(hash).finally(() => this.pending.delete(hash));
      this.pending.set(hash, lookup);
      lookup.then(
        (principal) => {
          if (generation === this.generation) this.remember(hash, principal);
          if (principal) this.options.onVerified?.(principal);
        },
        () => {}, // errors are not cached; the caller sees them
      );
    }
    return lookup;
  }

  forgetToken(tokenId: string): void {
    this.generation++;
    for (const [hash, entry] of this.cache) if (entry.principal?.tokenId === tokenId) this.cache.delete(hash);
  }

  forgetUser(userId: string): void {
    this.generation++;
    for (const [hash, entry] of this.cache) if (entry.principal?.auth.userId === userId) this.cache.delete(hash);
    // A re-enabled user's tokens may sit among the unknown ones, which carry no user id.
    this.unknown.clear();
  }

  private remember(hash: string, principal: Principal | null): void {
    if (this.options.ttlMs <= 0) return;
    const [map, max] = principal ? [this.cache, this.maxEntries] : [this.unknown, Math.ceil(this.maxEntries / 10)];
    // Map keeps insertion order: the first keys are the oldest.
    while (map.size >= max) map.delete(map.keys().next().value!);
    map.set(hash, { principal, expiresAt: Date.now() + this.options.ttlMs });
  }
}
