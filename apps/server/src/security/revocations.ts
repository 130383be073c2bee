/**
 * Revocations: persisted in the store, mirrored in memory so every check is synchronous (SPEC §4:
 * checked right before a socket is registered, after the last `await`, so a revocation cannot
 * slip between check and registration). Listeners close live sockets the moment one is added.
 */
import { LRUCache } from 'lru-cache';
import { ErrorCode, PosternError } from '../errors.js';
import type { Revocation, RevocationKind, Store } from '../store/types.js';

/** What a credential is bound to; any revoked part revokes the whole. */
export interface CredentialRefs {
  /** The presented token's own `jti`. */
  readonly jti?: string;
  /** The minting site token's `jti` (`sjti` of a visitor token). */
  readonly siteJti?: string;
  readonly siteId?: string;
  readonly visitorId?: string;
}

export type RevocationListener = (revocation: Revocation) => void;

export interface Revocations {
  /** Throws the matching `PosternError` when any part of the credential is revoked. */
  assertNotRevoked(refs: CredentialRefs): void;
  /**
   * Persists a revocation, mirrors it in memory, then tells every listener (which close live
   * sockets). Rejects with the first listener error after all listeners ran.
   */
  revoke(
    kind: RevocationKind,
    target: string,
    actor: string,
    now: number,
    expiresAt?: number,
  ): Promise<boolean>;
  onRevoke(listener: RevocationListener): () => void;
  readonly size: number;
}

/**
 * Expiring revocations kept at most: they are made automatically (refresh-token reuse), so their
 * number follows client behaviour; an evicted one would have lapsed within minutes anyway.
 */
export const EXPIRING_REVOCATIONS_MAX = 100_000;

/** Loads every revocation still in force and returns the in-memory mirror. */
export async function loadRevocations(
  store: Store,
  now: () => number = Date.now,
): Promise<Revocations> {
  // Permanent ones are bounded by what admins revoke, never by client input.
  const sets: Record<RevocationKind, Set<string>> = {
    jti: new Set(),
    site: new Set(),
    visitor: new Set(),
  };
  // Expiring ones: `kind:target` → when it lapses; bounded whatever clients do.
  const expiring = new LRUCache<string, number>({ max: EXPIRING_REVOCATIONS_MAX });
  const mirror = ({ kind, target, expiresAt }: Revocation) => {
    if (expiresAt === undefined) sets[kind].add(target);
    else
      expiring.set(
        `${kind}:${target}`,
        Math.max(expiresAt, expiring.get(`${kind}:${target}`) ?? 0),
      );
  };
  const has = (kind: RevocationKind, target: string): boolean => {
    if (sets[kind].has(target)) return true;
    const until = expiring.get(`${kind}:${target}`);
    if (until === undefined) return false;
    if (until > now()) return true;
    expiring.delete(`${kind}:${target}`);
    return false;
  };
  for (const revocation of await store.listRevocations(now())) mirror(revocation);
  const listeners = new Set<RevocationListener>();

  return {
    assertNotRevoked({ jti, siteJti, siteId, visitorId }) {
      // Site first: the broadest reason is the one a visitor is told.
      if (siteId !== undefined && has('site', siteId)) {
        throw new PosternError(ErrorCode.SITE_REVOKED, 'site revoked');
      }
      if (siteJti !== undefined && has('jti', siteJti)) {
        throw new PosternError(ErrorCode.SITE_REVOKED, 'site token revoked');
      }
      if (visitorId !== undefined && has('visitor', visitorId)) {
        throw new PosternError(ErrorCode.VISITOR_REVOKED, 'visitor revoked');
      }
      if (jti !== undefined && has('jti', jti)) {
        throw new PosternError(ErrorCode.TOKEN_REVOKED, 'token revoked');
      }
    },
    async revoke(kind, target, actor, at, expiresAt) {
      const revocation: Revocation = {
        kind,
        target,
        revokedAt: at,
        actor,
        ...(expiresAt === undefined ? {} : { expiresAt }),
      };
      const added = await store.addRevocation(revocation);
      // Mirror even when it already existed, so the memory never lags the store.
      mirror(revocation);
      // Every listener runs even if one throws: one failing consumer must not leave the sockets
      // of another open. The first error is then rethrown (the revocation itself stands).
      const failures: unknown[] = [];
      for (const listener of listeners) {
        try {
          listener(revocation);
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
      return added;
    },
    onRevoke(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get size() {
      return sets.jti.size + sets.site.size + sets.visitor.size + expiring.size;
    },
  };
}
