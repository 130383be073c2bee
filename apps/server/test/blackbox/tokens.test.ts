/**
 * Black box: forged, confused and malformed tokens (SPEC §2), presented as a customer's page and
 * an attacker would — site tokens to the session endpoint, operator and visitor tokens in `auth`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, closeOf, httpCall, nextFrame, wsOpen } from './support/clients.js';
import {
  APP_ORIGIN,
  FOREIGN_ORIGIN,
  loopbackPool,
  OPERATOR_SECRET,
  type ServerProcess,
  SHOP_ORIGIN,
  SITE_SECRET,
  startServer,
  VISITOR_SECRET,
} from './support/server-process.js';
import {
  craftJws,
  mintOperator,
  mintSite,
  operatorClaims,
  randomId,
  siteClaims,
} from './support/tokens.js';

const nextIp = loopbackPool(13);
let server: ServerProcess;
/** Stands in for an attacker's key server: accepts connections and never answers. */
let trap: Server;
let trapHits = 0;
let trapUrl = '';

beforeAll(async () => {
  server = await startServer();
  trap = createServer(() => {
    trapHits += 1;
  });
  trap.on('connection', () => {
    trapHits += 1;
  });
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
});
afterAll(async () => {
  trap?.closeAllConnections();
  await new Promise((resolve) => trap?.close(resolve));
  await server?.dispose();
});

/** `POST /v1/widget/session` with `siteToken`, from a fresh address (the session rate is per IP). */
const session = (siteToken: string, origin = SHOP_ORIGIN) =>
  httpCall({
    port: server.port,
    method: 'POST',
    path: `/v1/widget/session?site_token=${encodeURIComponent(siteToken)}`,
    headers: { Origin: origin, 'Content-Type': 'application/json' },
    body: '{}',
    localAddress: nextIp(),
  });

/** Presents `token` in `auth` on `/v1/ws/<endpoint>`; the close code (or 0 for `ready`) and time. */
async function authOutcome(
  token: string,
  endpoint: 'app' | 'widget' = 'app',
  origin = endpoint === 'app' ? APP_ORIGIN : SHOP_ORIGIN,
): Promise<{ code: number; ms: number }> {
  const ws = await wsOpen(`${server.wsBase}/v1/ws/${endpoint}`, {
    origin,
    localAddress: nextIp(),
  });
  ws.on('error', () => undefined);
  const started = Date.now();
  try {
    await authenticate(ws, token);
    ws.close();
    return { code: 0, ms: Date.now() - started };
  } catch (error) {
    const code = Number(/auth refused: (\d+)/.exec(String(error))?.[1] ?? -1);
    return { code, ms: Date.now() - started };
  }
}

/** Asserts the session endpoint refused `token` with `status` and `code`, and leaked nothing. */
async function expectSessionRefused(token: string, label: string, code = 'unauthorized') {
  const answer = await session(token);
  expect({ label, status: answer.status, body: answer.json }).toEqual({
    label,
    status: code === 'origin_not_allowed' ? 403 : 401,
    body: { error: code },
  });
}

const ALG_NONE = ['none', 'None', 'NONE', 'nOnE', 'NoNe'];

describe('black box: tokens', () => {
  it('accepts tokens minted by the SPEC recipe (the control case)', async () => {
    const answer = await session(await mintSite());
    expect(answer.status).toBe(200);
    const body = answer.json as Record<string, unknown>;
    expect(typeof body['visitor_token']).toBe('string');
    expect(await authOutcome(String(body['visitor_token']), 'widget')).toMatchObject({ code: 0 });
    expect(await authOutcome(await mintOperator())).toMatchObject({ code: 0 });
    await server.assertAlive();
  });

  it('refuses alg none in every casing', async () => {
    for (const alg of ALG_NONE) {
      const header = { alg, typ: 'site+jwt' };
      await expectSessionRefused(craftJws(header, siteClaims(), { signature: '' }), alg);
      await expectSessionRefused(craftJws(header, siteClaims(), { key: SITE_SECRET }), alg);
      const operator = craftJws({ alg, typ: 'operator+jwt' }, operatorClaims(), { signature: '' });
      expect((await authOutcome(operator)).code, alg).toBe(4002);
    }
    await server.assertAlive();
  });

  it('refuses asymmetric and other algorithms, even HMAC-signed with the right key', async () => {
    for (const alg of ['RS256', 'ES256', 'PS256', 'EdDSA', 'HS512', 'HS384', 'hs256']) {
      await expectSessionRefused(
        craftJws({ alg, typ: 'site+jwt' }, siteClaims(), { key: SITE_SECRET }),
        alg,
      );
      const operator = craftJws({ alg, typ: 'operator+jwt' }, operatorClaims(), {
        key: OPERATOR_SECRET,
      });
      expect((await authOutcome(operator)).code, alg).toBe(4002);
    }
    await server.assertAlive();
  });

  it('refuses jku, x5u, jwk, x5c and crit headers without fetching anything', async () => {
    const headers: Record<string, unknown>[] = [
      { jku: `${trapUrl}/jwks.json` },
      { x5u: 'http://127.0.0.1:1/cert.pem' },
      { x5u: `${trapUrl}/cert.pem` },
      { jwk: { kty: 'oct', k: Buffer.from('attacker').toString('base64url') } },
      { x5c: ['MIIBkTCB+wIJAL'] },
      { crit: ['exp'], exp: 1 },
    ];
    for (const extra of headers) {
      const label = Object.keys(extra).join();
      const started = Date.now();
      await expectSessionRefused(
        craftJws({ alg: 'HS256', typ: 'site+jwt', ...extra }, siteClaims(), { key: SITE_SECRET }),
        label,
      );
      const operator = craftJws({ alg: 'HS256', typ: 'operator+jwt', ...extra }, operatorClaims(), {
        key: OPERATOR_SECRET,
      });
      const outcome = await authOutcome(operator);
      expect(outcome.code, label).toBe(4002);
      // A fetch of the trap would hang; a refusal without one is immediate.
      expect(Date.now() - started, label).toBeLessThan(1_000);
    }
    // Signed with the attacker's own embedded key: still nothing.
    const embedded = craftJws(
      { alg: 'HS256', typ: 'site+jwt', jwk: { kty: 'oct', k: 'YXR0YWNrZXI' } },
      siteClaims(),
      { key: 'attacker' },
    );
    await expectSessionRefused(embedded, 'jwk self-signed');
    expect(trapHits).toBe(0);
    await server.assertAlive();
  });

  it('ignores kid (no rotation configured) and never uses it to pick a key', async () => {
    const kidded = craftJws({ alg: 'HS256', typ: 'site+jwt', kid: 'any' }, siteClaims(), {
      key: SITE_SECRET,
    });
    expect((await session(kidded)).status).toBe(200);
    const traversal = craftJws(
      { alg: 'HS256', typ: 'site+jwt', kid: '../../../../../../dev/null' },
      siteClaims(),
      { key: '' },
    );
    await expectSessionRefused(traversal, 'kid traversal, empty key');
    await server.assertAlive();
  });

  it('refuses truncated and mangled signatures', async () => {
    const good = await mintSite();
    const [header = '', payload = '', signature = ''] = good.split('.');
    const variants = {
      'one char short': `${header}.${payload}.${signature.slice(0, -1)}`,
      'half signature': `${header}.${payload}.${signature.slice(0, 21)}`,
      'empty signature': `${header}.${payload}.`,
      'no signature segment': `${header}.${payload}`,
      'flipped last char': `${header}.${payload}.${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`,
      'padded signature': `${header}.${payload}.${signature}==`,
      'four segments': `${good}.${signature}`,
      garbage: 'not-a-token',
      'empty string': '',
    };
    for (const [label, token] of Object.entries(variants)) {
      await expectSessionRefused(token, label);
    }
    const operator = await mintOperator();
    expect((await authOutcome(operator.slice(0, -2))).code).toBe(4002);
    await server.assertAlive();
  });

  it('refuses tokens forged with guessed or cross-kind keys', async () => {
    for (const key of ['secret', '', 'postern', 'changeme', VISITOR_SECRET, OPERATOR_SECRET]) {
      await expectSessionRefused(
        craftJws({ alg: 'HS256', typ: 'site+jwt' }, siteClaims(), { key }),
        `key "${key.slice(0, 12)}"`,
      );
    }
    for (const key of ['secret', '', SITE_SECRET, VISITOR_SECRET]) {
      const operator = craftJws({ alg: 'HS256', typ: 'operator+jwt' }, operatorClaims(), { key });
      expect((await authOutcome(operator)).code).toBe(4002);
    }
    await server.assertAlive();
  });

  it('refuses a token of one kind where another is expected', async () => {
    const operator = await mintOperator();
    await expectSessionRefused(operator, 'operator token as site token');
    expect((await authOutcome(await mintSite())).code).toBe(4002);
    // Right key, wrong typ or aud.
    const typJwt = craftJws({ alg: 'HS256', typ: 'JWT' }, siteClaims(), { key: SITE_SECRET });
    await expectSessionRefused(typJwt, 'typ JWT');
    const noTyp = craftJws({ alg: 'HS256' }, siteClaims(), { key: SITE_SECRET });
    await expectSessionRefused(noTyp, 'no typ');
    const wrongAud = craftJws(
      { alg: 'HS256', typ: 'site+jwt' },
      { ...siteClaims(), aud: 'postern:app' },
      { key: SITE_SECRET },
    );
    await expectSessionRefused(wrongAud, 'aud postern:app');
    const wrongIss = craftJws(
      { alg: 'HS256', typ: 'site+jwt' },
      { ...siteClaims(), iss: 'evil' },
      { key: SITE_SECRET },
    );
    await expectSessionRefused(wrongIss, 'iss evil');
    await server.assertAlive();
  });

  it('refuses a site token whose allowed_domains has any invalid entry', async () => {
    const lists: unknown[] = [
      ['com'],
      ['co.uk'],
      ['github.io'],
      ['*'],
      ['*.shop.example'],
      ['.shop.example'],
      ['shop.example', 'com'],
      ['https://shop.example'],
      ['shop.example:443'],
      ['SHOP.EXAMPLE'],
      [''],
      'shop.example',
      Array.from({ length: 101 }, (_, i) => `s${i}.shop.example`),
    ];
    for (const allowedDomains of lists) {
      await expectSessionRefused(
        await mintSite({ allowedDomains }),
        JSON.stringify(allowedDomains).slice(0, 40),
      );
    }
    // A valid list still keeps foreign and look-alike origins out.
    const valid = await mintSite();
    for (const origin of [
      FOREIGN_ORIGIN,
      'https://evilshop.example',
      'https://shop.example.evil',
    ]) {
      const answer = await session(valid, origin);
      expect({ origin, status: answer.status, body: answer.json }).toEqual({
        origin,
        status: 403,
        body: { error: 'origin_not_allowed' },
      });
    }
    await server.assertAlive();
  });

  it('answers an expired site token with 401 token_expired, unless its signature is bad', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectSessionRefused(
      await mintSite({ iat: now - 7_200, exp: now - 3_600 }),
      'expired',
      'token_expired',
    );
    const forgedExpired = craftJws(
      { alg: 'HS256', typ: 'site+jwt' },
      { ...siteClaims(), iat: now - 7_200, exp: now - 3_600 },
      { key: 'secret' },
    );
    await expectSessionRefused(forgedExpired, 'expired and forged');
    await server.assertAlive();
  });

  it('refuses operator tokens living over an hour, and closes 4001 on expired ones', async () => {
    expect((await authOutcome(await mintOperator({ lifetimeS: 7_200 }))).code).toBe(4002);
    const now = Math.floor(Date.now() / 1000);
    expect((await authOutcome(await mintOperator({ iat: now - 7_200 }))).code).toBe(4001);
    const noExp = { ...operatorClaims() };
    delete noExp['exp'];
    const unbounded = craftJws({ alg: 'HS256', typ: 'operator+jwt' }, noExp, {
      key: OPERATOR_SECRET,
    });
    expect((await authOutcome(unbounded)).code).toBe(4002);
    await server.assertAlive();
  });

  it('binds a visitor token to its origin and its key', async () => {
    const answer = await session(await mintSite());
    const visitorToken = String((answer.json as Record<string, unknown>)['visitor_token']);
    expect((await authOutcome(visitorToken, 'widget', 'https://www.shop.example')).code).toBe(4003);
    expect((await authOutcome(visitorToken, 'widget', FOREIGN_ORIGIN)).code).toBe(4003);
    // Re-signed with the site key (claims kept): not a visitor token any more.
    const [, payload = ''] = visitorToken.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    for (const key of [SITE_SECRET, 'secret']) {
      const forged = craftJws({ alg: 'HS256', typ: 'visitor+jwt' }, claims, { key });
      expect((await authOutcome(forged, 'widget')).code).toBe(4002);
    }
    // A visitor token for an invented visitor, signed right, minted from no recorded site token.
    const invented = craftJws(
      { alg: 'HS256', typ: 'visitor+jwt' },
      { ...claims, sub: randomId(), sjti: randomId(), jti: randomId() },
      { key: VISITOR_SECRET },
    );
    expect([4002, 4004, 4006]).toContain((await authOutcome(invented, 'widget')).code);
    await server.assertAlive();
  });

  it('survives oversized and garbage tokens in the URL and in auth', async () => {
    const huge = 'a'.repeat(12_000);
    const answer = await session(huge);
    expect([400, 401, 414, 431]).toContain(answer.status);
    expect((await authOutcome(`${huge}.${huge}.${huge}`.slice(0, 15_000))).code).toBe(4002);
    for (const token of [
      'a.b.c',
      '..',
      `${Buffer.from('{"alg":"HS256","typ":"operator+jwt"}').toString('base64url')}.e30.`,
    ]) {
      expect((await authOutcome(token)).code, token).toBe(4002);
    }
    await server.assertAlive();
  });

  it('answers an auth frame with a non-string token with error invalid, then 4007 on time', async () => {
    const ws = await wsOpen(`${server.wsBase}/v1/ws/app`, {
      origin: APP_ORIGIN,
      localAddress: nextIp(),
    });
    const closed = closeOf(ws, 8_000);
    const error = nextFrame(ws, (frame) => frame['type'] === 'error');
    const started = Date.now();
    ws.send(JSON.stringify({ type: 'auth', token: { alg: 'none' } }));
    expect(await error).toMatchObject({ type: 'error', code: 'invalid' });
    // Still unauthenticated: the auth deadline (POSTERN_AUTH_TIMEOUT_MS, 5000) ends it.
    expect((await closed)?.code).toBe(4007);
    expect(Date.now() - started).toBeGreaterThan(4_000);
    await server.assertAlive();
  }, 10_000);

  it('exits 0 within 5 s of SIGTERM', async () => {
    const exit = await server.stop('SIGTERM', 5_000);
    expect(exit).toEqual({ code: 0, signal: null });
  });
});
