/**
 * The token service (SPEC §2): signs and verifies the three kinds of Postern token — site, visitor
 * and operator — as JWS compact, HS256 only, each with its own `typ`, `aud` and key.
 *
 * Verification is `jose` plus a strict shape check before it and a claims check after it. Every
 * refusal is a `PosternError` with `ERR_AUTH_FAILED`, except a genuine token (valid signature, all
 * other checks passed) whose `exp` has passed, which is `ERR_AUTH_EXPIRED`. Error messages are
 * short reasons for logs; they never contain the token or any claim value.
 */
import {
  isId,
  isNonNegativeInteger,
  OPERATOR_NAME_MAX,
  OPERATOR_TOKEN_MAX_TTL_S,
  TOKEN_CLOCK_TOLERANCE_S,
  TOKEN_MAX_LENGTH,
} from '@postern/protocol';
import { errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { ErrorCode, PosternError } from '../errors.js';

/** The three kinds of token. */
export type TokenKind = 'site' | 'visitor' | 'operator';

/** The `typ` header each kind must carry, compared exactly. */
export const TOKEN_TYPES = Object.freeze({
  site: 'site+jwt',
  visitor: 'visitor+jwt',
  operator: 'operator+jwt',
} as const);

/** The `aud` claim each kind must carry (a single string, never an array). */
export const TOKEN_AUDIENCES = Object.freeze({
  site: 'postern:site',
  visitor: 'postern:widget',
  operator: 'postern:app',
} as const);

/** The HMAC keys of one kind. `previous` verifies during a rotation and never signs. */
export interface KeySet {
  readonly current: Uint8Array;
  readonly previous?: Uint8Array;
}

/** Dependencies and settings of {@link createTokenService}. */
export interface TokenServiceOptions {
  /** One key set per kind; kinds may share keys, `typ` and `aud` still keep them apart. */
  readonly keys: { readonly site: KeySet; readonly visitor: KeySet; readonly operator: KeySet };
  /** `iss` of every token: `POSTERN_ISSUER` (default `postern`, applied by the config). */
  readonly issuer: string;
  /** Lifetime of visitor tokens in seconds: `POSTERN_VISITOR_TTL_S` (default 900). */
  readonly visitorTtlS: number;
  /** The clock, in epoch milliseconds. */
  readonly now: () => number;
  /** Generates a `jti`: 1..128 printable ASCII characters, unique per token. */
  readonly randomId: () => string;
}

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

/** A freshly signed token and the claims it carries. */
export interface SignedToken<C> {
  readonly token: string;
  readonly claims: C;
}

/** Signs and verifies Postern tokens. Verifiers reject with `PosternError` only. */
export interface TokenService {
  verifySite(token: unknown): Promise<SiteClaims>;
  verifyVisitor(token: unknown): Promise<VisitorClaims>;
  verifyOperator(token: unknown): Promise<OperatorClaims>;
  signSite(input: SiteTokenInput): Promise<SignedToken<SiteClaims>>;
  signVisitor(input: VisitorTokenInput): Promise<SignedToken<VisitorClaims>>;
  signOperator(input: OperatorTokenInput): Promise<SignedToken<OperatorClaims>>;
}

/** The HMAC key of a secret variable: the UTF-8 bytes of its value (SPEC §2). */
export function decodeKey(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

type Payload = Readonly<Record<string, unknown>>;

/** The claims every kind shares, already checked. */
interface Common {
  readonly jti: string;
  readonly issuedAt: number;
  readonly expiresAt: number | undefined;
}

interface KindRule<C> {
  readonly kind: TokenKind;
  readonly keys: KeySet;
  readonly expRequired: boolean;
  readonly maxLifetimeS: number | undefined;
  readonly read: (payload: Payload, common: Common) => C;
}

// RFC 8725 §3.1: one algorithm, fixed by us, never chosen by the token.
const ALGORITHM = 'HS256';
// JOSE headers that point at a key the token chooses itself; never fetched nor trusted
// (RFC 8725 §3.10: jku/x5u are SSRF vectors, an embedded jwk is a key forgery).
const KEY_CHOOSING_HEADERS = ['jku', 'jwk', 'x5u', 'x5c'] as const;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
// 32 bytes of HMAC-SHA-256 are 43 base64url characters whose last one has two zero bits; other
// encodings of the same bytes are refused so a token has exactly one spelling (RFC 4648 §3.5).
const HS256_SIGNATURE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
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
const UTF8 = new TextDecoder('utf-8', { fatal: true });

function authFailed(kind: TokenKind, reason: string): PosternError {
  return new PosternError(ErrorCode.AUTH_FAILED, `${kind} token: ${reason}`);
}

function isObject(value: unknown): value is Payload {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

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

// RFC 4648 §5 without padding: no length leaves a single character over.
function isBase64url(segment: string): boolean {
  return SEGMENT.test(segment) && segment.length % 4 !== 1;
}

function isStringArray(value: unknown): value is readonly string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Refuses anything that is not a well-formed HS256 compact JWS of `kind` before any crypto. */
function checkCompact(kind: TokenKind, token: unknown): string {
  if (typeof token !== 'string') throw authFailed(kind, 'not a string');
  if (token.length === 0) throw authFailed(kind, 'empty');
  if (token.length > TOKEN_MAX_LENGTH) throw authFailed(kind, 'too long');
  const segments = token.split('.');
  if (segments.length !== 3) throw authFailed(kind, 'not three segments');
  const [header = '', payload = '', signature = ''] = segments;
  checkHeader(kind, header);
  if (!isBase64url(payload)) throw authFailed(kind, 'malformed payload');
  if (!HS256_SIGNATURE.test(signature)) throw authFailed(kind, 'malformed signature');
  return token;
}

/** Refuses a protected header that is not exactly the one this kind is signed with. */
function checkHeader(kind: TokenKind, segment: string): void {
  if (!isBase64url(segment)) throw authFailed(kind, 'malformed header');
  let header: unknown;
  try {
    header = JSON.parse(UTF8.decode(Buffer.from(segment, 'base64url')));
  } catch {
    throw authFailed(kind, 'malformed header');
  }
  if (!isObject(header)) throw authFailed(kind, 'malformed header');
  // RFC 8725 §3.1/§2.1: exact allow-list, so `none` in any casing and every other alg fail here.
  if (header['alg'] !== ALGORITHM) throw authFailed(kind, 'alg not allowed');
  // RFC 8725 §3.11–3.12: explicit, exact typing keeps one kind from passing as another.
  if (header['typ'] !== TOKEN_TYPES[kind]) throw authFailed(kind, 'unexpected typ');
  for (const name of KEY_CHOOSING_HEADERS) {
    if (Object.hasOwn(header, name)) throw authFailed(kind, `header ${name} refused`);
  }
  // RFC 7515 §4.1.11: we understand no extension, so any `crit` names an unknown one.
  if (Object.hasOwn(header, 'crit')) throw authFailed(kind, 'header crit refused');
}

/** Checks what every kind shares (beyond jose's checks) and hands the rest to the kind's reader. */
function readClaims<C>(rule: KindRule<C>, payload: Payload, nowS: number): C {
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

/** Maps a jose refusal to a short reason; anything that is not jose's is a bug and is rethrown. */
function joseFailure(kind: TokenKind, error: unknown): PosternError {
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return authFailed(kind, 'bad signature');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    const { claim, reason } = error;
    if (reason === 'missing') return authFailed(kind, `missing claim ${claim}`);
    if (reason === 'invalid') return authFailed(kind, `invalid claim ${claim}`);
    return authFailed(kind, `claim ${claim} refused`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return authFailed(kind, 'alg not allowed');
  if (error instanceof errors.JWTInvalid) return authFailed(kind, 'malformed payload');
  if (error instanceof errors.JOSEError) return authFailed(kind, 'malformed token');
  throw error;
}

function checkKeySet(kind: TokenKind, keys: KeySet): KeySet {
  const copy = (key: unknown, label: string): Uint8Array => {
    if (!(key instanceof Uint8Array) || key.length === 0) {
      throw new TypeError(`${kind} ${label} key must be a non-empty Uint8Array`);
    }
    return new Uint8Array(key);
  };
  const current = copy(keys.current, 'current');
  return keys.previous === undefined
    ? { current }
    : { current, previous: copy(keys.previous, 'previous') };
}

/**
 * Creates the token service.
 *
 * Verification (SPEC §2): HS256 only; exact `typ`; `iss`; a single exact `aud`; `iat`, `jti`,
 * `sub` and (except site tokens) `exp` required, as safe integer seconds; 30 s clock tolerance;
 * no `jku`/`jwk`/`x5u`/`x5c`/`crit` header; `kid` ignored; the previous key is tried when the
 * current one does not verify the signature. Visitor tokens may live at most `visitorTtlS`
 * (+ tolerance), operator tokens at most 3600 s.
 *
 * @throws TypeError when a key is empty, the issuer is empty or the TTL is not a positive integer.
 * @example
 * ```ts
 * const tokens = createTokenService({
 *   keys: { site: { current: siteKey }, visitor: { current: key }, operator: { current: opKey } },
 *   issuer: 'postern',
 *   visitorTtlS: 900,
 *   now: Date.now,
 *   randomId: () => randomBytes(16).toString('base64url'),
 * });
 * const claims = await tokens.verifyVisitor(frame.token); // PosternError ERR_AUTH_* on refusal
 * ```
 */
export function createTokenService(options: TokenServiceOptions): TokenService {
  const { issuer, visitorTtlS, now, randomId } = options;
  if (typeof issuer !== 'string' || issuer.length === 0) {
    throw new TypeError('issuer must be non-empty');
  }
  if (!Number.isSafeInteger(visitorTtlS) || visitorTtlS <= 0) {
    throw new TypeError('visitorTtlS must be a positive integer');
  }

  const site: KindRule<SiteClaims> = {
    kind: 'site',
    keys: checkKeySet('site', options.keys.site),
    expRequired: false,
    maxLifetimeS: undefined,
    read: (payload, { jti, issuedAt, expiresAt }) => {
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
    },
  };

  const visitor: KindRule<VisitorClaims> = {
    kind: 'visitor',
    keys: checkKeySet('visitor', options.keys.visitor),
    expRequired: true,
    maxLifetimeS: visitorTtlS + TOKEN_CLOCK_TOLERANCE_S,
    read: (payload, { jti, issuedAt, expiresAt }) => {
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
    },
  };

  const operator: KindRule<OperatorClaims> = {
    kind: 'operator',
    keys: checkKeySet('operator', options.keys.operator),
    expRequired: true,
    maxLifetimeS: OPERATOR_TOKEN_MAX_TTL_S,
    read: (payload, { jti, issuedAt, expiresAt }) => {
      if (expiresAt === undefined) throw authFailed('operator', 'missing claim exp');
      // Operator identity belongs to the customer's backend (SPEC §2): any opaque printable id.
      const operatorId = payload['sub'];
      if (typeof operatorId !== 'string' || !OPAQUE_ID.test(operatorId)) {
        throw authFailed('operator', 'invalid claim sub');
      }
      const name = payload['name'];
      if (!isDisplayText(name, OPERATOR_NAME_MAX))
        throw authFailed('operator', 'invalid claim name');
      const rawSites = payload['sites'];
      let sites: readonly string[] | '*';
      if (Array.isArray(rawSites) && rawSites.length === 1 && rawSites[0] === '*') sites = '*';
      else if (Array.isArray(rawSites) && rawSites.every(isId))
        sites = Object.freeze([...rawSites]);
      else throw authFailed('operator', 'invalid claim sites');
      const rawScope = payload['scope'];
      if (!isStringArray(rawScope) || !rawScope.every((item) => SCOPE_ENTRY.test(item))) {
        throw authFailed('operator', 'invalid claim scope');
      }
      const scope = Object.freeze([...rawScope]);
      return Object.freeze({ jti, operatorId, name, sites, scope, issuedAt, expiresAt });
    },
  };

  async function verifySignature<C>(rule: KindRule<C>, token: string, nowMs: number) {
    const verifyOptions = {
      algorithms: [ALGORITHM],
      typ: TOKEN_TYPES[rule.kind],
      issuer,
      audience: TOKEN_AUDIENCES[rule.kind],
      requiredClaims: rule.expRequired ? ['iat', 'jti', 'sub', 'exp'] : ['iat', 'jti', 'sub'],
      clockTolerance: TOKEN_CLOCK_TOLERANCE_S,
      currentDate: new Date(nowMs),
    };
    const { previous } = rule.keys;
    try {
      return (await jwtVerify(token, rule.keys.current, verifyOptions)).payload;
    } catch (error) {
      // Rotation: only a signature mismatch may mean "signed with the previous key".
      if (previous === undefined || !(error instanceof errors.JWSSignatureVerificationFailed)) {
        throw error;
      }
    }
    return (await jwtVerify(token, previous, verifyOptions)).payload;
  }

  async function verify<C>(rule: KindRule<C>, token: unknown): Promise<C> {
    const compact = checkCompact(rule.kind, token);
    const nowMs = now();
    const nowS = Math.floor(nowMs / 1000);
    let payload: JWTPayload;
    try {
      payload = await verifySignature(rule, compact, nowMs);
    } catch (error) {
      if (error instanceof errors.JWTExpired) {
        // jose raises this only after the signature, typ, iss, aud, required claims and nbf passed
        // (signature first: a forged expired token never gets here). A genuine token that is
        // malformed otherwise is still AUTH_FAILED, so "expired" always means "renew and retry".
        readClaims(rule, error.payload, nowS);
        throw new PosternError(ErrorCode.AUTH_EXPIRED, `${rule.kind} token: expired`);
      }
      throw joseFailure(rule.kind, error);
    }
    return readClaims(rule, payload, nowS);
  }

  async function sign<C>(
    rule: KindRule<C>,
    claims: JWTPayload,
    lifetimeS: number | undefined,
  ): Promise<SignedToken<C>> {
    const iat = Math.floor(now() / 1000);
    const payload: JWTPayload = {
      iss: issuer,
      aud: TOKEN_AUDIENCES[rule.kind],
      jti: randomId(),
      iat,
      ...(lifetimeS === undefined ? {} : { exp: iat + lifetimeS }),
      ...claims,
    };
    let checked: C;
    try {
      // The verifier's own rules, so whatever we sign verifies.
      checked = readClaims(rule, payload, iat);
    } catch (error) {
      throw new TypeError(`cannot sign: ${error instanceof Error ? error.message : 'invalid'}`);
    }
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: ALGORITHM, typ: TOKEN_TYPES[rule.kind] })
      .sign(rule.keys.current);
    return Object.freeze({ token, claims: checked });
  }

  return Object.freeze({
    verifySite: (token: unknown) => verify(site, token),
    verifyVisitor: (token: unknown) => verify(visitor, token),
    verifyOperator: (token: unknown) => verify(operator, token),
    signSite: async (input: SiteTokenInput) => {
      const { expiresInS } = input;
      if (expiresInS !== undefined && (!Number.isSafeInteger(expiresInS) || expiresInS <= 0)) {
        throw new RangeError('expiresInS must be a positive integer');
      }
      const claims = {
        sub: input.siteId,
        assistant_id: input.assistantId,
        allowed_domains: [...input.allowedDomains],
      };
      return sign(site, claims, expiresInS);
    },
    signVisitor: async (input: VisitorTokenInput) => {
      const claims = {
        sub: input.visitorId,
        site_id: input.siteId,
        sjti: input.siteJti,
        origin: input.origin,
      };
      return sign(visitor, claims, visitorTtlS);
    },
    signOperator: async (input: OperatorTokenInput) => {
      const { expiresInS = OPERATOR_TOKEN_MAX_TTL_S } = input;
      if (
        !Number.isSafeInteger(expiresInS) ||
        expiresInS <= 0 ||
        expiresInS > OPERATOR_TOKEN_MAX_TTL_S
      ) {
        throw new RangeError(`expiresInS must be an integer in 1..${OPERATOR_TOKEN_MAX_TTL_S}`);
      }
      const claims = {
        sub: input.operatorId,
        name: input.name,
        sites: input.sites === '*' ? ['*'] : [...input.sites],
        scope: [...input.scope],
      };
      return sign(operator, claims, expiresInS);
    },
  });
}
