/**
 * A socket's credentials over time (SPEC §4): in-band `refresh`, `refresh_required` about 60 s
 * before the token expires, 4001 when it does, and 4011 when the connection itself is too old.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import {
  appAuth,
  claimsOf,
  closeOpened,
  expectDrained,
  expiredVisitorToken,
  jtiOf,
  newVisitor,
  readyVisitor,
  refreshVisitor,
  revoke,
  SHARED_SERVER_ENV,
  type TestClock,
  testClock,
} from '../support/ws-client.js';

const CAPACITY = 6;

// The in-band refresh tests share one server and its clock (each test only moves it forward);
// the expiry tests wait on real timers, so they run side by side, each on a server of its own.
let harness: Harness;
let clock: TestClock;
beforeAll(async () => {
  clock = testClock();
  harness = await startHarness({
    env: { ...SHARED_SERVER_ENV, POSTERN_MAX_SOCKETS: String(CAPACITY) },
    now: clock.now,
  });
});
afterAll(() => harness.close());
afterEach(() => closeOpened(harness));

/** A server of the test's own (for concurrent tests), closed when the test ends. */
async function startOwn(context: Pick<TestContext, 'onTestFinished'>, env: Record<string, string>) {
  const own = testClock();
  const started = await startHarness({
    env: { POSTERN_MAX_SOCKETS: String(CAPACITY), ...env },
    now: own.now,
  });
  context.onTestFinished(() => started.close());
  return { harness: started, clock: own };
}

/** A ready visitor, and a later token for it (minted once the clock has moved on by `ms`). */
async function readyWithRenewal(ms = 2000) {
  const visitor = await newVisitor(harness);
  const { socket, ready } = await readyVisitor(harness, visitor.visitorToken);
  clock.advance(ms);
  const renewed = await refreshVisitor(harness, visitor);
  return { visitor, socket, ready, renewed };
}

describe('WebSocket lifetime > in-band refresh', () => {
  it('answers a later token for the same visitor with refreshed', async () => {
    const { visitor, socket, ready, renewed } = await readyWithRenewal();
    expect(ready['token_expires_at']).toBe(visitor.expiresAt);
    socket.send({ type: 'refresh', token: renewed.visitorToken });
    const refreshed = await socket.next();
    expect(refreshed).toEqual({ type: 'refreshed', token_expires_at: renewed.expiresAt });
    expect(renewed.expiresAt).toBeGreaterThan(visitor.expiresAt);
    // Refreshing is not re-authenticating: the socket keeps its dialog and stays open.
    expect(socket.isClosed).toBe(false);
  });

  it('closes 4002 on a token for another visitor', async () => {
    const { socket } = await readyWithRenewal();
    const stranger = await newVisitor(harness);
    socket.send({ type: 'refresh', token: stranger.visitorToken });
    expect(await socket.closed()).toMatchObject({ code: 4002, reason: 'auth_failed' });
    await expectDrained(harness, CAPACITY);
  });

  it('closes 4002 on a token that does not extend the session (the same one)', async () => {
    const { visitor, socket } = await readyWithRenewal();
    socket.send({ type: 'refresh', token: visitor.visitorToken });
    expect(await socket.closed()).toMatchObject({ code: 4002, reason: 'auth_failed' });
  });

  it('closes 4002 on an expired token of the same visitor', async () => {
    const { visitor, socket } = await readyWithRenewal();
    const claims = claimsOf(visitor.visitorToken);
    const expired = await expiredVisitorToken({
      sub: String(claims['sub']),
      site_id: String(claims['site_id']),
      sjti: String(claims['sjti']),
      origin: String(claims['origin']),
    });
    socket.send({ type: 'refresh', token: expired });
    expect(await socket.closed()).toMatchObject({ code: 4002, reason: 'auth_failed' });
  });

  it('closes 4002 on an operator token', async () => {
    const { socket } = await readyWithRenewal();
    socket.send({ type: 'refresh', token: await harness.operatorToken() });
    expect(await socket.closed()).toMatchObject({ code: 4002, reason: 'auth_failed' });
  });

  it('closes 4006 token_revoked on a revoked token', async () => {
    const { socket, renewed } = await readyWithRenewal();
    expect(await revoke(harness, { jti: jtiOf(renewed.visitorToken) })).toBe(200);
    expect(socket.isClosed).toBe(false); // the socket still runs on its current token
    socket.send({ type: 'refresh', token: renewed.visitorToken });
    expect(await socket.closed()).toMatchObject({ code: 4006, reason: 'token_revoked' });
    await expectDrained(harness, CAPACITY);
  });

  it('answers an ill-formed refresh with error invalid and stays open', async () => {
    const { socket } = await readyWithRenewal();
    socket.send({ type: 'refresh', token: 5 });
    expect(await socket.next()).toEqual({ type: 'error', code: 'invalid' });
    expect(socket.isClosed).toBe(false);
  });

  it('binds the socket to the new token: revoking it closes, revoking the old one does not', async () => {
    const { visitor, socket, renewed } = await readyWithRenewal();
    socket.send({ type: 'refresh', token: renewed.visitorToken });
    await socket.nextOf('refreshed');
    expect(await revoke(harness, { jti: jtiOf(visitor.visitorToken) })).toBe(200);
    const closing = socket.closed();
    expect(await revoke(harness, { jti: jtiOf(renewed.visitorToken) })).toBe(200);
    expect(await closing).toMatchObject({ code: 4006, reason: 'token_revoked' });
  });

  it('binds the socket to the site token of the new token (another one of the same site)', async () => {
    const first = await harness.siteToken();
    const second = await harness.siteToken();
    const visitor = await newVisitor(harness, first);
    const { socket } = await readyVisitor(harness, visitor.visitorToken);
    clock.advance(2000);
    // The page was republished with a new site token; the session refresh goes through it.
    const renewed = await refreshVisitor(harness, { ...visitor, siteToken: second.token });
    expect(claimsOf(renewed.visitorToken)['sjti']).toBe(second.jti);
    socket.send({ type: 'refresh', token: renewed.visitorToken });
    await socket.nextOf('refreshed');
    const closing = socket.closed();
    expect(await revoke(harness, { jti: second.jti })).toBe(200);
    expect(await closing).toMatchObject({ code: 4006, reason: 'site_revoked' });
    await expectDrained(harness, CAPACITY);
  });

  it('refuses a refresh whose site token is revoked with 4006 site_revoked', async () => {
    const first = await harness.siteToken();
    const second = await harness.siteToken();
    const visitor = await newVisitor(harness, first);
    const { socket } = await readyVisitor(harness, visitor.visitorToken);
    clock.advance(2000);
    const renewed = await refreshVisitor(harness, { ...visitor, siteToken: second.token });
    expect(await revoke(harness, { jti: second.jti })).toBe(200);
    expect(socket.isClosed).toBe(false);
    socket.send({ type: 'refresh', token: renewed.visitorToken });
    expect(await socket.closed()).toMatchObject({ code: 4006, reason: 'site_revoked' });
  });

  it('refreshes an operator socket with a later token of the same operator', async () => {
    const socket = await appAuth(harness, await harness.operatorToken({ expiresInS: 600 }));
    const ready = await socket.next();
    const later = await harness.operatorToken({ expiresInS: 1200 });
    socket.send({ type: 'refresh', token: later });
    const refreshed = await socket.next();
    expect(refreshed['type']).toBe('refreshed');
    expect(Number(refreshed['token_expires_at'])).toBeGreaterThan(
      Number(ready['token_expires_at']),
    );
    socket.send({
      type: 'refresh',
      token: await harness.operatorToken({ operatorId: 'op_2', expiresInS: 1800 }),
    });
    expect(await socket.closed()).toMatchObject({ code: 4002, reason: 'auth_failed' });
  });
});

describe.concurrent('WebSocket lifetime > token expiry', () => {
  it('sends refresh_required about 60 s before the token expires', async ({
    expect,
    onTestFinished,
  }) => {
    // A 62 s token: the notice is due 1–2 s after `auth` (exp has whole-second precision).
    const { harness } = await startOwn({ onTestFinished }, { POSTERN_VISITOR_TTL_S: '62' });
    const visitor = await newVisitor(harness);
    const { socket, ready } = await readyVisitor(harness, visitor.visitorToken);
    const readyAt = performance.now();
    const notice = await socket.next(6000);
    expect(notice).toEqual({ type: 'refresh_required', expires_at: ready['token_expires_at'] });
    const elapsed = performance.now() - readyAt;
    expect(elapsed).toBeGreaterThan(500);
    expect(elapsed).toBeLessThan(6000);
    expect(socket.isClosed).toBe(false);
  });

  it('closes 4001 auth_expired when an unrefreshed token expires', async ({
    expect,
    onTestFinished,
  }) => {
    // A 2 s token expires 1–2 s after `auth`.
    const { harness } = await startOwn({ onTestFinished }, { POSTERN_VISITOR_TTL_S: '2' });
    const visitor = await newVisitor(harness);
    const { socket } = await readyVisitor(harness, visitor.visitorToken);
    const readyAt = performance.now();
    // Under 60 s to live, the notice comes at once.
    expect(await socket.next()).toMatchObject({ type: 'refresh_required' });
    const close = await socket.closed(6000);
    expect(close).toMatchObject({ code: 4001, reason: 'auth_expired' });
    expect(close.at - readyAt).toBeGreaterThan(500);
    expect(close.at - readyAt).toBeLessThan(6000);
    await expectDrained(harness, CAPACITY);
  });

  it('moves the expiry with a refresh: the refreshed socket outlives the old expiry', async ({
    expect,
    onTestFinished,
  }) => {
    const { harness, clock } = await startOwn({ onTestFinished }, { POSTERN_VISITOR_TTL_S: '2' });
    const visitor = await newVisitor(harness);
    const stale = await readyVisitor(harness, visitor.visitorToken);
    const { socket } = await readyVisitor(harness, visitor.visitorToken);
    // A token issued by a clock 3 s ahead: it expires about 3 s after the first one.
    clock.advance(3000);
    const renewed = await refreshVisitor(harness, visitor);
    clock.advance(-3000);
    socket.send({ type: 'refresh', token: renewed.visitorToken });
    await socket.nextOf('refreshed');
    expect((await stale.socket.closed(6000)).code).toBe(4001);
    // Past the old expiry, the refreshed one is still open.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(socket.isClosed).toBe(false);
  });

  it('closes 4011 session_expired once a visitor socket is POSTERN_MAX_SESSION_MS old', async ({
    expect,
    onTestFinished,
  }) => {
    const { harness } = await startOwn({ onTestFinished }, { POSTERN_MAX_SESSION_MS: '1000' });
    const visitor = await newVisitor(harness);
    const { socket } = await readyVisitor(harness, visitor.visitorToken);
    const close = await socket.closed(3000);
    expect(close).toMatchObject({ code: 4011, reason: 'session_expired' });
    const age = close.at - socket.openedAt;
    expect(age).toBeGreaterThan(500);
    expect(age).toBeLessThan(3000);
    await expectDrained(harness, CAPACITY);
  });

  it('closes 4011 session_expired on operator sockets too', async ({ expect, onTestFinished }) => {
    const { harness } = await startOwn({ onTestFinished }, { POSTERN_MAX_SESSION_MS: '1000' });
    const socket = await appAuth(harness, await harness.operatorToken());
    await socket.nextOf('ready');
    expect(await socket.closed(3000)).toMatchObject({ code: 4011, reason: 'session_expired' });
  });
});
