/**
 * The claims of a Postern token (SPEC §2): what every kind shares and what each kind carries,
 * checked beyond jose's own checks and read into frozen claims. Signing applies the same rules, so
 * whatever the service signs verifies.
 *
 * Internal to the token service: import the public names from `tokens.ts`.
 */
import {
  isId,
  isNonNegativeInteger,
  OPERATOR_NAME_MAX,
  TOKEN_CLOCK_TOLERANCE_S,
} from '@postern/protocol';
import type { JWTPayload } from 'jose';
import { authFailed, type TokenKind } from './token-checks.js';

/** The `aud` claim each kind must carry (a single string, never an array). */
export const TOKEN_AUDIENCES = Object.freeze({
  site: 'postern:site',
  visitor: 'postern:widget',
  operator: 'postern:app',
} as const);

/** A verified site token. Times are epoch milliseconds. */
export interface SiteClaims {
  readonly jti: string;
  readonly siteId: string;
  readonly assistantId: string;
  /** Checked here only to be an array of strings; the domain rules are applied by the caller. */
  readonly allowedDomains: readonly string[];
  readonly issuedAt: number;
  /** Absent when the token has no `exp` (site tokens may omit it). */
  readonly expiresAt?: number;
}

/** A verified visitor token. Times are epoch milliseconds. */
export interface VisitorClaims {
  readonly jti: string;
  readonly visitorId: string;
  readonly siteId: string;
  /** The `jti` of the site token this visitor token was minted with. */
  readonly siteJti: string;
  /** The exact origin the token was minted for. */
  readonly origin: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** A verified operator token. Times are epoch milliseconds. */
export interface OperatorClaims {
  readonly jti: string;
  readonly operatorId: string;
  readonly name: string;
  /** Site ids the operator may act on, or `'*'` for all (the claim `["*"]`). */
  readonly sites: readonly string[] | '*';
  readonly scope: readonly string[];
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** What a site token is minted from. */
export interface SiteTokenInput {
  readonly siteId: string;
  readonly assistantId: string;
  readonly allowedDomains: readonly string[];
  /** Lifetime in seconds; omitted means no `exp`. */
  readonly expiresInS?: number;
}

/** What a visitor token is minted from; its lifetime is `visitorTtlS`. */
export interface VisitorTokenInput {
  readonly visitorId: string;
  readonly siteId: string;
  readonly siteJti: string;
  readonly origin: string;
}

/** What an operator token is minted from. */
export interface OperatorTokenInput {
  readonly operatorId: string;
  readonly name: string;
  readonly sites: readonly string[] | '*';
  readonly scope: readonly string[];
  /** Lifetime in seconds, 1..3600; default 3600. */
  readonly expiresInS?: number;
}

type Payload = Readonly<Record<string, unknown>>;

/** The claims every kind shares, already checked. */
interface Common {
  readonly jti: string;
  readonly issuedAt: number;
  readonly expiresAt: number | undefined;
}

/** What a kind requires of its claims, and how its own claims are read. */
export interface ClaimRule<C> {
  readonly kind: TokenKind;
  readonly expRequired: boolean;
  readonly maxLifetimeS: number | undefined;
  readonly read: (payload: Payload, common: Common) => C;
}

// Values customers choose (`jti`, `sjti`, operator ids) reach logs and keys: printable ASCII only.
const OPAQUE_ID = /^[\x21-\x7E]{1,128}$/;
const SCOPE_ENTRY = /^[\x21-\x7E]{1,64}$/;
// Only bounded here; origins are normalised and compared by the caller (SPEC §2).
const ORIGIN = /^[\x21-\x7E]{1,512}$/;
// Shown to people: no controls, bidi overrides (Trojan Source) or lone surrogates.
const DISPLAY_TEXT = /^[^\p{Cc}\p{Cs}\u202A-\u202E\u2066-\u2069]+$/u;
const LABEL_MAX = 128;
// Every numeric date must convert to a valid `Date` in milliseconds.
const NUMERIC_DATE_MAX_S = 8_640_000_000_000;

function isNumericDate(value: unknown): value is number {
  return isNonNegativeInteger(value) && value <= NUMERIC_DATE_MAX_S;
}

function isDisplayText(value: unknown, max: number): value is string {
  return (
    typeof value === 'string' &&
    value.length <= max &&
    value.trim().length > 0 &&
    DISPLAY_TEXT.test(value)
  );
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Checks what every kind shares (beyond jose's checks) and hands the rest to the kind's reader. */
export function readClaims<C>(rule: ClaimRule<C>, payload: Payload, nowS: number): C {
  const { kind } = rule;
  // RFC 8725 §3.9: exactly our audience; jose would also accept an array containing it.
  if (payload['aud'] !== TOKEN_AUDIENCES[kind]) throw authFailed(kind, 'claim aud refused');
  const jti = payload['jti'];
  if (typeof jti !== 'string' || !OPAQUE_ID.test(jti)) throw authFailed(kind, 'invalid claim jti');
  const iat = payload['iat'];
  if (!isNumericDate(iat)) throw authFailed(kind, 'invalid claim iat');
  if (iat > nowS + TOKEN_CLOCK_TOLERANCE_S) throw authFailed(kind, 'iat in the future');
  const nbf = payload['nbf'];
  if (nbf !== undefined && !isNumericDate(nbf)) throw authFailed(kind, 'invalid claim nbf');
  const exp = payload['exp'];
  if (exp === undefined) {
    if (rule.expRequired) throw authFailed(kind, 'missing claim exp');
  } else {
    if (!isNumericDate(exp)) throw authFailed(kind, 'invalid claim exp');
    if (exp <= iat) throw authFailed(kind, 'exp not after iat');
    // A short lifetime is a property of the token, not a promise of its issuer (SPEC §2).
    if (rule.maxLifetimeS !== undefined && exp - iat > rule.maxLifetimeS) {
      throw authFailed(kind, 'lifetime too long');
    }
  }
  const expiresAt = exp === undefined ? undefined : exp * 1000;
  return rule.read(payload, { jti, issuedAt: iat * 1000, expiresAt });
}

/** Reads the claims only a site token carries. */
export function readSiteClaims(payload: Payload, { jti, issuedAt, expiresAt }: Common): SiteClaims {
  const siteId = payload['sub'];
  if (!isId(siteId)) throw authFailed('site', 'invalid claim sub');
  const assistantId = payload['assistant_id'];
  if (!isDisplayText(assistantId, LABEL_MAX)) {
    throw authFailed('site', 'invalid claim assistant_id');
  }
  const domains = payload['allowed_domains'];
  if (!isStringArray(domains)) throw authFailed('site', 'invalid claim allowed_domains');
  const allowedDomains = Object.freeze([...domains]);
  const base = { jti, siteId, assistantId, allowedDomains, issuedAt };
  return Object.freeze(expiresAt === undefined ? base : { ...base, expiresAt });
}

/** Reads the claims only a visitor token carries. */
export function readVisitorClaims(
  payload: Payload,
  { jti, issuedAt, expiresAt }: Common,
): VisitorClaims {
  if (expiresAt === undefined) throw authFailed('visitor', 'missing claim exp');
  const visitorId = payload['sub'];
  if (!isId(visitorId)) throw authFailed('visitor', 'invalid claim sub');
  const siteId = payload['site_id'];
  if (!isId(siteId)) throw authFailed('visitor', 'invalid claim site_id');
  // The minting site token's jti may be a customer's choice: the jti rule, not isId.
  const siteJti = payload['sjti'];
  if (typeof siteJti !== 'string' || !OPAQUE_ID.test(siteJti)) {
    throw authFailed('visitor', 'invalid claim sjti');
  }
  const origin = payload['origin'];
  if (typeof origin !== 'string' || !ORIGIN.test(origin)) {
    throw authFailed('visitor', 'invalid claim origin');
  }
  return Object.freeze({ jti, visitorId, siteId, siteJti, origin, issuedAt, expiresAt });
}

/** Reads the claims only an operator token carries. */
export function readOperatorClaims(
  payload: Payload,
  { jti, issuedAt, expiresAt }: Common,
): OperatorClaims {
  if (expiresAt === undefined) throw authFailed('operator', 'missing claim exp');
  // Operator identity belongs to the customer's backend (SPEC §2): any opaque printable id.
  const operatorId = payload['sub'];
  if (typeof operatorId !== 'string' || !OPAQUE_ID.test(operatorId)) {
    throw authFailed('operator', 'invalid claim sub');
  }
  const name = payload['name'];
  if (!isDisplayText(name, OPERATOR_NAME_MAX)) throw authFailed('operator', 'invalid claim name');
  const rawSites = payload['sites'];
  let sites: readonly string[] | '*';
  if (Array.isArray(rawSites) && rawSites.length === 1 && rawSites[0] === '*') sites = '*';
  else if (Array.isArray(rawSites) && rawSites.every(isId)) sites = Object.freeze([...rawSites]);
  else throw authFailed('operator', 'invalid claim sites');
  const rawScope = payload['scope'];
  if (!isStringArray(rawScope) || !rawScope.every((item) => SCOPE_ENTRY.test(item))) {
    throw authFailed('operator', 'invalid claim scope');
  }
  const scope = Object.freeze([...rawScope]);
  return Object.freeze({ jti, operatorId, name, sites, scope, issuedAt, expiresAt });
}

// The writers below are the readers' inverse: the claim names and encodings live in one place.

/** The site claims of a token minted from `input`; the signer adds `iss`, `aud`, `jti` and times. */
export function siteTokenClaims(input: SiteTokenInput): JWTPayload {
  return {
    sub: input.siteId,
    assistant_id: input.assistantId,
    allowed_domains: [...input.allowedDomains],
  };
}

/** The visitor claims of a token minted from `input`. */
export function visitorTokenClaims(input: VisitorTokenInput): JWTPayload {
  return {
    sub: input.visitorId,
    site_id: input.siteId,
    sjti: input.siteJti,
    origin: input.origin,
  };
}

/** The operator claims of a token minted from `input`; `'*'` is written as `["*"]`. */
export function operatorTokenClaims(input: OperatorTokenInput): JWTPayload {
  return {
    sub: input.operatorId,
    name: input.name,
    sites: input.sites === '*' ? ['*'] : [...input.sites],
    scope: [...input.scope],
  };
}
