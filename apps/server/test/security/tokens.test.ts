import { createHmac } from 'node:crypto';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, PosternError } from '../../src/errors.js';
import {
  createTokenService,
  decodeKey,
  type KeySet,
  type TokenKind,
  type TokenService,
} from '../../src/security/tokens.js';

// Site and visitor share a key on purpose: only `typ`/`aud` may keep those kinds apart.
const SHARED_KEY = decodeKey('shared-site-and-visitor-key-0123456789');
const OPERATOR_KEY = decodeKey('operator-key-0123456789-0123456789');
const ROTATED_KEY = decodeKey('rotated-key-0123456789-0123456789-xx');
const NOW = 1_750_000_000_123;
const NOW_S = Math.floor(NOW / 1000);
const TTL = 900;

let clock = NOW;
let counter = 0;

function service(keys?: { site?: KeySet; visitor?: KeySet; operator?: KeySet }): TokenService {
  return createTokenService({
    keys: {
      site: keys?.site ?? { current: SHARED_KEY },
      visitor: keys?.visitor ?? { current: SHARED_KEY },
      operator: keys?.operator ?? { current: OPERATOR_KEY },
    },
    issuer: 'postern',
    visitorTtlS: TTL,
    now: () => clock,
    randomId: () => `jti-${++counter}`,
  });
}

let tokens: TokenService;
beforeEach(() => {
  clock = NOW;
  counter = 0;
  tokens = service();
});

// --- Hand-made tokens: jose's signer refuses to produce most of these. ---

type Json = Record<string, unknown>;

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function hmac(input: string, key: Uint8Array | string, hash = 'sha256'): string {
  return createHmac(hash, key).update(input).digest('base64url');
}

/** A compact JWS of `header` and `payload`, HMAC-SHA-256-signed with `key`. */
function raw(header: unknown, payload: unknown, key: Uint8Array | string = SHARED_KEY): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${hmac(input, key)}`;
}

const TYP: Record<TokenKind, string> = {
  site: 'site+jwt',
  visitor: 'visitor+jwt',
  operator: 'operator+jwt',
};
const KEY: Record<TokenKind, Uint8Array> = {
  site: SHARED_KEY,
  visitor: SHARED_KEY,
  operator: OPERATOR_KEY,
};

function header(kind: TokenKind, extra: Json = {}): Json {
  return { alg: 'HS256', typ: TYP[kind], ...extra };
}

function claims(kind: TokenKind, extra: Json = {}): Json {
  const common = { iss: 'postern', jti: 'jti-raw', iat: NOW_S };
  const byKind: Record<TokenKind, Json> = {
    site: {
      aud: 'postern:site',
      sub: 'site-1',
      assistant_id: 'demo',
      allowed_domains: ['shop.example'],
    },
    visitor: {
      aud: 'postern:widget',
      sub: 'visitor-1',
      exp: NOW_S + TTL,
      site_id: 'site-1',
      sjti: 'site-jti-1',
      origin: 'https://shop.example',
    },
    operator: {
      aud: 'postern:app',
      sub: 'operator-1',
      exp: NOW_S + 3600,
      name: 'Ada',
      sites: ['site-1'],
      scope: ['admin'],
    },
  };
  // `undefined` drops a claim: JSON.stringify leaves it out.
  return { ...common, ...byKind[kind], ...extra };
}

/** A token of `kind`, well-formed and validly signed unless the overrides say otherwise. */
function token(kind: TokenKind, extra: Json = {}, head: Json = {}): string {
  return raw(header(kind, head), claims(kind, extra), KEY[kind]);
}

function verify(kind: TokenKind, value: unknown, with_ = tokens): Promise<unknown> {
  if (kind === 'site') return with_.verifySite(value);
  if (kind === 'visitor') return with_.verifyVisitor(value);
  return with_.verifyOperator(value);
}

async function refusal(promise: Promise<unknown>): Promise<PosternError> {
  const error = await promise.then(
    () => new Error('expected a refusal, got claims'),
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(PosternError);
  return error as PosternError;
}

async function expectFailed(promise: Promise<unknown>, message: string): Promise<void> {
  const error = await refusal(promise);
  expect({ code: error.code, message: error.message }).toEqual({
    code: ErrorCode.AUTH_FAILED,
    message,
  });
}

async function expectExpired(promise: Promise<unknown>, kind: TokenKind): Promise<void> {
  const error = await refusal(promise);
  expect({ code: error.code, message: error.message }).toEqual({
    code: ErrorCode.AUTH_EXPIRED,
    message: `${kind} token: expired`,
  });
}

const KINDS: readonly TokenKind[] = ['site', 'visitor', 'operator'];

describe('decodeKey', () => {
  it('returns the UTF-8 bytes of the value, untrimmed', () => {
    expect([...decodeKey('clé ')]).toEqual([0x63, 0x6c, 0xc3, 0xa9, 0x20]);
  });
});

describe('createTokenService', () => {
  const base = {
    keys: {
      site: { current: SHARED_KEY },
      visitor: { current: SHARED_KEY },
      operator: { current: OPERATOR_KEY },
    },
    issuer: 'postern',
    visitorTtlS: TTL,
    now: () => NOW,
    randomId: () => 'x',
  };

  it('refuses an empty key, an empty issuer and a non-positive TTL', () => {
    const empty = { current: new Uint8Array(0) };
    expect(() => createTokenService({ ...base, keys: { ...base.keys, visitor: empty } })).toThrow(
      'visitor current key must be a non-empty Uint8Array',
    );
    const prev = { current: SHARED_KEY, previous: new Uint8Array(0) };
    expect(() => createTokenService({ ...base, keys: { ...base.keys, site: prev } })).toThrow(
      'site previous key must be a non-empty Uint8Array',
    );
    expect(() => createTokenService({ ...base, issuer: '' })).toThrow('issuer must be non-empty');
    expect(() => createTokenService({ ...base, visitorTtlS: 0 })).toThrow(
      'visitorTtlS must be a positive integer',
    );
  });

  it('copies keys, so a later change to the caller’s buffer changes nothing', async () => {
    const key = decodeKey('mutable-key-0123456789-0123456789');
    const own = service({ visitor: { current: key } });
    const { token: signed } = await own.signVisitor({
      visitorId: 'v',
      siteId: 's',
      siteJti: 'j',
      origin: 'https://a.example',
    });
    key.fill(0);
    await expect(own.verifyVisitor(signed)).resolves.toMatchObject({ visitorId: 'v' });
  });
});

describe('token service: round trips', () => {
  it('signs and verifies a site token with exp', async () => {
    const { token: signed, claims: made } = await tokens.signSite({
      siteId: 'site-1',
      assistantId: 'Support bot',
      allowedDomains: ['shop.example', 'localhost'],
      expiresInS: 86_400,
    });
    expect(decodeProtectedHeader(signed)).toEqual({ alg: 'HS256', typ: 'site+jwt' });
    expect(made).toEqual({
      jti: 'jti-1',
      siteId: 'site-1',
      assistantId: 'Support bot',
      allowedDomains: ['shop.example', 'localhost'],
      issuedAt: NOW_S * 1000,
      expiresAt: (NOW_S + 86_400) * 1000,
    });
    await expect(tokens.verifySite(signed)).resolves.toEqual(made);
  });

  it('signs a site token without exp, which verifies years later', async () => {
    const { token: signed, claims: made } = await tokens.signSite({
      siteId: 'site-1',
      assistantId: 'demo',
      allowedDomains: [],
    });
    expect(made).not.toHaveProperty('expiresAt');
    clock = NOW + 10 * 365 * 86_400_000;
    await expect(tokens.verifySite(signed)).resolves.toEqual(made);
  });

  it('signs a visitor token living visitorTtlS', async () => {
    const input = {
      visitorId: 'visitor-1',
      siteId: 'site-1',
      siteJti: 'customer:jti/1',
      origin: 'https://shop.example',
    };
    const { token: signed, claims: made } = await tokens.signVisitor(input);
    expect(decodeProtectedHeader(signed)).toEqual({ alg: 'HS256', typ: 'visitor+jwt' });
    expect(made).toEqual({
      jti: 'jti-1',
      ...input,
      issuedAt: NOW_S * 1000,
      expiresAt: (NOW_S + TTL) * 1000,
    });
    await expect(tokens.verifyVisitor(signed)).resolves.toEqual(made);
  });

  it('signs an operator token, one hour by default, with sites "*" as ["*"]', async () => {
    const input = { operatorId: 'ada@example.com', name: 'Ada L.', sites: '*', scope: ['admin'] };
    const { token: signed, claims: made } = await tokens.signOperator({ ...input, sites: '*' });
    expect(decodeProtectedHeader(signed)).toEqual({ alg: 'HS256', typ: 'operator+jwt' });
    const payload = JSON.parse(Buffer.from(signed.split('.')[1] ?? '', 'base64url').toString());
    expect(payload).toEqual({
      iss: 'postern',
      aud: 'postern:app',
      jti: 'jti-1',
      iat: NOW_S,
      exp: NOW_S + 3600,
      sub: 'ada@example.com',
      name: 'Ada L.',
      sites: ['*'],
      scope: ['admin'],
    });
    expect(made).toEqual({
      jti: 'jti-1',
      ...input,
      issuedAt: NOW_S * 1000,
      expiresAt: (NOW_S + 3600) * 1000,
    });
    await expect(tokens.verifyOperator(signed)).resolves.toEqual(made);
  });

  it('signs an operator token for listed sites with a shorter lifetime', async () => {
    const { token: signed, claims: made } = await tokens.signOperator({
      operatorId: 'op-1',
      name: 'Grace',
      sites: ['site-1', 'site-2'],
      scope: [],
      expiresInS: 600,
    });
    expect(made.sites).toEqual(['site-1', 'site-2']);
    expect(made.expiresAt).toBe((NOW_S + 600) * 1000);
    await expect(tokens.verifyOperator(signed)).resolves.toEqual(made);
  });

  it('returns frozen claims', async () => {
    const verified = await tokens.verifyOperator(token('operator'));
    expect(Object.isFrozen(verified)).toBe(true);
    expect(Object.isFrozen(verified.scope)).toBe(true);
  });

  it('refuses to sign an operator token over one hour, or a bad lifetime', async () => {
    const input = { operatorId: 'op-1', name: 'Ada', sites: ['s'], scope: [] };
    await expect(tokens.signOperator({ ...input, expiresInS: 3601 })).rejects.toThrow(
      new RangeError('expiresInS must be an integer in 1..3600'),
    );
    await expect(tokens.signOperator({ ...input, expiresInS: 0 })).rejects.toThrow(RangeError);
    await expect(
      tokens.signSite({ siteId: 's', assistantId: 'a', allowedDomains: [], expiresInS: 1.5 }),
    ).rejects.toThrow(new RangeError('expiresInS must be a positive integer'));
  });

  it('refuses to sign what it would refuse to verify', async () => {
    await expect(
      tokens.signVisitor({ visitorId: 'not an id', siteId: 's', siteJti: 'j', origin: 'o' }),
    ).rejects.toThrow(new TypeError('cannot sign: visitor token: invalid claim sub'));
    await expect(
      tokens.signOperator({ operatorId: 'op', name: ' ', sites: ['s'], scope: [] }),
    ).rejects.toThrow(new TypeError('cannot sign: operator token: invalid claim name'));
    const badIds = createTokenService({
      keys: {
        site: { current: SHARED_KEY },
        visitor: { current: SHARED_KEY },
        operator: { current: OPERATOR_KEY },
      },
      issuer: 'postern',
      visitorTtlS: TTL,
      now: () => NOW,
      randomId: () => '',
    });
    await expect(
      badIds.signSite({ siteId: 's', assistantId: 'a', allowedDomains: [] }),
    ).rejects.toThrow(new TypeError('cannot sign: site token: invalid claim jti'));
  });
});

describe('token service: malformed input', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', { token: 'a.b.c' }],
    ['an array', ['a', 'b', 'c']],
    ['bytes', new TextEncoder().encode('a.b.c')],
  ])('refuses %s: not a string', async (_, value) => {
    await expectFailed(tokens.verifyVisitor(value), 'visitor token: not a string');
  });

  it('refuses the empty string', async () => {
    await expectFailed(tokens.verifyVisitor(''), 'visitor token: empty');
  });

  it('refuses a token longer than TOKEN_MAX_LENGTH, even validly signed', async () => {
    const long = token('visitor', { pad: 'x'.repeat(4096) });
    await expectFailed(tokens.verifyVisitor(long), 'visitor token: too long');
  });

  it.each([
    ['one segment', 'abc'],
    ['two segments', () => token('visitor').split('.').slice(0, 2).join('.')],
    ['four segments', () => `${token('visitor')}.AAAA`],
    ['five segments (JWE shape)', 'a.b.c.d.e'],
  ])('refuses %s', async (_, value) => {
    const input = typeof value === 'function' ? value() : value;
    await expectFailed(tokens.verifyVisitor(input), 'visitor token: not three segments');
  });

  it.each([
    ['non-base64url characters', (h: string) => `${h.slice(0, 4)}!${h.slice(5)}`],
    ['standard base64 characters', (h: string) => `${h}+/`],
    ['padding', (h: string) => `${h}==`],
    ['an empty header', () => ''],
    ['a JSON array', () => b64([{ alg: 'HS256', typ: 'visitor+jwt' }])],
    ['not JSON', () => Buffer.from('{alg:HS256}').toString('base64url')],
    ['invalid UTF-8', () => Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')],
  ])('refuses a header with %s', async (_, mangle) => {
    const [h = '', p = '', s = ''] = token('visitor').split('.');
    await expectFailed(
      tokens.verifyVisitor(`${mangle(h)}.${p}.${s}`),
      'visitor token: malformed header',
    );
  });

  it('refuses a payload segment that is not base64url', async () => {
    const [h = '', p = '', s = ''] = token('visitor').split('.');
    await expectFailed(tokens.verifyVisitor(`${h}.${p}*.${s}`), 'visitor token: malformed payload');
    await expectFailed(tokens.verifyVisitor(`${h}..${s}`), 'visitor token: malformed payload');
  });

  it('refuses a validly signed payload of impossible base64url length', async () => {
    let payload = b64(claims('visitor'));
    while (payload.length % 4 !== 1) payload += 'A';
    const input = `${b64(header('visitor'))}.${payload}`;
    await expectFailed(
      tokens.verifyVisitor(`${input}.${hmac(input, SHARED_KEY)}`),
      'visitor token: malformed payload',
    );
  });

  it.each([
    ['a JSON array', [claims('visitor')]],
    ['a JSON string', 'visitor-1'],
    ['a JSON number', 12],
    ['JSON null', null],
  ])('refuses a validly signed payload that is %s', async (_, payload) => {
    await expectFailed(
      tokens.verifyVisitor(raw(header('visitor'), payload)),
      'visitor token: malformed payload',
    );
  });

  it('refuses a validly signed payload that is not JSON', async () => {
    const input = `${b64(header('visitor'))}.${Buffer.from('{"sub":').toString('base64url')}`;
    await expectFailed(
      tokens.verifyVisitor(`${input}.${hmac(input, SHARED_KEY)}`),
      'visitor token: malformed payload',
    );
  });

  it.each([
    ['empty', () => ''],
    ['truncated by one character', (s: string) => s.slice(0, -1)],
    ['truncated to half', (s: string) => s.slice(0, 21)],
    ['extended', (s: string) => `${s}A`],
    ['non-canonical (non-zero trailing bits)', (s: string) => `${s.slice(0, -1)}B`],
    ['not base64url', (s: string) => `${s.slice(0, -1)}=`],
  ])('refuses a signature that is %s', async (_, mangle) => {
    const [h = '', p = '', s = ''] = token('visitor').split('.');
    // A canonical 32-byte signature ends in one of 16 characters; force one so `B` is non-canonical.
    expect(s).toMatch(/[AEIMQUYcgkosw048]$/);
    await expectFailed(
      tokens.verifyVisitor(`${h}.${p}.${mangle(s)}`),
      'visitor token: malformed signature',
    );
  });
});

describe('token service: algorithms', () => {
  it.each(['none', 'None', 'NONE', 'nOnE'])('refuses alg %s, signed or not', async (alg) => {
    const input = `${b64(header('visitor', { alg }))}.${b64(claims('visitor'))}`;
    await expectFailed(tokens.verifyVisitor(`${input}.`), 'visitor token: alg not allowed');
    await expectFailed(
      tokens.verifyVisitor(`${input}.${hmac(input, SHARED_KEY)}`),
      'visitor token: alg not allowed',
    );
  });

  it.each([
    ['HS384', 'sha384'],
    ['HS512', 'sha512'],
  ])('refuses %s even when signed with the right key', async (alg, hash) => {
    const input = `${b64(header('visitor', { alg }))}.${b64(claims('visitor'))}`;
    await expectFailed(
      tokens.verifyVisitor(`${input}.${hmac(input, SHARED_KEY, hash)}`),
      'visitor token: alg not allowed',
    );
  });

  it.each([
    ['lower-case hs256', 'hs256'],
    ['missing', undefined],
    ['an array', ['HS256']],
  ])('refuses an alg that is %s', async (_, alg) => {
    await expectFailed(
      tokens.verifyVisitor(token('visitor', {}, { alg })),
      'visitor token: alg not allowed',
    );
  });

  it.each(['RS256', 'ES256'] as const)('refuses a genuine %s token', async (alg) => {
    const { privateKey } = await generateKeyPair(alg);
    const signed = await new SignJWT(claims('visitor'))
      .setProtectedHeader({ alg, typ: 'visitor+jwt' })
      .sign(privateKey);
    await expectFailed(tokens.verifyVisitor(signed), 'visitor token: alg not allowed');
  });
});

describe('token service: keys', () => {
  it.each([
    ['a wrong key', 'some-other-key-0123456789-0123456789'],
    ['the empty key', ''],
    ['"secret"', 'secret'],
    ['the key of another kind (operator)', OPERATOR_KEY],
  ])('refuses a visitor token signed with %s', async (_, key) => {
    const signed = raw(header('visitor'), claims('visitor'), key);
    await expectFailed(tokens.verifyVisitor(signed), 'visitor token: bad signature');
  });

  it('refuses an operator token signed with the visitor key', async () => {
    const signed = raw(header('operator'), claims('operator'), SHARED_KEY);
    await expectFailed(tokens.verifyOperator(signed), 'operator token: bad signature');
  });

  it('refuses a flipped signature bit', async () => {
    const [h = '', p = '', s = ''] = token('visitor').split('.');
    const flipped = `${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    await expectFailed(
      tokens.verifyVisitor(`${h}.${p}.${flipped}`),
      'visitor token: bad signature',
    );
  });

  it('verifies with the previous key during a rotation, but signs with the current one', async () => {
    const rotating = service({ visitor: { current: ROTATED_KEY, previous: SHARED_KEY } });
    const old = token('visitor');
    await expect(rotating.verifyVisitor(old)).resolves.toMatchObject({ visitorId: 'visitor-1' });

    const { token: fresh } = await rotating.signVisitor({
      visitorId: 'visitor-2',
      siteId: 'site-1',
      siteJti: 'j',
      origin: 'https://shop.example',
    });
    const currentOnly = service({ visitor: { current: ROTATED_KEY } });
    await expect(currentOnly.verifyVisitor(fresh)).resolves.toMatchObject({
      visitorId: 'visitor-2',
    });
    await expectFailed(tokens.verifyVisitor(fresh), 'visitor token: bad signature');
  });

  it('refuses a token signed with neither key of a rotation', async () => {
    const rotating = service({ visitor: { current: ROTATED_KEY, previous: SHARED_KEY } });
    const signed = raw(header('visitor'), claims('visitor'), OPERATOR_KEY);
    await expectFailed(rotating.verifyVisitor(signed), 'visitor token: bad signature');
  });

  it('reports AUTH_EXPIRED for an expired token signed with the previous key', async () => {
    const rotating = service({ visitor: { current: ROTATED_KEY, previous: SHARED_KEY } });
    clock = NOW + (TTL + 31) * 1000;
    await expectExpired(rotating.verifyVisitor(token('visitor')), 'visitor');
  });

  it('ignores kid', async () => {
    const signed = token('visitor', {}, { kid: 'https://attacker.example/key' });
    await expect(tokens.verifyVisitor(signed)).resolves.toMatchObject({ visitorId: 'visitor-1' });
  });
});

describe('token service: headers', () => {
  let trap: Server;
  let connections = 0;
  let trapUrl = '';

  beforeAll(async () => {
    trap = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}/jwks.json`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => trap.close(() => resolve()));
  });

  it.each([
    ['jku', () => trapUrl],
    ['x5u', () => trapUrl],
    ['jwk', () => ({ kty: 'oct', k: Buffer.from('attacker').toString('base64url') })],
    ['x5c', () => ['MIIBszCCAVmgAwIBAgIUQ==']],
  ])('refuses a %s header without fetching anything', async (name, value) => {
    const started = performance.now();
    // Signed with the right key: the header alone is the reason.
    await expectFailed(
      tokens.verifyVisitor(token('visitor', {}, { [name]: value() })),
      `visitor token: header ${name} refused`,
    );
    // And signed with the key the header points at: still refused, same reason.
    const forged = raw(header('visitor', { [name]: value() }), claims('visitor'), 'attacker');
    await expectFailed(tokens.verifyVisitor(forged), `visitor token: header ${name} refused`);
    expect(performance.now() - started).toBeLessThan(250);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(connections).toBe(0);
  });

  it.each([
    ['["exp"]', ['exp']],
    ['["b64"] (an extension jose itself understands)', ['b64']],
    ['an empty list', []],
    ['a string', 'exp'],
  ])('refuses crit %s', async (_, crit) => {
    await expectFailed(
      tokens.verifyVisitor(token('visitor', {}, { crit, b64: true })),
      'visitor token: header crit refused',
    );
  });

  it.each([
    ['missing', undefined],
    ['JWT', 'JWT'],
    ['upper-case', 'VISITOR+JWT'],
    ['with the media-type prefix', 'application/visitor+jwt'],
    ['not a string', ['visitor+jwt']],
  ])('refuses a typ that is %s', async (_, typ) => {
    await expectFailed(
      tokens.verifyVisitor(token('visitor', {}, { typ })),
      'visitor token: unexpected typ',
    );
  });
});

describe('token service: kinds are mutually exclusive', () => {
  it.each([
    ['site', 'visitor'],
    ['visitor', 'site'],
    ['operator', 'visitor'],
    ['visitor', 'operator'],
    ['site', 'operator'],
    ['operator', 'site'],
  ] as const)('refuses a %s token presented as %s', async (made, expected) => {
    await expectFailed(verify(expected, token(made)), `${expected} token: unexpected typ`);
  });

  it('refuses a site token relabelled visitor+jwt (same key) by its audience', async () => {
    const relabelled = raw(header('visitor'), claims('site', { exp: NOW_S + 60 }));
    await expectFailed(tokens.verifyVisitor(relabelled), 'visitor token: claim aud refused');
  });

  it('refuses an aud array that contains the expected audience', async () => {
    const signed = token('visitor', { aud: ['postern:widget', 'postern:site'] });
    await expectFailed(tokens.verifyVisitor(signed), 'visitor token: claim aud refused');
  });

  it('refuses a wrong issuer and a wrong audience', async () => {
    await expectFailed(
      tokens.verifyVisitor(token('visitor', { iss: 'someone-else' })),
      'visitor token: claim iss refused',
    );
    await expectFailed(
      tokens.verifyOperator(token('operator', { aud: 'postern:widget' })),
      'operator token: claim aud refused',
    );
  });
});

describe('token service: required claims', () => {
  const common = ['iss', 'aud', 'iat', 'jti', 'sub'];
  const cases: [TokenKind, string, string][] = [
    ...common.map((c): [TokenKind, string, string] => ['site', c, `missing claim ${c}`]),
    ['site', 'assistant_id', 'invalid claim assistant_id'],
    ['site', 'allowed_domains', 'invalid claim allowed_domains'],
    ...[...common, 'exp'].map((c): [TokenKind, string, string] => [
      'visitor',
      c,
      `missing claim ${c}`,
    ]),
    ['visitor', 'site_id', 'invalid claim site_id'],
    ['visitor', 'sjti', 'invalid claim sjti'],
    ['visitor', 'origin', 'invalid claim origin'],
    ...[...common, 'exp'].map((c): [TokenKind, string, string] => [
      'operator',
      c,
      `missing claim ${c}`,
    ]),
    ['operator', 'name', 'invalid claim name'],
    ['operator', 'sites', 'invalid claim sites'],
    ['operator', 'scope', 'invalid claim scope'],
  ];

  it.each(cases)('refuses a %s token without %s', async (kind, claim, message) => {
    await expectFailed(
      verify(kind, token(kind, { [claim]: undefined })),
      `${kind} token: ${message}`,
    );
  });

  it('accepts every kind with exactly its claims', async () => {
    for (const kind of KINDS) await expect(verify(kind, token(kind))).resolves.toBeDefined();
  });
});

describe('token service: numeric dates', () => {
  it.each([
    ['a numeric string', '9999999999', 'invalid claim exp'],
    ['huge (1e300)', 1e300, 'invalid claim exp'],
    ['beyond Number.MAX_SAFE_INTEGER', 2 ** 53, 'invalid claim exp'],
    ['beyond the largest Date', 8_640_000_000_001, 'invalid claim exp'],
    ['a float', NOW_S + 60.5, 'invalid claim exp'],
    ['null', null, 'invalid claim exp'],
  ])('refuses exp that is %s', async (_, exp, message) => {
    await expectFailed(
      tokens.verifyVisitor(token('visitor', { exp })),
      `visitor token: ${message}`,
    );
  });

  it.each([
    ['a numeric string', String(NOW_S)],
    ['a float', NOW_S + 0.5],
    ['negative', -1],
  ])('refuses iat that is %s', async (_, iat) => {
    await expectFailed(
      tokens.verifyVisitor(token('visitor', { iat })),
      'visitor token: invalid claim iat',
    );
  });

  it('refuses a huge exp on a site token, where exp is optional', async () => {
    await expectFailed(
      tokens.verifySite(token('site', { exp: 1e300 })),
      'site token: invalid claim exp',
    );
  });

  it('refuses exp not after iat', async () => {
    await expectFailed(
      tokens.verifyVisitor(token('visitor', { exp: NOW_S })),
      'visitor token: exp not after iat',
    );
  });

  it('refuses iat more than 30 s in the future, accepts 30 s', async () => {
    await expectFailed(
      tokens.verifyVisitor(token('visitor', { iat: NOW_S + 31, exp: NOW_S + 31 + TTL })),
      'visitor token: iat in the future',
    );
    await expect(
      tokens.verifyVisitor(token('visitor', { iat: NOW_S + 30, exp: NOW_S + 30 + TTL })),
    ).resolves.toBeDefined();
  });

  it('refuses nbf more than 30 s in the future, accepts 30 s, refuses a non-integer nbf', async () => {
    await expectFailed(
      tokens.verifyVisitor(token('visitor', { nbf: NOW_S + 31 })),
      'visitor token: claim nbf refused',
    );
    await expect(
      tokens.verifyVisitor(token('visitor', { nbf: NOW_S + 30 })),
    ).resolves.toBeDefined();
    await expectFailed(
      tokens.verifyVisitor(token('visitor', { nbf: String(NOW_S) })),
      'visitor token: invalid claim nbf',
    );
    await expectFailed(
      tokens.verifyVisitor(token('visitor', { nbf: NOW_S - 0.5 })),
      'visitor token: invalid claim nbf',
    );
  });

  it('refuses a visitor token living longer than visitorTtlS + 30 s', async () => {
    await expect(
      tokens.verifyVisitor(token('visitor', { exp: NOW_S + TTL + 30 })),
    ).resolves.toBeDefined();
    await expectFailed(
      tokens.verifyVisitor(token('visitor', { exp: NOW_S + TTL + 31 })),
      'visitor token: lifetime too long',
    );
  });

  it('refuses an operator token living longer than one hour', async () => {
    await expect(
      tokens.verifyOperator(token('operator', { exp: NOW_S + 3600 })),
    ).resolves.toBeDefined();
    await expectFailed(
      tokens.verifyOperator(token('operator', { exp: NOW_S + 3601 })),
      'operator token: lifetime too long',
    );
  });
});

describe('token service: expiry', () => {
  it.each(KINDS)('reports AUTH_EXPIRED for an expired, validly signed %s token', async (kind) => {
    const signed = token(kind, { iat: NOW_S - 600, exp: NOW_S - 31 });
    await expectExpired(verify(kind, signed), kind);
  });

  it('reports AUTH_EXPIRED once the clock passes exp + 30 s, not before', async () => {
    const { token: signed } = await tokens.signVisitor({
      visitorId: 'v',
      siteId: 's',
      siteJti: 'j',
      origin: 'https://shop.example',
    });
    clock = NOW + (TTL + 29) * 1000;
    await expect(tokens.verifyVisitor(signed)).resolves.toMatchObject({ visitorId: 'v' });
    clock = NOW + (TTL + 30) * 1000;
    await expectExpired(tokens.verifyVisitor(signed), 'visitor');
  });

  it('accepts a token expired within the 30 s tolerance', async () => {
    const signed = token('visitor', { iat: NOW_S - 600, exp: NOW_S - 29 });
    await expect(tokens.verifyVisitor(signed)).resolves.toMatchObject({
      expiresAt: (NOW_S - 29) * 1000,
    });
  });

  it('reports AUTH_FAILED, never AUTH_EXPIRED, for an expired token with a bad signature', async () => {
    const expired = claims('visitor', { iat: NOW_S - 600, exp: NOW_S - 300 });
    for (const key of ['secret', '', OPERATOR_KEY]) {
      await expectFailed(
        tokens.verifyVisitor(raw(header('visitor'), expired, key)),
        'visitor token: bad signature',
      );
    }
    const [h = '', p = ''] = raw(header('visitor'), expired).split('.');
    await expectFailed(tokens.verifyVisitor(`${h}.${p}.`), 'visitor token: malformed signature');
  });

  it('reports AUTH_FAILED for an expired genuine token that is otherwise invalid', async () => {
    const old = { iat: NOW_S - 600, exp: NOW_S - 300 };
    await expectFailed(
      tokens.verifyVisitor(token('visitor', { ...old, site_id: undefined })),
      'visitor token: invalid claim site_id',
    );
    await expectFailed(
      tokens.verifyVisitor(token('visitor', { ...old, aud: 'postern:site' })),
      'visitor token: claim aud refused',
    );
    await expectFailed(
      tokens.verifyVisitor(token('visitor', { ...old, exp: NOW_S - 300.5 })),
      'visitor token: invalid claim exp',
    );
    await expectFailed(verify('site', token('visitor', old)), 'site token: unexpected typ');
  });

  it('reports AUTH_EXPIRED for a site token whose optional exp has passed', async () => {
    const { token: signed } = await tokens.signSite({
      siteId: 'site-1',
      assistantId: 'demo',
      allowedDomains: ['shop.example'],
      expiresInS: 60,
    });
    clock = NOW + 91_000;
    await expectExpired(tokens.verifySite(signed), 'site');
  });
});

describe('token service: claim shapes', () => {
  it.each([
    ['empty', ''],
    ['129 characters', 'j'.repeat(129)],
    ['containing a space', 'a b'],
    ['containing a control character', 'a\u0000b'],
    ['non-ASCII', 'jtï'],
    ['a number', 42],
  ])('refuses a jti that is %s', async (_, jti) => {
    await expectFailed(tokens.verifySite(token('site', { jti })), 'site token: invalid claim jti');
  });

  it('accepts a customer jti of 128 printable characters', async () => {
    const jti = `${'~!'.repeat(63)}zz`;
    await expect(tokens.verifySite(token('site', { jti }))).resolves.toMatchObject({ jti });
  });

  it.each([
    ['site', 'sub', 'site 1'],
    ['site', 'sub', 's'.repeat(65)],
    ['site', 'sub', 42],
    ['site', 'assistant_id', ''],
    ['site', 'assistant_id', 'a'.repeat(129)],
    ['site', 'assistant_id', 'bot\u0007'],
    ['site', 'allowed_domains', 'shop.example'],
    ['site', 'allowed_domains', ['shop.example', 42]],
    ['site', 'allowed_domains', { 0: 'shop.example' }],
    ['visitor', 'sub', 'visitor/1'],
    ['visitor', 'site_id', ''],
    ['visitor', 'sjti', 'x'.repeat(129)],
    ['visitor', 'origin', ''],
    ['visitor', 'origin', 'https://shop.example\n'],
    ['visitor', 'origin', ['https://shop.example']],
    ['operator', 'sub', 'has space'],
    ['operator', 'name', ''],
    ['operator', 'name', '   '],
    ['operator', 'name', 'n'.repeat(101)],
    ['operator', 'name', 'Ada\u202Egnp.exe'],
    ['operator', 'name', 'Ada\u0000'],
    ['operator', 'name', 'Ada\uD800'],
    ['operator', 'name', { first: 'Ada' }],
    ['operator', 'sites', '*'],
    ['operator', 'sites', ['*', 'site-1']],
    ['operator', 'sites', ['site 1']],
    ['operator', 'sites', [42]],
    ['operator', 'scope', 'admin'],
    ['operator', 'scope', ['']],
    ['operator', 'scope', ['s'.repeat(65)]],
    ['operator', 'scope', [null]],
  ] as [TokenKind, string, unknown][])(
    'refuses a %s token whose %s is %j',
    async (kind, claim, value) => {
      await expectFailed(
        verify(kind, token(kind, { [claim]: value })),
        `${kind} token: invalid claim ${claim}`,
      );
    },
  );

  it('accepts boundary shapes: 100-character name, empty site list, empty domains', async () => {
    await expect(
      tokens.verifyOperator(token('operator', { name: 'n'.repeat(100), sites: [], scope: [] })),
    ).resolves.toMatchObject({ sites: [], scope: [] });
    await expect(tokens.verifySite(token('site', { allowed_domains: [] }))).resolves.toMatchObject({
      allowedDomains: [],
    });
  });

  it('hands allowed_domains over as strings, unjudged (domain rules live elsewhere)', async () => {
    const allowed_domains = ['*', '.example.com', 'com', 'EXAMPLE.COM'];
    await expect(tokens.verifySite(token('site', { allowed_domains }))).resolves.toMatchObject({
      allowedDomains: allowed_domains,
    });
  });

  it('ignores unknown claims and prototype keys', async () => {
    const input = `${b64(header('operator'))}.${Buffer.from(
      JSON.stringify(claims('operator')).replace(/^\{/, '{"__proto__":{"sites":["*"]},"x":1,'),
    ).toString('base64url')}`;
    const signed = `${input}.${hmac(input, OPERATOR_KEY)}`;
    await expect(tokens.verifyOperator(signed)).resolves.toMatchObject({ sites: ['site-1'] });
  });
});

describe('token service: error messages', () => {
  it('never contain the token, any segment of it, or a cause', async () => {
    const samples = [
      token('visitor', {}, { jku: 'http://127.0.0.1:1/' }),
      token('visitor', { exp: NOW_S - 300, iat: NOW_S - 600 }),
      raw(header('visitor'), claims('visitor'), 'secret'),
      token('visitor', { origin: 'https://evil.example\r\nX-Injected: 1' }),
    ];
    for (const sample of samples) {
      const error = await refusal(tokens.verifyVisitor(sample));
      for (const part of [sample, ...sample.split('.')]) {
        expect(error.message).not.toContain(part);
        expect(error.stack ?? '').not.toContain(part);
      }
      expect(error.message).not.toContain('evil');
      expect(error.cause).toBeUndefined();
    }
  });
});
