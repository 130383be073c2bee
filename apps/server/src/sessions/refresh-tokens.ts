/**
 * Refresh tokens: opaque, 256 random bits, stored only as SHA-256 hashes (a database leak yields
 * no usable token). A rotation's successor is derived, not random — HMAC(key, old token) — so a
 * token presented again within the grace window yields the very same successor without the
 * server ever storing a usable token.
 */
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** Prefix that makes leaked tokens recognisable to secret scanners. */
const PREFIX = 'prt_';
const TOKEN_PATTERN = /^prt_[A-Za-z0-9_-]{43}$/;

export interface RefreshTokenKit {
  /** A fresh token for a new family. */
  generate(): string;
  /** The successor of `token` (deterministic for a given key). */
  successorOf(token: string): string;
  hash(token: string): Uint8Array;
  /** Cheap shape check before any lookup: anything else is `refresh_invalid` at once. */
  isWellFormed(token: unknown): token is string;
}

/**
 * @param secret the visitor-token secret; a separate key is derived from it (HKDF, RFC 5869) so
 *   the same bytes never serve two purposes.
 */
export function createRefreshTokenKit(secret: Uint8Array): RefreshTokenKit {
  const key = Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), 'postern refresh v1', 32));
  return {
    generate: () => PREFIX + randomBytes(32).toString('base64url'),
    successorOf: (token) => PREFIX + createHmac('sha256', key).update(token).digest('base64url'),
    hash: (token) => new Uint8Array(createHash('sha256').update(token).digest()),
    isWellFormed: (token): token is string =>
      typeof token === 'string' && TOKEN_PATTERN.test(token),
  };
}
