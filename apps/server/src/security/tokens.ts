/**
 * The token service (SPEC §2): signs and verifies the three kinds of Postern token — site, visitor
 * and operator — as JWS compact, HS256 only, each with its own `typ`, `aud` and key.
 *
 * Verification is `jose` plus a strict shape check before it (`token-checks.ts`) and a claims
 * check after it (`token-claims.ts`). Every refusal is a `PosternError` with `ERR_AUTH_FAILED`,
 * except a genuine token (valid signature, all other checks passed) whose `exp` has passed, which
 * is `ERR_AUTH_EXPIRED`. Error messages are short reasons for logs; they never contain the token or
 * any claim value.
 */
import { webcrypto } from 'node:crypto';
import { OPERATOR_TOKEN_MAX_TTL_S, TOKEN_CLOCK_TOLERANCE_S } from '@postern/protocol';
import { errors, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { ErrorCode, PosternError } from '../errors.js';
import {
  ALGORITHM,
  authFailed,
  checkCompact,
  TOKEN_TYPES,
  type TokenKind,
} from './token-checks.js';
import {
  type ClaimRule,
  type OperatorClaims,
  type OperatorTokenInput,
  operatorTokenClaims,
  readClaims,
  readOperatorClaims,
  readSiteClaims,
  readVisitorClaims,
  type SiteClaims,
  type SiteTokenInput,
  siteTokenClaims,
  TOKEN_AUDIENCES,
  type VisitorClaims,
  type VisitorTokenInput,
  visitorTokenClaims,
} from './token-claims.js';

export { TOKEN_TYPES, type TokenKind } from './token-checks.js';
export {
  type OperatorClaims,
  type OperatorTokenInput,
  type SiteClaims,
  type SiteTokenInput,
  TOKEN_AUDIENCES,
  type VisitorClaims,
  type VisitorTokenInput,
} from './token-claims.js';

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

/** The validated settings every signing and verification reads. */
interface Settings {
  readonly issuer: string;
  readonly visitorTtlS: number;
  readonly now: () => number;
  readonly randomId: () => string;
}

/** A kind's claim rule and the keys it is signed and verified with. */
interface KindRule<C> extends ClaimRule<C> {
  readonly keys: KeySet;
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

// Imported once per key: given raw bytes, jose imports the key again on every call, which was
// about half of token verification in the admission benchmark (docs/benchmarks.md). Not
// extractable: nothing in the process can read the secret back out of it.
const imported = new WeakMap<Uint8Array, Promise<webcrypto.CryptoKey>>();
function cryptoKeyOf(bytes: Uint8Array): Promise<webcrypto.CryptoKey> {
  let key = imported.get(bytes);
  if (key === undefined) {
    key = webcrypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    imported.set(bytes, key);
  }
  return key;
}

async function verifySignature<C>(
  { issuer }: Settings,
  rule: KindRule<C>,
  token: string,
  nowMs: number,
): Promise<JWTPayload> {
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
    return (await jwtVerify(token, await cryptoKeyOf(rule.keys.current), verifyOptions)).payload;
  } catch (error) {
    // Rotation: only a signature mismatch may mean "signed with the previous key".
    if (previous === undefined || !(error instanceof errors.JWSSignatureVerificationFailed)) {
      throw error;
    }
  }
  return (await jwtVerify(token, await cryptoKeyOf(previous), verifyOptions)).payload;
}

async function verifyToken<C>(settings: Settings, rule: KindRule<C>, token: unknown): Promise<C> {
  const { now } = settings;
  const compact = checkCompact(rule.kind, token);
  const nowMs = now();
  const nowS = Math.floor(nowMs / 1000);
  let payload: JWTPayload;
  try {
    payload = await verifySignature(settings, rule, compact, nowMs);
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

async function signToken<C>(
  { issuer, now, randomId }: Settings,
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
    .sign(await cryptoKeyOf(rule.keys.current));
  return Object.freeze({ token, claims: checked });
}

async function signSiteToken(
  settings: Settings,
  rule: KindRule<SiteClaims>,
  input: SiteTokenInput,
): Promise<SignedToken<SiteClaims>> {
  const { expiresInS } = input;
  if (expiresInS !== undefined && (!Number.isSafeInteger(expiresInS) || expiresInS <= 0)) {
    throw new RangeError('expiresInS must be a positive integer');
  }
  return signToken(settings, rule, siteTokenClaims(input), expiresInS);
}

async function signVisitorToken(
  settings: Settings,
  rule: KindRule<VisitorClaims>,
  input: VisitorTokenInput,
): Promise<SignedToken<VisitorClaims>> {
  return signToken(settings, rule, visitorTokenClaims(input), settings.visitorTtlS);
}

async function signOperatorToken(
  settings: Settings,
  rule: KindRule<OperatorClaims>,
  input: OperatorTokenInput,
): Promise<SignedToken<OperatorClaims>> {
  const { expiresInS = OPERATOR_TOKEN_MAX_TTL_S } = input;
  if (
    !Number.isSafeInteger(expiresInS) ||
    expiresInS <= 0 ||
    expiresInS > OPERATOR_TOKEN_MAX_TTL_S
  ) {
    throw new RangeError(`expiresInS must be an integer in 1..${OPERATOR_TOKEN_MAX_TTL_S}`);
  }
  return signToken(settings, rule, operatorTokenClaims(input), expiresInS);
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

  const settings: Settings = { issuer, visitorTtlS, now, randomId };
  const site: KindRule<SiteClaims> = {
    kind: 'site',
    keys: checkKeySet('site', options.keys.site),
    expRequired: false,
    maxLifetimeS: undefined,
    read: readSiteClaims,
  };
  const visitor: KindRule<VisitorClaims> = {
    kind: 'visitor',
    keys: checkKeySet('visitor', options.keys.visitor),
    expRequired: true,
    maxLifetimeS: visitorTtlS + TOKEN_CLOCK_TOLERANCE_S,
    read: readVisitorClaims,
  };
  const operator: KindRule<OperatorClaims> = {
    kind: 'operator',
    keys: checkKeySet('operator', options.keys.operator),
    expRequired: true,
    maxLifetimeS: OPERATOR_TOKEN_MAX_TTL_S,
    read: readOperatorClaims,
  };
  return Object.freeze({
    verifySite: (token: unknown) => verifyToken(settings, site, token),
    verifyVisitor: (token: unknown) => verifyToken(settings, visitor, token),
    verifyOperator: (token: unknown) => verifyToken(settings, operator, token),
    signSite: (input: SiteTokenInput) => signSiteToken(settings, site, input),
    signVisitor: (input: VisitorTokenInput) => signVisitorToken(settings, visitor, input),
    signOperator: (input: OperatorTokenInput) => signOperatorToken(settings, operator, input),
  });
}
