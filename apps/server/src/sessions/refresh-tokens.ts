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
  /**
   * The successor `token` got under the previous visitor key (`POSTERN_SECRET_PREVIOUS`), or
   * `null` outside a rotation: a token rotated just before the restart that changed the key is
   * still within its grace window, and must get the same successor back, not count as reused.
   */
  previousSuccessorOf(token: string): string | null;
  hash(token: string): Uint8Array;
  /** Cheap shape check before any lookup: anything else is `refresh_invalid` at once. */
  isWellFormed(token: unknown): token is string;
}

/** The successor-derivation key of a visitor secret. */
function successorKey(secret: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, new Uint8Array(0), 'postern refresh v1', 32));
}

/**
 * @param secret the visitor-token secret; a separate key is derived from it (HKDF, RFC 5869) so
 *   the same bytes never serve two purposes.
 * @param previous the visitor secret being rotated out, if any (never derives new successors).
 */
export function createRefreshTokenKit(secret: Uint8Array, previous?: Uint8Array): RefreshTokenKit {
  const key = successorKey(secret);
  const previousKey = previous === undefined ? null : successorKey(previous);
  const successor = (derivationKey: Buffer, token: string) =>
    PREFIX + createHmac('sha256', derivationKey).update(token).digest('base64url');
  return {
    generate: () => PREFIX + randomBytes(32).toString('base64url'),
    successorOf: (token) => successor(key, token),
    previousSuccessorOf: (token) => (previousKey === null ? null : successor(previousKey, token)),
    hash: (token) => new Uint8Array(createHash('sha256').update(token).digest()),
    isWellFormed: (token): token is string =>
      typeof token === 'string' && TOKEN_PATTERN.test(token),
  };
}
