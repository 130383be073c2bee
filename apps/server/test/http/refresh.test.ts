import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { closed, type Harness, type HarnessOptions, nextFrame, SHOP } from '../support/harness.js';
import {
  createTestClock,
  expectError,
  getWidgetMessages,
  newSession,
  refreshSession,
  startApiHarness,
  type TestClock,
} from './api-client.js';

let harness: Harness;
afterEach(() => harness.close());

const GRACE_MS = 30_000;

/**
 * A store that counts successful rotations and, with `barrier`, holds rotation calls until that
 * many are waiting: every parallel request has then read the token as current before any swap,
 * so all but one must lose the compare-and-swap. The barrier holds one race only.
 */
function racingStore(barrier = 0): { store: Store; rotations: () => number } {
  const inner = openSqliteStore({ path: ':memory:' });
  let rotations = 0;
  const waiting: (() => void)[] = [];
  const store: Store = {
    ...inner,
    async rotateRefreshToken(hash, successorHash, now) {
      if (barrier > 0) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          if (waiting.length < barrier) return;
          barrier = 0; // one race only; later rotations run straight through
          for (const release of waiting.splice(0)) release();
        });
      }
      const rotated = await inner.rotateRefreshToken(hash, successorHash, now);
      if (rotated) rotations += 1;
      return rotated;
    },
  };
  return { store, rotations: () => rotations };
}

async function setup(options: HarnessOptions & { clock?: TestClock } = {}) {
  const clock = options.clock ?? createTestClock();
  harness = await startApiHarness({ ...options, now: clock.now });
  const site = await harness.siteToken();
  const session = await newSession(harness, site.token);
  return { clock, site, session };
}

/** Refreshes and expects success; returns the new body. */
async function rotate(siteToken: string, refreshToken: string, origin = SHOP) {
  const res = await refreshSession(harness, siteToken, refreshToken, origin);
  expect(res.status, res.text).toBe(200);
  return {
    visitorToken: res.body['visitor_token'] as string,
    refreshToken: res.body['refresh_token'] as string,
    visitorId: res.body['visitor_id'] as string,
    dialogId: res.body['dialog_id'] as string,
    expiresAt: res.body['expires_at'] as number,
  };
}

const sha256 = (token: string) => new Uint8Array(createHash('sha256').update(token).digest());

describe('refresh tokens: rotation', () => {
  it('issues opaque tokens of at least 128 random bits, unlike the visitor token', async () => {
    const { session } = await setup();
    expect(session.refreshToken).toMatch(/^[A-Za-z0-9_-]{22,}/);
    expect(session.refreshToken.split('.')).toHaveLength(1);
    expect(session.refreshToken).not.toBe(session.visitorToken);
  });

  it('returns a new refresh token on every use and keeps visitor_id and the open dialog', async () => {
    const { clock, site, session } = await setup();
    const seen = new Set([session.refreshToken]);
    let current = session.refreshToken;
    for (let i = 0; i < 4; i += 1) {
      clock.advance(1000);
      const next = await rotate(site.token, current);
      expect(seen.has(next.refreshToken)).toBe(false);
      seen.add(next.refreshToken);
      expect(next.visitorId).toBe(session.visitorId);
      expect(next.dialogId).toBe(session.dialogId);
      expect(next.visitorToken).not.toBe(session.visitorToken);
      expect(next.expiresAt).toBe(clock.now() - (clock.now() % 1000) + 900_000);
      current = next.refreshToken;
    }
  });

  it('stores only hashes: the store knows the current token by its SHA-256', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    const { site, session } = await setup({ store });
    const next = await rotate(site.token, session.refreshToken);
    expect((await store.findRefreshToken(sha256(next.refreshToken)))?.rotatedAt).toBeNull();
    expect((await store.findRefreshToken(sha256(session.refreshToken)))?.rotatedAt).not.toBeNull();
  });
});

describe('refresh tokens: refused as refresh_invalid', () => {
  it('is bound to the site: another site token (same origin allowed) refuses it', async () => {
    const { site, session } = await setup();
    const other = await harness.siteToken({ siteId: 'site_other' });
    expectError(
      await refreshSession(harness, other.token, session.refreshToken),
      401,
      'refresh_invalid',
    );
    // The refused attempt consumed nothing: the rightful owner still refreshes.
    await rotate(site.token, session.refreshToken);
  });

  it('is bound to the origin: another allowed origin of the same site refuses it', async () => {
    const { site, session } = await setup();
    const res = await refreshSession(
      harness,
      site.token,
      session.refreshToken,
      'http://sub.shop.example:8080',
    );
    expectError(res, 401, 'refresh_invalid');
    await rotate(site.token, session.refreshToken);
  });

  it('is bound to the site, not the site token: a second token of the same site works', async () => {
    const { session } = await setup();
    const sameSite = await harness.siteToken();
    await rotate(sameSite.token, session.refreshToken);
  });

  it.each([
    ['unknown', () => `prt_${randomBytes(32).toString('base64url')}`],
    ['malformed', () => 'not-a-refresh-token'],
    ['empty', () => ''],
    ['one character short', () => `prt_${randomBytes(32).toString('base64url').slice(1)}`],
    ['very long', () => `prt_${'A'.repeat(3000)}`],
    ['a visitor-token-shaped string', () => 'a.b.c'],
  ])('refuses a %s refresh token', async (_label, make) => {
    const { site } = await setup();
    expectError(await refreshSession(harness, site.token, make()), 401, 'refresh_invalid');
  });

  it('expires after POSTERN_REFRESH_IDLE_S without use', async () => {
    const { clock, site, session } = await setup({ env: { POSTERN_REFRESH_IDLE_S: '60' } });
    clock.advance(60_000);
    const next = await rotate(site.token, session.refreshToken);
    // Every use restarts the idle clock …
    clock.advance(60_000);
    const after = await rotate(site.token, next.refreshToken);
    // … and a minute and a millisecond without use ends it.
    clock.advance(60_001);
    expectError(
      await refreshSession(harness, site.token, after.refreshToken),
      401,
      'refresh_invalid',
    );
  });

  it('expires POSTERN_REFRESH_MAX_S after the session began, however often it is used', async () => {
    const { clock, site, session } = await setup({
      env: { POSTERN_REFRESH_IDLE_S: '60', POSTERN_REFRESH_MAX_S: '150' },
    });
    let current = session.refreshToken;
    for (let i = 0; i < 3; i += 1) {
      clock.advance(50_000);
      current = (await rotate(site.token, current)).refreshToken;
    }
    clock.advance(1);
    expectError(await refreshSession(harness, site.token, current), 401, 'refresh_invalid');
  });
});

describe('refresh tokens: races and reuse', () => {
  it('answers 20 parallel refreshes with one successor, stored once', async () => {
    const counting = racingStore(20);
    const { site, session } = await setup({ store: counting.store });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => refreshSession(harness, site.token, session.refreshToken)),
    );
    expect(results.map((res) => res.status)).toEqual(Array(20).fill(200));
    const successors = new Set(results.map((res) => res.body['refresh_token']));
    expect(successors.size).toBe(1);
    expect(new Set(results.map((res) => res.body['visitor_id']))).toEqual(
      new Set([session.visitorId]),
    );
    expect(counting.rotations()).toBe(1);
    const [successor] = [...successors] as string[];
    const stored = await counting.store.findRefreshToken(sha256(successor ?? ''));
    expect(stored?.rotatedAt).toBeNull();
    await rotate(site.token, successor ?? '');
  });

  it('returns the same successor for a just-rotated token within the grace window', async () => {
    const { clock, site, session } = await setup();
    const first = await rotate(site.token, session.refreshToken);
    clock.advance(GRACE_MS);
    const again = await rotate(site.token, session.refreshToken);
    expect(again.refreshToken).toBe(first.refreshToken);
    expect(again.visitorId).toBe(session.visitorId);
    // The successor is still the family's current token.
    await rotate(site.token, first.refreshToken);
  });

  it('honours POSTERN_REFRESH_GRACE_MS', async () => {
    const { clock, site, session } = await setup({ env: { POSTERN_REFRESH_GRACE_MS: '1000' } });
    await rotate(site.token, session.refreshToken);
    clock.advance(1001);
    expectError(
      await refreshSession(harness, site.token, session.refreshToken),
      401,
      'refresh_reused',
    );
  });

  it('treats reuse after the grace window as theft: family dead, visitor revoked', async () => {
    const { clock, site, session } = await setup();
    const stolen = session.refreshToken;
    const rightful = await rotate(site.token, stolen);

    const ws = await harness.connect('/v1/ws/widget', { Origin: SHOP });
    ws.send(JSON.stringify({ type: 'auth', token: rightful.visitorToken }));
    expect(await nextFrame(ws)).toMatchObject({ type: 'ready', visitor_id: session.visitorId });
    const closing = closed(ws);

    clock.advance(GRACE_MS + 1);
    const reuse = await refreshSession(harness, site.token, stolen);
    expectError(reuse, 401, 'refresh_reused');
    expect(reuse.headers.get('access-control-allow-origin')).toBe(SHOP);

    // The whole family is dead: the successor is refused too, and so is any later reuse.
    expectError(
      await refreshSession(harness, site.token, rightful.refreshToken),
      401,
      'refresh_invalid',
    );
    expectError(await refreshSession(harness, site.token, stolen), 401, 'refresh_invalid');
    // The visitor is revoked: sockets close 4006, bearer requests are refused.
    expect(await closing).toEqual({ code: 4006, reason: 'visitor_revoked' });
    const history = await getWidgetMessages(
      harness,
      session.dialogId,
      `Bearer ${rightful.visitorToken}`,
    );
    expectError(history, 401, 'token_revoked');
    // A brand-new session is a new visitor.
    const fresh = await newSession(harness, site.token);
    expect(fresh.visitorId).not.toBe(session.visitorId);
  });

  it('refuses the refresh of a visitor an admin revoked', async () => {
    const { site, session } = await setup();
    await harness.server.revocations.revoke('visitor', session.visitorId, 'test', Date.now());
    expectError(
      await refreshSession(harness, site.token, session.refreshToken),
      401,
      'token_revoked',
    );
  });

  it('refuses a refresh once the site is revoked', async () => {
    const { site, session } = await setup();
    await harness.server.revocations.revoke('site', site.siteId, 'test', Date.now());
    expectError(
      await refreshSession(harness, site.token, session.refreshToken),
      401,
      'token_revoked',
    );
  });
});
