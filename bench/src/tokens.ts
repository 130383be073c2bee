/**
 * Site and operator tokens minted by the recipe of SPEC §2, as a customer's backend mints them,
 * for the chat scenario's hundred sites and operators (one CLI start per token would take
 * longer than the measurement). The admission, memory and storm scenarios use a site token from
 * `postern site create`, like a site owner.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { ISSUER, SECRETS, SHOP_DOMAIN } from './postern-server.js';

const key = (secret: string) => new TextEncoder().encode(secret);
const jti = () => randomBytes(16).toString('base64url');

export function siteToken(siteId: string): Promise<string> {
  return new SignJWT({ assistant_id: 'default', allowed_domains: [SHOP_DOMAIN] })
    .setProtectedHeader({ alg: 'HS256', typ: 'site+jwt' })
    .setIssuer(ISSUER)
    .setAudience('postern:site')
    .setSubject(siteId)
    .setJti(jti())
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(key(SECRETS.site));
}

/** An operator of exactly one site, so its feed carries that site's dialogs only. */
export function operatorToken(operatorId: string, siteId: string): Promise<string> {
  return new SignJWT({ name: `Operator ${operatorId}`, sites: [siteId], scope: [] })
    .setProtectedHeader({ alg: 'HS256', typ: 'operator+jwt' })
    .setIssuer(ISSUER)
    .setAudience('postern:app')
    .setSubject(operatorId)
    .setJti(jti())
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key(SECRETS.operator));
}
