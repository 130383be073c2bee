/**
 * The checks a Postern token passes before any crypto (SPEC §2): the compact JWS shape and the
 * protected header, plus the refusal every check (here and in `token-claims.ts`) raises.
 *
 * Internal to the token service: import the public names from `tokens.ts`.
 */
import { TOKEN_MAX_LENGTH } from '@postern/protocol';
import { ErrorCode, PosternError } from '../errors.js';

/** The three kinds of token. */
export type TokenKind = 'site' | 'visitor' | 'operator';

/** The `typ` header each kind must carry, compared exactly. */
export const TOKEN_TYPES = Object.freeze({
  site: 'site+jwt',
  visitor: 'visitor+jwt',
  operator: 'operator+jwt',
} as const);

// RFC 8725 §3.1: one algorithm, fixed by us, never chosen by the token.
export const ALGORITHM = 'HS256';
// JOSE headers that point at a key the token chooses itself; never fetched nor trusted
// (RFC 8725 §3.10: jku/x5u are SSRF vectors, an embedded jwk is a key forgery).
const KEY_CHOOSING_HEADERS = ['jku', 'jwk', 'x5u', 'x5c'] as const;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
// 32 bytes of HMAC-SHA-256 are 43 base64url characters whose last one has two zero bits; other
// encodings of the same bytes are refused so a token has exactly one spelling (RFC 4648 §3.5).
const HS256_SIGNATURE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The refusal of every check: `ERR_AUTH_FAILED` with a short reason, never a token or claim. */
export function authFailed(kind: TokenKind, reason: string): PosternError {
  return new PosternError(ErrorCode.AUTH_FAILED, `${kind} token: ${reason}`);
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// RFC 4648 §5 without padding: no length leaves a single character over.
function isBase64url(segment: string): boolean {
  return SEGMENT.test(segment) && segment.length % 4 !== 1;
}

/** Refuses anything that is not a well-formed HS256 compact JWS of `kind` before any crypto. */
export function checkCompact(kind: TokenKind, token: unknown): string {
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
