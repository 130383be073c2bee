import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, SHOP, SITE_SECRET, VISITOR_SECRET } from '../support/harness.js';
import {
  createTestClock,
  expectError,
  getWidgetMessages,
  newSession,
  postSession,
  startApiHarness,
} from './api-client.js';

let harness: Harness;
afterEach(() => harness.close());

const nowS = () => Math.floor(Date.now() / 1000);

/** A site token signed by hand, so tests can break exactly one thing about it. */
function signSite(
  overrides: Record<string, unknown> = {},
  options: { key?: string; typ?: string } = {},
): Promise<string> {
  const iat = nowS() - 60;
  return new SignJWT({
    iss: 'postern',
    aud: 'postern:site',
    sub: 'site_shop',
    jti: randomUUID(),
    iat,
    assistant_id: 'assistant_1',
    allowed_domains: ['shop.example'],
    ...overrides,
  })
    .setProtectedHeader({ alg: 'HS256', typ: options.typ ?? 'site+jwt' })
    .sign(new TextEncoder().encode(options.key ?? SITE_SECRET));
}

function unsigned(header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(payload)}.`;
}

describe('POST /v1/widget/session: the site token', () => {
  it('grants a session for a genuine token (control for every refusal below)', async () => {
    harness = await startApiHarness();
    expect((await postSession(harness, await signSite())).status).toBe(200);
  });

  it('refuses a request without site_token with 401', async () => {
    harness = await startApiHarness();
    const res = await fetch(`${harness.base}/v1/widget/session`, {
      method: 'POST',
      headers: { Origin: SHOP, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
    expect(await res.text()).toBe('{"error":"unauthorized"}');
  });

  it.each([
    ['garbage', async () => 'garbage'],
    ['an empty token', async () => ''],
    ['three dots of nothing', async () => '..'],
    [
      'alg none',
      async () =>
        unsigned(
          { alg: 'none', typ: 'site+jwt' },
          {
            iss: 'postern',
            aud: 'postern:site',
            sub: 'site_shop',
            jti: 'j1',
            iat: nowS(),
            assistant_id: 'a',
            allowed_domains: ['shop.example'],
          },
        ),
    ],
    ['the wrong key', () => signSite({}, { key: 'another-site-secret-0123456789abcdef' })],
    ['the visitor key', () => signSite({}, { key: VISITOR_SECRET })],
    ['an operator typ', () => signSite({}, { typ: 'operator+jwt' })],
    ['no typ', () => signSite({}, { typ: 'JWT' })],
    ['a foreign issuer', () => signSite({ iss: 'someone-else' })],
    ['a foreign audience', () => signSite({ aud: 'postern:app' })],
    ['an audience array', () => signSite({ aud: ['postern:site', 'x'] })],
    ['no jti', () => signSite({ jti: undefined })],
    ['no sub', () => signSite({ sub: undefined })],
    [
      'an expired token with a bad signature',
      () => signSite({ exp: nowS() - 600 }, { key: 'x'.repeat(40) }),
    ],
  ])('refuses %s with 401 unauthorized', async (_label, make) => {
    harness = await startApiHarness();
    const res = await postSession(harness, await make());
    expectError(res, 401, 'unauthorized');
    expect(res.headers.get('access-control-allow-origin')).toBe(SHOP);
  });

  it('refuses an operator token (right key for its kind) used as a site token', async () => {
    harness = await startApiHarness();
    const operator = await harness.operatorToken();
    expectError(await postSession(harness, operator), 401, 'unauthorized');
  });

  it('refuses a visitor token used as a site token', async () => {
    harness = await startApiHarness();
    const site = await harness.siteToken();
    const session = await newSession(harness, site.token);
    expectError(await postSession(harness, session.visitorToken), 401, 'unauthorized');
  });

  it('refuses an operator-typed token signed with the site key', async () => {
    harness = await startApiHarness();
    const forged = await new SignJWT({
      iss: 'postern',
      aud: 'postern:app',
      sub: 'op',
      jti: 'j',
      iat: nowS(),
      exp: nowS() + 600,
      name: 'x',
      sites: ['*'],
      scope: ['admin'],
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'operator+jwt' })
      .sign(new TextEncoder().encode(SITE_SECRET));
    expectError(await postSession(harness, forged), 401, 'unauthorized');
  });

  it('answers an expired site token with a valid signature 401 token_expired', async () => {
    harness = await startApiHarness();
    const expired = await signSite({ iat: nowS() - 7200, exp: nowS() - 600 });
    expectError(await postSession(harness, expired), 401, 'token_expired');
  });

  it('lets a site token expire on the server clock (30 s tolerance, no more)', async () => {
    const clock = createTestClock();
    harness = await startApiHarness({ now: clock.now });
    const site = await harness.siteToken({ expiresInS: 60 });
    clock.advance(60_000 + 29_000);
    expect((await postSession(harness, site.token)).status).toBe(200);
    clock.advance(2_000);
    expectError(await postSession(harness, site.token), 401, 'token_expired');
  });

  describe('allowed_domains is refused as a whole', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => `a${i}.shop.example`);

    it('grants 100 valid entries and localhost (controls)', async () => {
      harness = await startApiHarness();
      const many = await signSite({ allowed_domains: ['shop.example', ...hundred.slice(1)] });
      expect((await postSession(harness, many)).status).toBe(200);
      const local = await signSite({ allowed_domains: ['localhost'] });
      const res = await postSession(harness, local, { origin: 'http://localhost:3000' });
      expect(res.status).toBe(200);
    });

    it.each([
      ['com', ['com']],
      ['co.uk', ['co.uk']],
      ['github.io', ['github.io']],
      ['*', ['*']],
      ['*.shop.example', ['*.shop.example']],
      ['.shop.example', ['.shop.example']],
      ['shop.example.', ['shop.example.']],
      ['Shop.Example', ['Shop.Example']],
      ['shop.example:8080', ['shop.example:8080']],
      ['http://shop.example', ['http://shop.example']],
      ['shop.example/path', ['shop.example/path']],
      ['an empty entry', ['']],
      ['an empty list', []],
      ['an IPv4 address', ['127.0.0.1']],
      ['a Unicode host', ['shöp.example']],
      ['a valid entry next to a public suffix', ['shop.example', 'com']],
      ['a valid entry next to a wildcard', ['shop.example', '*']],
      ['101 entries', ['shop.example', ...hundred]],
      ['a string instead of an array', 'shop.example'],
      ['an object', { 0: 'shop.example' }],
      ['a number entry', ['shop.example', 5]],
      ['a missing claim', undefined],
    ])('refuses %s with 401', async (_label, domains) => {
      harness = await startApiHarness();
      const token = await signSite({ allowed_domains: domains });
      const res = await postSession(harness, token);
      expectError(res, 401, 'unauthorized');
    });
  });
});

describe('GET /v1/widget/dialogs/:id/messages: the bearer visitor token', () => {
  async function setup() {
    harness = await startApiHarness();
    const site = await harness.siteToken();
    return { site, session: await newSession(harness, site.token) };
  }

  it('serves the visitor its own dialog (control)', async () => {
    const { session } = await setup();
    const res = await getWidgetMessages(
      harness,
      session.dialogId,
      `Bearer ${session.visitorToken}`,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ messages: [], next_after_seq: null });
  });

  it.each([
    ['no Authorization', () => null],
    ['garbage', () => 'Bearer garbage'],
    ['an empty bearer', () => 'Bearer '],
    ['another scheme', (token: string) => `Basic ${token}`],
    ['the token without a scheme', (token: string) => token],
  ])('refuses %s with 401', async (_label, header) => {
    const { session } = await setup();
    const res = await getWidgetMessages(harness, session.dialogId, header(session.visitorToken));
    expectError(res, 401, 'unauthorized');
  });

  it('refuses an operator token with 401', async () => {
    const { session } = await setup();
    const operator = await harness.operatorToken();
    const res = await getWidgetMessages(harness, session.dialogId, `Bearer ${operator}`);
    expectError(res, 401, 'unauthorized');
  });

  it('refuses a site token with 401', async () => {
    const { site, session } = await setup();
    const res = await getWidgetMessages(harness, session.dialogId, `Bearer ${site.token}`);
    expectError(res, 401, 'unauthorized');
  });

  it.each(['http://sub.shop.example:8080', 'https://shop.example:8080', 'http://evil.test'])(
    'refuses the visitor token from %s (not its origin) with 403',
    async (origin) => {
      const { session } = await setup();
      const res = await getWidgetMessages(
        harness,
        session.dialogId,
        `Bearer ${session.visitorToken}`,
        origin,
      );
      expectError(res, 403, 'origin_not_allowed');
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    },
  );

  it('refuses the visitor token without Origin with 403', async () => {
    const { session } = await setup();
    const res = await getWidgetMessages(
      harness,
      session.dialogId,
      `Bearer ${session.visitorToken}`,
      null,
    );
    expectError(res, 403, 'origin_not_allowed');
  });

  it('answers another visitor’s dialog exactly like a missing one: 404 not_found', async () => {
    const { site, session } = await setup();
    const other = await newSession(harness, site.token);
    const bearer = `Bearer ${session.visitorToken}`;
    const foreign = await getWidgetMessages(harness, other.dialogId, bearer);
    const missing = await getWidgetMessages(harness, 'A'.repeat(22), bearer);
    expectError(foreign, 404, 'not_found');
    expectError(missing, 404, 'not_found');
    expect([...foreign.headers.keys()].sort()).toEqual([...missing.headers.keys()].sort());
  });

  it('answers another site’s visitor dialog 404 not_found', async () => {
    const { session } = await setup();
    const otherSite = await harness.siteToken({ siteId: 'site_other' });
    const other = await newSession(harness, otherSite.token);
    const res = await getWidgetMessages(harness, other.dialogId, `Bearer ${session.visitorToken}`);
    expectError(res, 404, 'not_found');
  });

  it('answers an expired visitor token 401 token_expired', async () => {
    const clock = createTestClock();
    harness = await startApiHarness({ now: clock.now, env: { POSTERN_VISITOR_TTL_S: '60' } });
    const site = await harness.siteToken();
    const session = await newSession(harness, site.token);
    clock.advance(60_000 + 31_000);
    const res = await getWidgetMessages(
      harness,
      session.dialogId,
      `Bearer ${session.visitorToken}`,
    );
    expectError(res, 401, 'token_expired');
  });
});
