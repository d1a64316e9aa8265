import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'rl_';
// 32 random bytes in base64url without padding are 43 characters.
const TOKEN_PATTERN = /^rl_[A-Za-z0-9_-]{43}$/;

/** A new API token; only its hash is stored, the plain value is shown to the caller once. */
export function newToken(): { token: string; hash: string } {
  const token = PREFIX + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Rejects malformed values before any lookup, so garbage never costs a database read. */
export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** The credentials of an `Authorization: Bearer <token>` header, or undefined when absent or not Bearer. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/** Constant-time comparison of two secrets of any length (both are hashed first). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
