import { BACKOFF_CAP_MS, CLOSE_POLICIES, type ClosePolicy } from '@postern/protocol';
import { describe, expect, it } from 'vitest';
import {
  closeCause,
  isWakeable,
  mayRevive,
  tokenFailureCause,
} from '../../src/client/close-policy.js';
import { TokenError } from '../../src/client/errors.js';
import { createHarness, type Harness, lastDisconnect } from './harness.js';

const rows = (action: ClosePolicy['action']) =>
  CLOSE_POLICIES.filter((row) => row.action === action).map(
    (row) => [row.code as number, row] as const,
  );

/** Every page event that might wake a client, then a long wait: a stopped client must stay so. */
async function pokeAndWait(h: Harness): Promise<void> {
  h.page.emit('online');
  h.page.emit('visible');
  await h.wait(10 * 60_000);
}

describe('close policy, row by row from the protocol table', () => {
  it.each(rows('stop'))(
    '%i stops for good: online, visible and pageshow never revive it',
    async (code, row) => {
      const h = createHarness();
      const socket = await h.connected();
      socket.serverClose(code, 'x');
      expect(h.client.state).toBe('stopped');
      expect(lastDisconnect(h)).toMatchObject({ code, nextRetryMs: null, revival: 'never' });
      await pokeAndWait(h);
      h.client.send('still there?'); // not a revival either: only connect() restarts
      await h.wait(60_000);
      expect(h.sockets).toHaveLength(1);
      expect(h.client.state).toBe('stopped');
      const bugs = h.events.error.filter((error) => error.code === 'ERR_CLIENT_BUG');
      expect(bugs.map((error) => error.detail)).toEqual(row.clientBug ? [String(code)] : []);
      h.client.connect(); // an explicit connect() is the way back
      await h.accept();
      expect(h.client.state).toBe('connected');
      h.client.disconnect();
    },
  );

  it.each(rows('backoff'))('%i backs off with full jitter, then reconnects', async (code) => {
    const h = createHarness();
    const socket = await h.connected();
    socket.serverClose(code);
    expect(h.client.state).toBe('connecting');
    expect(lastDisconnect(h)).toMatchObject({ code, attempt: 1, nextRetryMs: 250, revival: null });
    await h.wait(249);
    expect(h.sockets).toHaveLength(1);
    await h.wait(1);
    expect(h.sockets).toHaveLength(2);
    h.client.disconnect();
  });

  it.each(rows('spread'))(
    '%i spreads the first attempt over 0–10 s, or over the hint',
    async (code) => {
      const h = createHarness();
      (await h.connected()).serverClose(code);
      expect(lastDisconnect(h).nextRetryMs).toBe(5_000); // 0.5 of 10 s
      await h.wait(5_000);
      (await h.accept()).serverClose(code, 'retry=30');
      expect(lastDisconnect(h).nextRetryMs).toBe(15_000); // 0.5 of 30 s
      const low = createHarness({ random: () => 0 });
      (await low.connected()).serverClose(code);
      expect(lastDisconnect(low).nextRetryMs).toBe(0);
      const high = createHarness({ random: () => 0.999_999 });
      (await high.connected()).serverClose(code);
      expect(lastDisconnect(high).nextRetryMs).toBe(9_999);
      for (const harness of [h, low, high]) harness.client.disconnect();
    },
  );

  it.each(rows('refresh'))('%i gets a new token, then reconnects at once', async (code) => {
    const h = createHarness();
    const socket = await h.connected();
    expect(socket.framesOf('auth')[0]?.token).toBe('visitor-token-1');
    socket.serverClose(code);
    expect(lastDisconnect(h).nextRetryMs).toBe(0);
    const next = await h.accept();
    expect(h.getToken).toHaveBeenCalledTimes(2);
    expect(next.framesOf('auth')[0]?.token).toBe('visitor-token-2');
    h.client.disconnect();
  });

  it.each(rows('reset'))(
    '%i drops stored state and starts a new session on the next user action',
    async (code) => {
      const h = createHarness();
      const socket = await h.connected();
      socket.receive({
        type: 'message',
        dialog_id: 'dialog_1',
        seq: 1,
        id: 'm1',
        sender: 'assistant',
        text: 'hi',
        ts: 1,
      });
      socket.serverClose(code);
      expect(lastDisconnect(h)).toMatchObject({ code, revival: 'user_action' });
      expect(h.client.dialogId).toBeNull();
      await pokeAndWait(h);
      expect(h.sockets).toHaveLength(1);
      h.client.send('hello again'); // a user action
      const next = await h.accept({ dialog_id: 'dialog_2' });
      expect(h.getToken).toHaveBeenCalledTimes(2); // the cached token went with the state
      expect(next.framesOf('auth')[0]).toEqual({ type: 'auth', token: 'visitor-token-2' }); // no resume
      expect(next.framesOf('send')[0]).toMatchObject({
        dialog_id: 'dialog_2',
        text: 'hello again',
      });
      h.client.disconnect();
    },
  );

  it.each(rows('retry_once'))(
    '%i stops, then retries once when the page shows or the user acts',
    async (code) => {
      const h = createHarness();
      (await h.connected()).serverClose(code);
      expect(lastDisconnect(h)).toMatchObject({ code, revival: 'user_action_or_visible' });
      h.page.emit('online'); // not a revival
      await h.wait(60_000);
      expect(h.sockets).toHaveLength(1);
      h.page.emit('visible');
      await h.wait(0);
      expect(h.sockets).toHaveLength(2);
      h.latest().open();
      h.latest().serverClose(code); // still over the limit
      expect(lastDisconnect(h).revival).toBe('user_action'); // that was the one page retry
      await pokeAndWait(h);
      expect(h.sockets).toHaveLength(2);
      h.client.requestHandoff(); // a user action
      await h.accept();
      expect(h.client.state).toBe('connected');
      expect(h.latest().framesOf('handoff')).toEqual([
        { type: 'handoff', dialog_id: 'dialog_1', action: 'request' },
      ]);
      h.client.disconnect();
    },
  );

  it('4008 honours the retry hint and stops after 8 attempts until a user action', async () => {
    const h = createHarness();
    (await h.connected()).serverClose(4008, 'retry=30');
    // At least the hint, spread over one more hint: 30 s + 0.5 × 30 s.
    expect(lastDisconnect(h).nextRetryMs).toBe(45_000);
    await h.wait(44_999);
    expect(h.sockets).toHaveLength(1);
    h.page.emit('online'); // a hinted wait is never cut short
    await h.wait(0);
    expect(h.sockets).toHaveLength(1);
    await h.wait(1);
    expect(h.sockets).toHaveLength(2);
    for (let attempt = 2; attempt <= 8; attempt++) {
      h.latest().serverClose(4008);
      expect(lastDisconnect(h)).toMatchObject({ attempt, revival: null });
      await h.wait(lastDisconnect(h).nextRetryMs ?? 0);
    }
    expect(h.sockets).toHaveLength(9); // the first connection and 8 retries
    h.latest().serverClose(4008);
    expect(lastDisconnect(h)).toMatchObject({
      code: 4008,
      nextRetryMs: null,
      revival: 'user_action',
    });
    await pokeAndWait(h);
    expect(h.sockets).toHaveLength(9);
    h.client.send('anyone?');
    await h.wait(0);
    expect(h.sockets).toHaveLength(10);
    h.client.disconnect();
  });

  it('backs off with full jitter from 500 ms, doubling, capped at 30 s', async () => {
    const h = createHarness({ random: () => 0.999_999 });
    h.client.connect();
    const windows: (number | null)[] = [];
    for (let attempt = 0; attempt < 9; attempt++) {
      await h.wait(windows.at(-1) ?? 0);
      h.latest().fail();
      windows.push(lastDisconnect(h).nextRetryMs);
    }
    expect(windows).toEqual([
      499,
      999,
      1999,
      3999,
      7999,
      15_999,
      BACKOFF_CAP_MS - 1,
      BACKOFF_CAP_MS - 1,
      BACKOFF_CAP_MS - 1,
    ]);
    const none = createHarness({ random: () => 0 });
    none.client.connect();
    await none.wait(0);
    none.latest().fail();
    expect(lastDisconnect(none).nextRetryMs).toBe(0);
    h.client.disconnect();
    none.client.disconnect();
  });

  it('cuts a plain backoff short when the network returns or the page shows', async () => {
    const h = createHarness({ random: () => 0.999_999 });
    h.client.connect();
    let delay = 0;
    for (let attempt = 0; attempt < 7; attempt++) {
      await h.wait(delay);
      h.latest().fail();
      delay = lastDisconnect(h).nextRetryMs ?? 0;
    }
    expect(delay).toBe(BACKOFF_CAP_MS - 1);
    for (const signal of ['online', 'visible'] as const) {
      await h.wait(0); // the transport now waits out the delay
      const before = h.sockets.length;
      h.page.emit(signal);
      await h.wait(0);
      expect(h.sockets).toHaveLength(before + 1);
      h.latest().fail();
    }
    h.client.disconnect();
  });
});

describe('close policy helpers', () => {
  it('maps token outcomes onto the rows with the same policy', () => {
    expect(tokenFailureCause(new TokenError('ERR_TOKEN_UNAUTHORIZED'))).toEqual({
      code: 4002,
      reason: 'unauthorized',
      source: 'token',
    });
    expect(
      tokenFailureCause(new TokenError('ERR_TOKEN_UNAUTHORIZED', { detail: 'token_revoked' })),
    ).toEqual({ code: 4006, reason: 'token_revoked', source: 'token' });
    expect(tokenFailureCause(new TokenError('ERR_TOKEN_ORIGIN_NOT_ALLOWED'))).toEqual({
      code: 4003,
      reason: 'origin_not_allowed',
      source: 'token',
    });
    expect(tokenFailureCause(new TokenError('ERR_TOKEN_RETRY', { retryAfterMs: 7_000 }))).toEqual({
      code: 1013,
      reason: 'retry=15', // rounded up to an allowed hint, never sooner than asked
      source: 'token',
    });
    expect(tokenFailureCause(new Error('boom'))).toEqual({
      code: 1013,
      reason: '',
      source: 'token',
    });
  });

  it('tells transport trouble from server closes', () => {
    expect(closeCause(1000, '', true)).toEqual({ code: 1006, reason: '', source: 'transport' });
    expect(closeCause(1006, '', false).source).toBe('transport');
    expect(closeCause(4008, 'retry=5', false)).toEqual({
      code: 4008,
      reason: 'retry=5',
      source: 'server',
    });
  });

  it('lets only allowed triggers revive, and only plain backoff be woken', () => {
    expect(mayRevive('never', 'user_action')).toBe(false);
    expect(mayRevive('user_action', 'visible')).toBe(false);
    expect(mayRevive('user_action', 'user_action')).toBe(true);
    expect(mayRevive('user_action_or_visible', 'visible')).toBe(true);
    expect(isWakeable({ code: 1011, reason: '', source: 'server' })).toBe(true);
    expect(isWakeable({ code: 4008, reason: '', source: 'server' })).toBe(false);
    expect(isWakeable({ code: 1001, reason: '', source: 'server' })).toBe(false);
    expect(isWakeable({ code: 1013, reason: '', source: 'token' })).toBe(false);
  });
});
