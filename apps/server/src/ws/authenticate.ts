/**
 * The `auth` frame of each endpoint (SPEC §4): verify the token, bind it to the connection's
 * origin, resolve the dialog. Everything async happens here; the final revocation check and the
 * registration happen synchronously afterwards, in the connection.
 */
import type { AuthFrame } from '@postern/protocol';
import { ErrorCode, PosternError } from '../errors.js';
import type { CredentialRefs } from '../security/revocations.js';
import type { TokenService } from '../security/tokens.js';
import type { SiteAccess } from '../sessions/site-access.js';
import type { DialogRecord, Store } from '../store/types.js';

/** Who a socket belongs to once `auth` succeeded. */
export type Identity =
  | {
      readonly kind: 'visitor';
      readonly jti: string;
      readonly expiresAt: number;
      readonly visitorId: string;
      readonly siteId: string;
      readonly siteJti: string;
      readonly origin: string;
      /** The minting site token's `assistant_id`, handed to the assistant. */
      readonly assistantId: string;
      readonly dialog: DialogRecord;
      /** The client asked to resume a dialog that has closed since. */
      readonly resumedClosed: boolean;
    }
  | {
      readonly kind: 'operator';
      readonly jti: string;
      readonly expiresAt: number;
      readonly operatorId: string;
      readonly name: string;
      readonly sites: readonly string[] | '*';
      readonly scope: readonly string[];
    };

export interface AuthDeps {
  readonly tokens: TokenService;
  readonly siteAccess: SiteAccess;
  readonly store: Store;
  readonly newId: () => string;
  readonly now: () => number;
}

/** The parts of an identity a revocation can name. */
export function credentialRefs(identity: Identity): CredentialRefs {
  return identity.kind === 'visitor'
    ? {
        jti: identity.jti,
        siteJti: identity.siteJti,
        siteId: identity.siteId,
        visitorId: identity.visitorId,
      }
    : { jti: identity.jti };
}

/** Authenticates a visitor socket opened from `origin`. */
export async function authenticateVisitor(
  deps: AuthDeps,
  frame: AuthFrame,
  origin: string | null,
): Promise<Identity> {
  const claims = await deps.tokens.verifyVisitor(frame.token);
  // A visitor token lifted from one page is useless on another (and from a non-browser client
  // it only works with the exact Origin it was minted for, which limits replay).
  if (origin === null || origin !== claims.origin) {
    throw new PosternError(ErrorCode.ORIGIN_FORBIDDEN, 'not the token origin');
  }
  // The site may have narrowed its domains since; the minting site token must still allow it.
  const site = await deps.siteAccess.forVisitor(claims.siteJti, origin);
  let dialog: DialogRecord;
  let resumedClosed = false;
  if (frame.resume) {
    const wanted = await deps.store.findDialog(frame.resume.dialog_id);
    // "Not yours" and "missing" are the same answer (SPEC §3).
    if (!wanted || wanted.visitorId !== claims.visitorId) {
      throw new PosternError(ErrorCode.NOT_FOUND, 'dialog not found');
    }
    resumedClosed = wanted.state === 'closed';
    dialog = resumedClosed
      ? await deps.store.openDialog(claims.visitorId, claims.siteId, deps.newId(), deps.now())
      : wanted;
  } else {
    dialog = await deps.store.openDialog(claims.visitorId, claims.siteId, deps.newId(), deps.now());
  }
  return {
    kind: 'visitor',
    jti: claims.jti,
    expiresAt: claims.expiresAt,
    visitorId: claims.visitorId,
    siteId: claims.siteId,
    siteJti: claims.siteJti,
    origin,
    assistantId: site.assistantId,
    dialog,
    resumedClosed,
  };
}

/** Authenticates an operator socket (the origin was checked before the upgrade). */
export async function authenticateOperator(deps: AuthDeps, frame: AuthFrame): Promise<Identity> {
  const claims = await deps.tokens.verifyOperator(frame.token);
  return {
    kind: 'operator',
    jti: claims.jti,
    expiresAt: claims.expiresAt,
    operatorId: claims.operatorId,
    name: claims.name,
    sites: claims.sites,
    scope: claims.scope,
  };
}

/** What an in-band refresh changes on a socket. */
export interface RefreshedCredentials {
  readonly jti: string;
  readonly expiresAt: number;
  /** Visitors: the site token that minted the new visitor token. */
  readonly siteJti?: string;
  /** Operators: the new token's claims (the customer's backend may have narrowed `sites`). */
  readonly operator?: {
    readonly name: string;
    readonly sites: readonly string[] | '*';
    readonly scope: readonly string[];
  };
}

/**
 * Verifies an in-band `refresh` token against the identity it would replace: same kind, same
 * subject (and for visitors the same site and origin), a later expiry. Any mismatch is
 * `ERR_AUTH_FAILED` (4002); revocation is checked by the caller (4006).
 */
export async function verifyRefresh(
  tokens: TokenService,
  identity: Identity,
  token: string,
): Promise<RefreshedCredentials> {
  try {
    if (identity.kind === 'visitor') {
      const claims = await tokens.verifyVisitor(token);
      const same =
        claims.visitorId === identity.visitorId &&
        claims.siteId === identity.siteId &&
        claims.origin === identity.origin;
      if (!same) throw new PosternError(ErrorCode.AUTH_FAILED, 'refresh for another visitor');
      if (claims.expiresAt <= identity.expiresAt) {
        throw new PosternError(ErrorCode.AUTH_FAILED, 'refresh does not extend the session');
      }
      return { jti: claims.jti, expiresAt: claims.expiresAt, siteJti: claims.siteJti };
    }
    const claims = await tokens.verifyOperator(token);
    if (claims.operatorId !== identity.operatorId) {
      throw new PosternError(ErrorCode.AUTH_FAILED, 'refresh for another operator');
    }
    if (claims.expiresAt <= identity.expiresAt) {
      throw new PosternError(ErrorCode.AUTH_FAILED, 'refresh does not extend the session');
    }
    return {
      jti: claims.jti,
      expiresAt: claims.expiresAt,
      operator: { name: claims.name, sites: claims.sites, scope: claims.scope },
    };
  } catch (error) {
    // SPEC §4: a refresh that fails for any reason but revocation closes with 4002.
    if (error instanceof PosternError && error.code === ErrorCode.AUTH_EXPIRED) {
      throw new PosternError(ErrorCode.AUTH_FAILED, 'refresh token expired', { cause: error });
    }
    throw error;
  }
}

/** The identity a socket holds after an in-band refresh verified `next`. */
export function refreshedIdentity(identity: Identity, next: RefreshedCredentials): Identity {
  const renewed = { jti: next.jti, expiresAt: next.expiresAt };
  if (identity.kind === 'visitor') {
    return {
      ...identity,
      ...renewed,
      ...(next.siteJti === undefined ? {} : { siteJti: next.siteJti }),
    };
  }
  return { ...identity, ...(next.operator ?? {}), ...renewed };
}
