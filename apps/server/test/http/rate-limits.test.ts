import type { IncomingHttpHeaders } from 'node:http';
import { RETRY_HINT_SECONDS } from '@postern/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, SHOP } from '../support/harness.js';
import {
  createTestClock,
  newSession,
  type RawResponse,
  rawRequest,
  refreshSession,
  sessionPath,
  startApiHarness,
} from './api-client.js';

let harness: Harness;
afterEach(() => harness.close());

/** A new session (or a refresh) sent from a chosen loopback address, i.e. another client IP. */
function sessionFrom(
  localAddress: string,
  siteToken: string,
  body: Record<string, unknown> = {},
): Promise<RawResponse> {
  return rawRequest(harness.base, {
    method: 'POST',
    path: sessionPath(siteToken),
    headers: { Origin: SHOP, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    localAddress,
  });
}

function preflightFrom(localAddress: string, siteToken: string): Promise<RawResponse> {
  return rawRequest(harness.base, {
    method: 'OPTIONS',
    path: sessionPath(siteToken),
    headers: { Origin: SHOP, 'Access-Control-Request-Method': 'POST' },
    localAddress,
  });
}

/**
 * A refusal the widget can read and act on, that reveals nothing: exactly the stable body, ACAO
 * with `Retry-After` exposed, a coarse `Retry-After`, and no header naming or echoing a limit.
 */
function expectRateLimited(res: RawResponse, limit: number): void {
  expect({ status: res.status, text: res.text }).toEqual({
    status: 429,
    text: '{"error":"rate_limited"}',
  });
  expect(res.headers['access-control-allow-origin']).toBe(SHOP);
  expect(res.headers['access-control-expose-headers']).toBe('Retry-After');
  expect(RETRY_HINT_SECONDS as readonly number[]).toContain(Number(res.headers['retry-after']));
  expectNoLimitEcho(res.headers, limit);
}

function expectNoLimitEcho(headers: IncomingHttpHeaders, limit: number): void {
  for (const [name, value] of Object.entries(headers)) {
    expect(name).not.toMatch(/limit|quota|remaining/i);
    if (name !== 'date') expect(String(value)).not.toBe(String(limit));
  }
}

describe('rate limits: new sessions per IP (POSTERN_SESSION_RATE)', () => {
  it('refuses the session over the limit with a readable 429 and a coarse Retry-After', async () => {
    harness = await startApiHarness({ env: { POSTERN_SESSION_RATE: '3' } });
    const site = await harness.siteToken();
    for (let i = 0; i < 3; i += 1) {
      expect((await sessionFrom('127.0.0.1', site.token)).status).toBe(200);
    }
    expectRateLimited(await sessionFrom('127.0.0.1', site.token), 3);
  });

  it('keys the limit by client IP', async () => {
    harness = await startApiHarness({ env: { POSTERN_SESSION_RATE: '2' } });
    const site = await harness.siteToken();
    await sessionFrom('127.0.0.2', site.token);
    await sessionFrom('127.0.0.2', site.token);
    expect((await sessionFrom('127.0.0.2', site.token)).status).toBe(429);
    expect((await sessionFrom('127.0.0.3', site.token)).status).toBe(200);
  });

  it('does not count refreshes, and lets them through while new sessions are refused', async () => {
    harness = await startApiHarness({ env: { POSTERN_SESSION_RATE: '2' } });
    const site = await harness.siteToken();
    const first = await sessionFrom('127.0.0.4', site.token);
    let refreshToken = (first.json as Record<string, unknown>)['refresh_token'] as string;
    for (let i = 0; i < 5; i += 1) {
      const res = await sessionFrom('127.0.0.4', site.token, { refresh_token: refreshToken });
      expect(res.status).toBe(200);
      refreshToken = (res.json as Record<string, unknown>)['refresh_token'] as string;
    }
    expect((await sessionFrom('127.0.0.4', site.token)).status).toBe(200);
    expect((await sessionFrom('127.0.0.4', site.token)).status).toBe(429);
    const refreshed = await sessionFrom('127.0.0.4', site.token, { refresh_token: refreshToken });
    expect(refreshed.status).toBe(200);
  });

  it('allows sessions again once the window has passed', async () => {
    const clock = createTestClock();
    harness = await startApiHarness({ now: clock.now, env: { POSTERN_SESSION_RATE: '1' } });
    const site = await harness.siteToken();
    expect((await sessionFrom('127.0.0.5', site.token)).status).toBe(200);
    expect((await sessionFrom('127.0.0.5', site.token)).status).toBe(429);
    clock.advance(3 * 60_000);
    expect((await sessionFrom('127.0.0.5', site.token)).status).toBe(200);
  });
});

describe('rate limits: new sessions per site (POSTERN_SITE_SESSION_RATE)', () => {
  it('refuses a site over its ceiling whatever the client IP, and only that site', async () => {
    harness = await startApiHarness({ env: { POSTERN_SITE_SESSION_RATE: '2' } });
    const site = await harness.siteToken();
    const other = await harness.siteToken({ siteId: 'site_other' });
    expect((await sessionFrom('127.0.1.1', site.token)).status).toBe(200);
    expect((await sessionFrom('127.0.1.2', site.token)).status).toBe(200);
    expectRateLimited(await sessionFrom('127.0.1.3', site.token), 2);
    expect((await sessionFrom('127.0.1.4', other.token)).status).toBe(200);
  });

  it('does not count refreshes against the site', async () => {
    harness = await startApiHarness({ env: { POSTERN_SITE_SESSION_RATE: '1' } });
    const site = await harness.siteToken();
    const session = await newSession(harness, site.token);
    let refreshToken = session.refreshToken;
    for (let i = 0; i < 3; i += 1) {
      const res = await refreshSession(harness, site.token, refreshToken);
      expect(res.status).toBe(200);
      refreshToken = res.body['refresh_token'] as string;
    }
  });
});

describe('rate limits: HTTP requests per IP (POSTERN_HTTP_RATE)', () => {
  it('counts preflights: OPTIONS alone exhausts the limit', async () => {
    harness = await startApiHarness({ env: { POSTERN_HTTP_RATE: '7' } });
    const site = await harness.siteToken();
    for (let i = 0; i < 7; i += 1) {
      expect((await preflightFrom('127.0.2.1', site.token)).status).toBe(204);
    }
    const refusedPreflight = await preflightFrom('127.0.2.1', site.token);
    expectRateLimited(refusedPreflight, 7);
    expectRateLimited(await sessionFrom('127.0.2.1', site.token), 7);
  });

  it('keys the limit by client IP', async () => {
    harness = await startApiHarness({ env: { POSTERN_HTTP_RATE: '7' } });
    const site = await harness.siteToken();
    for (let i = 0; i < 4; i += 1) await preflightFrom('127.0.2.2', site.token);
    for (let i = 0; i < 3; i += 1) await sessionFrom('127.0.2.2', site.token);
    expect((await sessionFrom('127.0.2.2', site.token)).status).toBe(429);
    expect((await sessionFrom('127.0.2.3', site.token)).status).toBe(200);
    expect((await preflightFrom('127.0.2.4', site.token)).status).toBe(204);
  });

  it('counts refused and foreign-origin requests too (Origin is forgeable)', async () => {
    harness = await startApiHarness({ env: { POSTERN_HTTP_RATE: '7' } });
    const site = await harness.siteToken();
    for (let i = 0; i < 7; i += 1) {
      const res = await rawRequest(harness.base, {
        method: 'POST',
        path: sessionPath(site.token),
        headers: { Origin: 'http://evil.test', 'Content-Type': 'application/json' },
        body: '{}',
        localAddress: '127.0.2.5',
      });
      expect(res.status).toBe(403);
    }
    expectRateLimited(await sessionFrom('127.0.2.5', site.token), 7);
  });

  it('ignores a spoofed X-Forwarded-For from an untrusted peer', async () => {
    harness = await startApiHarness({ env: { POSTERN_HTTP_RATE: '7' } });
    const site = await harness.siteToken();
    for (let i = 0; i < 8; i += 1) {
      await rawRequest(harness.base, {
        method: 'OPTIONS',
        path: sessionPath(site.token),
        headers: { Origin: SHOP, 'X-Forwarded-For': `198.51.100.${i}` },
        localAddress: '127.0.2.6',
      });
    }
    expect((await sessionFrom('127.0.2.6', site.token)).status).toBe(429);
  });
});

describe('rate limits: Retry-After is a promise a client can keep', () => {
  it('holds for POSTERN_HTTP_RATE', async () => {
    const clock = createTestClock(1_750_000_020_000);
    harness = await startApiHarness({ now: clock.now, env: { POSTERN_HTTP_RATE: '1' } });
    const site = await harness.siteToken();
    expect((await preflightFrom('127.0.3.1', site.token)).status).toBe(204);
    clock.advance(1000);
    const refused = await preflightFrom('127.0.3.1', site.token);
    expect(refused.status).toBe(429);
    clock.advance(Number(refused.headers['retry-after']) * 1000);
    expect((await preflightFrom('127.0.3.1', site.token)).status).toBe(204);
  });

  it('holds for POSTERN_SESSION_RATE', async () => {
    const clock = createTestClock(1_750_000_020_000);
    harness = await startApiHarness({ now: clock.now, env: { POSTERN_SESSION_RATE: '1' } });
    const site = await harness.siteToken();
    expect((await sessionFrom('127.0.3.2', site.token)).status).toBe(200);
    clock.advance(1000);
    const refused = await sessionFrom('127.0.3.2', site.token);
    expect(refused.status).toBe(429);
    clock.advance(Number(refused.headers['retry-after']) * 1000);
    expect((await sessionFrom('127.0.3.2', site.token)).status).toBe(200);
  });

  it('holds for POSTERN_SITE_SESSION_RATE', async () => {
    const clock = createTestClock(1_750_000_020_000);
    harness = await startApiHarness({ now: clock.now, env: { POSTERN_SITE_SESSION_RATE: '1' } });
    const site = await harness.siteToken();
    expect((await sessionFrom('127.0.3.3', site.token)).status).toBe(200);
    clock.advance(1000);
    const refused = await sessionFrom('127.0.3.4', site.token);
    expect(refused.status).toBe(429);
    clock.advance(Number(refused.headers['retry-after']) * 1000);
    expect((await sessionFrom('127.0.3.5', site.token)).status).toBe(200);
  });
});
