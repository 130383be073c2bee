/**
 * Revocations: persisted in the store, mirrored in memory so every check is synchronous (SPEC §4:
 * checked right before a socket is registered, after the last `await`, so a revocation cannot
 * slip between check and registration). Listeners close live sockets the moment one is added.
 */
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
  /** Persists a revocation, then tells every listener (which close live sockets). */
  revoke(kind: RevocationKind, target: string, actor: string, now: number): Promise<boolean>;
  onRevoke(listener: RevocationListener): () => void;
  readonly size: number;
}

/** Loads every stored revocation and returns the in-memory mirror. */
export async function loadRevocations(store: Store): Promise<Revocations> {
  // Bounded by what admins revoke, never by client input.
  const sets: Record<RevocationKind, Set<string>> = {
    jti: new Set(),
    site: new Set(),
    visitor: new Set(),
  };
  for (const revocation of await store.listRevocations()) {
    sets[revocation.kind].add(revocation.target);
  }
  const listeners = new Set<RevocationListener>();

  return {
    assertNotRevoked({ jti, siteJti, siteId, visitorId }) {
      // Site first: the broadest reason is the one a visitor is told.
      if (siteId !== undefined && sets.site.has(siteId)) {
        throw new PosternError(ErrorCode.SITE_REVOKED, 'site revoked');
      }
      if (siteJti !== undefined && sets.jti.has(siteJti)) {
        throw new PosternError(ErrorCode.SITE_REVOKED, 'site token revoked');
      }
      if (visitorId !== undefined && sets.visitor.has(visitorId)) {
        throw new PosternError(ErrorCode.VISITOR_REVOKED, 'visitor revoked');
      }
      if (jti !== undefined && sets.jti.has(jti)) {
        throw new PosternError(ErrorCode.TOKEN_REVOKED, 'token revoked');
      }
    },
    async revoke(kind, target, actor, now) {
      const revocation: Revocation = { kind, target, revokedAt: now, actor };
      const added = await store.addRevocation(revocation);
      // Mirror even when it already existed, so the memory never lags the store.
      sets[kind].add(target);
      for (const listener of listeners) listener(revocation);
      return added;
    },
    onRevoke(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get size() {
      return sets.jti.size + sets.site.size + sets.visitor.size;
    },
  };
}
