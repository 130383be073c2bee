import { Paths } from '@postern/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APP, type Harness, SHOP } from '../support/harness.js';
import {
  type ApiResponse,
  expectError,
  getWidgetMessages,
  newSession,
  postRevocation,
  postSession,
  preflight,
  rawRequest,
  sessionPath,
  startApiHarness,
} from './api-client.js';

let harness: Harness;
let siteToken: string;
beforeEach(async () => {
  harness = await startApiHarness();
  siteToken = (await harness.siteToken()).token;
});
afterEach(() => harness.close());

/** What every actual widget-route response carries, whatever its status (SPEC §3). */
function expectWidgetCors(res: ApiResponse, origin: string): void {
  expect(res.headers.get('access-control-allow-origin')).toBe(origin);
  expect(res.headers.get('access-control-expose-headers')).toBe('Retry-After');
  expect(res.headers.get('vary')).toBe('Origin');
  expect(res.headers.has('access-control-allow-credentials')).toBe(false);
}

function expectApiHeaders(res: ApiResponse): void {
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
}

describe('widget routes: CORS on POST /v1/widget/session', () => {
  it('reflects the request origin on a granted session, never with credentials', async () => {
    const res = await postSession(harness, siteToken);
    expect(res.status).toBe(200);
    expectWidgetCors(res, SHOP);
    expectApiHeaders(res);
    expect(typeof res.body['visitor_token']).toBe('string');
  });

  it.each([
    'http://evil.test',
    'http://shop.example.evil.test:8080',
    'http://evilshop.example:8080',
    'http://xn--shp-ted.example',
    'http://xn--shop-example-ls4d.test',
    'http://example:8080',
    'http://127.0.0.1:8080',
  ])('refuses %s readably: 403 origin_not_allowed, ACAO present, no token', async (origin) => {
    const res = await postSession(harness, siteToken, { origin });
    expectError(res, 403, 'origin_not_allowed');
    expectWidgetCors(res, origin);
    expectApiHeaders(res);
    expect(res.text).not.toContain('token');
  });

  it.each([
    'http://sub.shop.example:8080',
    'http://a.b.shop.example',
    'https://shop.example',
    'http://shop.example:9999',
  ])('grants %s: a subdomain, or any scheme and port of an allowed host', async (origin) => {
    const res = await postSession(harness, siteToken, { origin });
    expect(res.status).toBe(200);
    expectWidgetCors(res, origin);
  });

  it('reflects the normalised origin (lower-case host, default port dropped)', async () => {
    const res = await postSession(harness, siteToken, { origin: 'HTTP://Shop.Example:80' });
    expect(res.status).toBe(200);
    expectWidgetCors(res, 'http://shop.example');
  });

  it.each([
    'null',
    'file://',
    'http://user@shop.example',
    'http://shop.example/path',
    'http://shop.example.',
    'chrome-extension://abcdef',
  ])('refuses Origin %j with 403 and no ACAO (nothing valid to reflect)', async (origin) => {
    const res = await postSession(harness, siteToken, { origin });
    expectError(res, 403, 'origin_not_allowed');
    expect(res.headers.has('access-control-allow-origin')).toBe(false);
    expect(res.headers.has('access-control-allow-credentials')).toBe(false);
  });

  it('refuses a request without Origin: a visitor is bound to a page', async () => {
    const res = await postSession(harness, siteToken, { origin: null });
    expectError(res, 403, 'origin_not_allowed');
  });

  it('grants one Origin header sent through the same raw client (control)', async () => {
    const res = await rawRequest(harness.base, {
      method: 'POST',
      path: sessionPath(siteToken),
      headers: ['Content-Type', 'application/json', 'Origin', SHOP],
      body: '{}',
    });
    expect(res.status).toBe(200);
  });

  it.each([
    ['the same origin twice', [SHOP, SHOP]],
    ['an allowed and a foreign origin', [SHOP, 'http://evil.test']],
    ['a foreign and an allowed origin', ['http://evil.test', SHOP]],
  ])('refuses two Origin headers (%s) with 403 and no token', async (_label, origins) => {
    const res = await rawRequest(harness.base, {
      method: 'POST',
      path: sessionPath(siteToken),
      headers: [
        'Content-Type',
        'application/json',
        'Origin',
        origins[0] ?? '',
        'Origin',
        origins[1] ?? '',
      ],
      body: '{}',
    });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ error: 'origin_not_allowed' });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it.each([SHOP, 'http://evil.test'])(
    'answers a preflight from %s with 204 that grants nothing by itself',
    async (origin) => {
      const res = await preflight(harness, sessionPath(siteToken), origin);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      expect(res.headers.get('access-control-allow-methods')?.split(/,\s*/)).toContain('POST');
      expect(res.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
      expect(res.headers.get('access-control-max-age')).toBe('600');
      expect(res.headers.get('vary')).toBe('Origin');
      expect(res.headers.has('access-control-allow-credentials')).toBe(false);
      expectApiHeaders(res);

      // The preflight was answered; the actual request is still the server's own origin check.
      const actual = await postSession(harness, siteToken, { origin });
      expect(actual.status).toBe(origin === SHOP ? 200 : 403);
    },
  );

  it('answers a preflight on the history route with GET allowed', async () => {
    const res = await preflight(harness, '/v1/widget/dialogs/abc/messages', SHOP, 'GET');
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-methods')?.split(/,\s*/)).toContain('GET');
  });

  it('refuses a preflight from Origin: null without ACAO', async () => {
    const res = await preflight(harness, sessionPath(siteToken), 'null');
    expect(res.status).toBe(403);
    expect(res.headers.has('access-control-allow-origin')).toBe(false);
  });

  it('keeps CORS and the stable body on 404 and 405 answers', async () => {
    const missing = await fetch(`${harness.base}/v1/widget/nothing`, { headers: { Origin: SHOP } });
    const missingRes = {
      status: missing.status,
      headers: missing.headers,
      text: await missing.text(),
    };
    expectError({ ...missingRes, body: {} }, 404, 'not_found');
    expectWidgetCors({ ...missingRes, body: {} }, SHOP);

    const wrong = await fetch(`${harness.base}${sessionPath(siteToken)}`, {
      headers: { Origin: SHOP },
    });
    const wrongRes = { status: wrong.status, headers: wrong.headers, text: await wrong.text() };
    expectError({ ...wrongRes, body: {} }, 405, 'method_not_allowed');
    expect(wrong.headers.get('allow')).toContain('POST');
    expectWidgetCors({ ...wrongRes, body: {} }, SHOP);
  });

  it('carries CORS and no-store on the history route, refusals included', async () => {
    const session = await newSession(harness, siteToken);
    const ok = await getWidgetMessages(harness, session.dialogId, `Bearer ${session.visitorToken}`);
    expect(ok.status).toBe(200);
    expectWidgetCors(ok, SHOP);
    expectApiHeaders(ok);
    const refused = await getWidgetMessages(harness, session.dialogId, null);
    expectError(refused, 401, 'unauthorized');
    expectWidgetCors(refused, SHOP);
    expectApiHeaders(refused);
  });
});

describe('app routes: CORS on POST /v1/app/revocations', () => {
  it('reflects a configured console origin', async () => {
    const res = await postRevocation(harness, null, { site_id: 'site_x' });
    expectError(res, 401, 'unauthorized');
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('vary')).toBe('Origin');
    expect(res.headers.has('access-control-allow-credentials')).toBe(false);
    expectApiHeaders(res);
  });

  it.each([SHOP, 'http://evil.test', 'http://app.example:8081', 'https://app.example:8080'])(
    'refuses %s with 403 and no ACAO, and acts on nothing',
    async (origin) => {
      const admin = await harness.operatorToken();
      const res = await postRevocation(harness, admin, { site_id: 'site_shop' }, origin);
      expectError(res, 403, 'forbidden');
      expect(res.headers.has('access-control-allow-origin')).toBe(false);
      expect(res.headers.has('access-control-expose-headers')).toBe(false);
      expectApiHeaders(res);
      // The valid admin token did nothing from a foreign origin.
      expect((await postSession(harness, siteToken)).status).toBe(200);
    },
  );

  it('refuses a request without Origin by default', async () => {
    const admin = await harness.operatorToken();
    const res = await fetch(`${harness.base}${Paths.APP_REVOCATIONS}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ site_id: 'site_shop' }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.has('access-control-allow-origin')).toBe(false);
  });

  it('gives a foreign preflight nothing: no ACAO, no methods', async () => {
    const res = await preflight(harness, Paths.APP_REVOCATIONS, 'http://evil.test');
    expect(res.status).toBe(403);
    expect(res.headers.has('access-control-allow-origin')).toBe(false);
    expect(res.headers.has('access-control-allow-methods')).toBe(false);
  });

  it('answers the console preflight', async () => {
    const res = await preflight(harness, Paths.APP_REVOCATIONS, APP);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect(res.headers.get('access-control-max-age')).toBe('600');
    expect(res.headers.has('access-control-allow-credentials')).toBe(false);
  });
});
