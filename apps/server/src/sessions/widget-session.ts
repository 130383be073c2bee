/**
 * `POST /v1/widget/session` (SPEC §3): a new visitor, or a refresh of an existing one through
 * its rotating refresh token, bound to `(site_id, origin)`.
 */
import type { SessionResponse } from '@postern/protocol';
import { ErrorCode, PosternError } from '../errors.js';
import type { Revocations } from '../security/revocations.js';
import type { TokenService } from '../security/tokens.js';
import type { RefreshRecord, Store } from '../store/types.js';
import type { RefreshTokenKit } from './refresh-tokens.js';
import type { SiteAccess } from './site-access.js';

export interface WidgetSessionDeps {
  readonly store: Store;
  readonly tokens: TokenService;
  readonly revocations: Revocations;
  readonly siteAccess: SiteAccess;
  readonly refreshTokens: RefreshTokenKit;
  readonly newId: () => string;
  readonly now: () => number;
  readonly refreshIdleMs: number;
  readonly refreshMaxMs: number;
  readonly refreshGraceMs: number;
  /** Longest a visitor token stays valid (its TTL plus clock tolerance). */
  readonly visitorTokenMaxAgeMs: number;
  /** Throws `ERR_RATE_LIMITED` when the site creates sessions too fast. */
  readonly admitNewSession: (siteId: string) => void;
}

export interface WidgetSessionRequest {
  readonly siteToken: unknown;
  readonly origin: string;
  readonly refreshToken?: unknown;
}

export type WidgetSessions = (request: WidgetSessionRequest) => Promise<SessionResponse>;

function invalid(reason: string): PosternError {
  return new PosternError(ErrorCode.REFRESH_INVALID, reason);
}

function sameBytes(a: Uint8Array | null, b: Uint8Array): boolean {
  return a !== null && Buffer.from(a).equals(b);
}

export function createWidgetSessions(deps: WidgetSessionDeps): WidgetSessions {
  const { store, tokens, revocations, siteAccess, refreshTokens: kit, newId, now } = deps;

  async function issue(
    visitorId: string,
    siteId: string,
    siteJti: string,
    origin: string,
    refreshToken: string,
    dialogId: string,
  ): Promise<SessionResponse> {
    const visitor = await tokens.signVisitor({ visitorId, siteId, siteJti, origin });
    return {
      visitor_token: visitor.token,
      refresh_token: refreshToken,
      visitor_id: visitorId,
      dialog_id: dialogId,
      expires_at: visitor.claims.expiresAt,
    };
  }

  /** Rotates `token`, or explains why it cannot be used; returns the token to hand out. */
  async function rotate(token: string, record: RefreshRecord): Promise<string> {
    const at = now();
    const hash = kit.hash(token);
    const successor = kit.successorOf(token);
    const successorHash = kit.hash(successor);
    if (record.rotatedAt === null) {
      if (at - record.issuedAt > deps.refreshIdleMs) throw invalid('refresh token idle too long');
      if (await store.rotateRefreshToken(hash, successorHash, at)) return successor;
      // Lost the compare-and-swap to a parallel request: it rotated to the same successor.
      const latest = await store.findRefreshToken(hash);
      if (latest?.rotatedAt != null) return rotate(token, latest);
      throw invalid('refresh token vanished');
    }
    // Two tabs or a lost response: within the grace window the same successor comes back —
    // also when it was derived with the visitor key that a restart just rotated out.
    if (at - record.rotatedAt <= deps.refreshGraceMs) {
      if (sameBytes(record.successorHash, successorHash)) return successor;
      const before = kit.previousSuccessorOf(token);
      if (before !== null && sameBytes(record.successorHash, kit.hash(before))) return before;
    }
    // A rotated token used again after the grace window was copied: whoever holds the family
    // now may be the thief, so the whole family and the visitor are revoked (RFC 9700 §4.14.2).
    await store.revokeRefreshFamily(record.familyId, at);
    // Until every visitor token the thief may hold has expired; after that, the dead family means
    // no new one can be had, so the revocation need not be kept (nor grow memory) for good.
    const until = at + deps.visitorTokenMaxAgeMs;
    await revocations.revoke('visitor', record.visitorId, 'system:refresh_reuse', at, until);
    throw new PosternError(ErrorCode.REFRESH_REUSED, 'refresh token reused');
  }

  async function refresh(request: WidgetSessionRequest, token: unknown) {
    const site = await siteAccess.verify(request.siteToken, request.origin);
    if (!kit.isWellFormed(token)) throw invalid('malformed refresh token');
    const record = await store.findRefreshToken(kit.hash(token));
    if (!record || record.familyRevokedAt !== null) throw invalid('unknown refresh token');
    // Bound to where it was issued: a token lifted from one site or origin is useless elsewhere.
    if (record.siteId !== site.siteId || record.origin !== request.origin) {
      throw invalid('refresh token bound elsewhere');
    }
    if (now() - record.familyCreatedAt > deps.refreshMaxMs) throw invalid('refresh family too old');
    revocations.assertNotRevoked({ visitorId: record.visitorId });
    const next = await rotate(token, record);
    const dialog = await store.openDialog(record.visitorId, site.siteId, newId(), now());
    return issue(record.visitorId, site.siteId, site.jti, request.origin, next, dialog.id);
  }

  async function create(request: WidgetSessionRequest) {
    const site = await siteAccess.verify(request.siteToken, request.origin);
    deps.admitNewSession(site.siteId);
    const visitorId = newId();
    const dialogId = newId();
    const refreshToken = kit.generate();
    await store.createSession({
      visitorId,
      siteId: site.siteId,
      origin: request.origin,
      familyId: newId(),
      tokenHash: kit.hash(refreshToken),
      dialogId,
      now: now(),
    });
    return issue(visitorId, site.siteId, site.jti, request.origin, refreshToken, dialogId);
  }

  return (request) =>
    request.refreshToken === undefined ? create(request) : refresh(request, request.refreshToken);
}
