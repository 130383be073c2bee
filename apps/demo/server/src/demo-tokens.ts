/**
 * Mints the two tokens the demo needs, by the recipe of SPEC §2 (HS256, explicit `typ`, exact
 * `aud`, `iss`, `iat`, `jti`, `exp`): the demo site's token for the script tag, and short-lived
 * operator tokens for the console. A customer's backend does exactly this; the Postern server
 * verifies them like any other.
 */
import { randomBytes } from 'node:crypto';
import { OPERATOR_TOKEN_MAX_TTL_S } from '@postern/protocol';
import { type JWTPayload, SignJWT } from 'jose';

/** What signing needs besides the key: the issuer and the clock (epoch ms). */
export interface MintContext {
  readonly issuer: string;
  readonly now: () => number;
}

export interface MintedToken {
  readonly token: string;
  /** Epoch milliseconds, `null` for a token without `exp`. */
  readonly expiresAt: number | null;
}

/** How long a demo site token lives; the demo mints a new one at every start. */
export const SITE_TOKEN_TTL_S = 30 * 86_400;
/** How long a console operator token lives: well under the one-hour cap, so refresh is seen. */
export const OPERATOR_TOKEN_TTL_S = 15 * 60;

/** A jti: 128 random bits, URL-safe. */
function newJti(): string {
  return randomBytes(16).toString('base64url');
}

async function sign(
  key: Uint8Array,
  typ: string,
  aud: string,
  claims: JWTPayload,
  ttlS: number,
  { issuer, now }: MintContext,
): Promise<MintedToken> {
  const iat = Math.floor(now() / 1000);
  const exp = iat + ttlS;
  const token = await new SignJWT({ ...claims, iss: issuer, aud, iat, exp, jti: newJti() })
    .setProtectedHeader({ alg: 'HS256', typ })
    .sign(key);
  return { token, expiresAt: exp * 1000 };
}

export interface SiteTokenInput {
  readonly siteId: string;
  readonly assistantId: string;
  readonly allowedDomains: readonly string[];
}

/** A site token (`site+jwt`, `aud: postern:site`) for the script tag. */
export function mintSiteToken(
  key: Uint8Array,
  input: SiteTokenInput,
  context: MintContext,
): Promise<MintedToken> {
  const claims = {
    sub: input.siteId,
    assistant_id: input.assistantId,
    allowed_domains: [...input.allowedDomains],
  };
  return sign(key, 'site+jwt', 'postern:site', claims, SITE_TOKEN_TTL_S, context);
}

export interface OperatorTokenInput {
  readonly operatorId: string;
  readonly name: string;
  /** Site ids, or `['*']` for every site. */
  readonly sites: readonly string[];
  readonly scope: readonly string[];
  /** Lifetime in seconds, 1..3600. */
  readonly ttlS: number;
}

/** An operator token (`operator+jwt`, `aud: postern:app`), at most one hour long. */
export function mintOperatorToken(
  key: Uint8Array,
  input: OperatorTokenInput,
  context: MintContext,
): Promise<MintedToken> {
  if (
    !Number.isSafeInteger(input.ttlS) ||
    input.ttlS < 1 ||
    input.ttlS > OPERATOR_TOKEN_MAX_TTL_S
  ) {
    throw new RangeError(`ttlS must be an integer in 1..${OPERATOR_TOKEN_MAX_TTL_S}`);
  }
  const claims = {
    sub: input.operatorId,
    name: input.name,
    sites: [...input.sites],
    scope: [...input.scope],
  };
  return sign(key, 'operator+jwt', 'postern:app', claims, input.ttlS, context);
}
