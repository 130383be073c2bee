/**
 * Tokens minted by the recipe of SPEC §2 (as a customer's backend would), plus hand-made JWS for
 * what `jose` refuses to produce: `alg: none`, foreign algorithms, empty keys, broken signatures.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { OPERATOR_SECRET, SHOP_DOMAIN, SITE_SECRET } from './server-process.js';

export const ISSUER = 'postern';

const keyOf = (secret: string) => new TextEncoder().encode(secret);
const nowS = () => Math.floor(Date.now() / 1000);

/** A random opaque id with 128 bits, in the alphabet ids use. */
export function randomId(): string {
  return randomBytes(16).toString('base64url');
}

export interface SiteInput {
  readonly siteId?: string;
  readonly allowedDomains?: unknown;
  /** Absolute `exp` in seconds; omitted by default (site tokens may omit it). */
  readonly exp?: number;
  readonly iat?: number;
  readonly secret?: string;
}

/** A site token (`typ: site+jwt`, `aud: postern:site`). */
export function mintSite(input: SiteInput = {}): Promise<string> {
  const jwt = new SignJWT({
    assistant_id: 'blackbox-assistant',
    allowed_domains: input.allowedDomains ?? [SHOP_DOMAIN],
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'site+jwt' })
    .setIssuer(ISSUER)
    .setAudience('postern:site')
    .setSubject(input.siteId ?? randomId())
    .setIssuedAt(input.iat ?? nowS())
    .setJti(randomId());
  if (input.exp !== undefined) jwt.setExpirationTime(input.exp);
  return jwt.sign(keyOf(input.secret ?? SITE_SECRET));
}

export interface OperatorInput {
  readonly lifetimeS?: number;
  readonly iat?: number;
  readonly scope?: readonly string[];
  readonly secret?: string;
}

/** An operator token (`typ: operator+jwt`, `aud: postern:app`), one hour by default. */
export function mintOperator(input: OperatorInput = {}): Promise<string> {
  const iat = input.iat ?? nowS();
  return new SignJWT({ name: 'Blackbox Operator', sites: ['*'], scope: [...(input.scope ?? [])] })
    .setProtectedHeader({ alg: 'HS256', typ: 'operator+jwt' })
    .setIssuer(ISSUER)
    .setAudience('postern:app')
    .setSubject(`op-${randomId()}`)
    .setIssuedAt(iat)
    .setJti(randomId())
    .setExpirationTime(iat + (input.lifetimeS ?? 3600))
    .sign(keyOf(input.secret ?? OPERATOR_SECRET));
}

/** The claims of a valid site token, for hand-made variants. */
export function siteClaims(): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: 'postern:site',
    sub: randomId(),
    assistant_id: 'blackbox-assistant',
    allowed_domains: [SHOP_DOMAIN],
    iat: nowS(),
    jti: randomId(),
  };
}

/** The claims of a valid operator token, for hand-made variants. */
export function operatorClaims(): Record<string, unknown> {
  const iat = nowS();
  return {
    iss: ISSUER,
    aud: 'postern:app',
    sub: `op-${randomId()}`,
    name: 'Blackbox Operator',
    sites: ['*'],
    scope: [],
    iat,
    exp: iat + 3600,
    jti: randomId(),
  };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

/**
 * A compact JWS with any header. `key` signs with HMAC-SHA256 (any key, even empty); a string
 * `signature` is used verbatim instead (`''` for an unsecured token).
 */
export function craftJws(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  sign: { readonly key: string } | { readonly signature: string },
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature =
    'key' in sign
      ? createHmac('sha256', Buffer.from(sign.key, 'utf8')).update(input).digest('base64url')
      : sign.signature;
  return `${input}.${signature}`;
}
