/**
 * Site access: what a site token grants, checked on every use (SPEC §2). A site token is public —
 * it sits in the page source — so it grants only "visitors on these domains may chat with this
 * site"; the origin check stops embedding on foreign sites in browsers, nothing more.
 */
import { LRUCache } from 'lru-cache';
import { ErrorCode, PosternError } from '../errors.js';
import { originMatchesDomains, validateAllowedDomains } from '../security/origins.js';
import type { Revocations } from '../security/revocations.js';
import type { TokenService } from '../security/tokens.js';
import type { SiteTokenRecord, Store } from '../store/types.js';

export interface SiteAccessDeps {
  readonly store: Store;
  readonly tokens: TokenService;
  readonly revocations: Revocations;
  readonly now: () => number;
}

export interface SiteAccess {
  /**
   * Verifies a site token for a request from `origin`: signature and claims, every
   * `allowed_domains` entry, revocation of the site and of the token, the origin. Records the
   * token on first use.
   */
  verify(siteToken: unknown, origin: string): Promise<SiteTokenRecord>;
  /** The recorded site token a visitor token was minted from, checked against `origin`. */
  forVisitor(siteJti: string, origin: string): Promise<SiteTokenRecord>;
}

/** Recorded site tokens kept in memory; bounded, since only the owner can mint new ones. */
const CACHE_MAX = 10_000;

export function createSiteAccess({ store, tokens, revocations, now }: SiteAccessDeps): SiteAccess {
  const recorded = new LRUCache<string, SiteTokenRecord>({ max: CACHE_MAX });

  function checkOrigin(record: SiteTokenRecord, origin: string): void {
    if (!originMatchesDomains(origin, record.allowedDomains)) {
      throw new PosternError(ErrorCode.ORIGIN_FORBIDDEN, 'origin not allowed for the site');
    }
  }

  return {
    async verify(siteToken, origin) {
      const claims = await tokens.verifySite(siteToken);
      // One invalid entry refuses the whole token: a list with `com` in it is a mistake or an
      // attack, and half-honouring it would hide either.
      const domains = validateAllowedDomains(claims.allowedDomains);
      if (!domains.ok) {
        throw new PosternError(ErrorCode.AUTH_FAILED, `allowed_domains: ${domains.problem}`);
      }
      revocations.assertNotRevoked({ siteId: claims.siteId, siteJti: claims.jti });
      const record: SiteTokenRecord = {
        jti: claims.jti,
        siteId: claims.siteId,
        allowedDomains: domains.domains,
        assistantId: claims.assistantId,
        expiresAt: claims.expiresAt ?? null,
      };
      checkOrigin(record, origin);
      if (!recorded.has(claims.jti)) {
        const at = now();
        await store.touchSite(claims.siteId, at);
        await store.recordSiteToken(record, at);
        recorded.set(claims.jti, record);
      }
      return record;
    },
    async forVisitor(siteJti, origin) {
      const record = recorded.get(siteJti) ?? (await store.findSiteToken(siteJti));
      // Visitor tokens are only minted from recorded site tokens; a missing one is not ours.
      if (!record) throw new PosternError(ErrorCode.AUTH_FAILED, 'unknown site token');
      recorded.set(siteJti, record);
      checkOrigin(record, origin);
      return record;
    },
  };
}
