import { describe, expect, it, vi } from 'vitest';
import { TokenError } from '../../src/client/errors.js';
import { createTokenSource } from '../../src/client/tokens.js';
import { settle } from './fakes.js';
import { createHarness, lastDisconnect } from './harness.js';

function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

describe('TokenSource', () => {
  it('shares one request among concurrent callers (single flight)', async () => {
    const answer = deferred<string>();
    const fetchToken = vi.fn(() => answer.promise);
    const source = createTokenSource(fetchToken, () => 0);
    const first = source.get(true);
    const second = source.get(false);
    const third = source.get(true);
    answer.resolve('t1');
    expect(await Promise.all([first, second, third])).toEqual(['t1', 't1', 't1']);
    expect(fetchToken).toHaveBeenCalledTimes(1);
  });

  it('reuses the cached token until the refresh lead before its expiry', async () => {
    let now = 0;
    let n = 0;
    const source = createTokenSource(
      async () => `t${++n}`,
      () => now,
    );
    expect(await source.get(false)).toBe('t1');
    source.expires(120_000);
    expect(await source.get(false)).toBe('t1');
    now = 60_000; // the server asks for a refresh 60 s before expiry; so does the cache
    expect(await source.get(false)).toBe('t2');
    expect(await source.get(true)).toBe('t3');
  });

  it('keeps a late answer to a forgotten request out of the cache', async () => {
    const answer = deferred<string>();
    const answers = [answer.promise, Promise.resolve('fresh')];
    const dropStored = vi.fn();
    const source = createTokenSource(
      () => answers.shift() ?? Promise.reject(new Error('x')),
      () => 0,
      dropStored,
    );
    const late = source.get(false);
    source.forget();
    expect(dropStored).toHaveBeenCalledOnce();
    answer.resolve('stale');
    await late;
    expect(await source.get(false)).toBe('fresh');
  });

  it('refuses an empty token as a passing failure', async () => {
    const source = createTokenSource(
      async () => '',
      () => 0,
    );
    await expect(source.get(false)).rejects.toMatchObject({ code: 'ERR_TOKEN_RETRY' });
  });
});

describe('PosternClient tokens', () => {
  it('shares one request between the in-band refresh and the reconnect, and drops the late answer for the old socket', async () => {
    const h = createHarness();
    const first = await h.connected();
    const answer = deferred<string>();
    h.getToken.mockImplementationOnce(() => answer.promise);
    first.receive({ type: 'refresh_required', expires_at: h.clock.now() + 60_000 });
    first.serverClose(4001); // expired before the refresh came back: reconnect needs a token too
    await h.wait(0);
    expect(h.getToken).toHaveBeenCalledTimes(2); // the first connect, then one shared request
    answer.resolve('fresh-token');
    const second = await h.accept();
    expect(second.framesOf('auth')[0]?.token).toBe('fresh-token');
    await settle();
    // The in-band answer belonged to the first socket: no `refresh` is sent on either.
    expect(first.framesOf('refresh')).toEqual([]);
    expect(second.framesOf('refresh')).toEqual([]);
    h.client.disconnect();
  });

  it('never sends a refresh answer that arrives after the session changed on the next socket', async () => {
    const h = createHarness();
    const first = await h.connected();
    const stale = deferred<string>();
    h.getToken.mockImplementationOnce(() => stale.promise);
    first.receive({ type: 'refresh_required', expires_at: h.clock.now() + 60_000 });
    first.serverClose(4004); // the session is gone: its pending request is forgotten
    h.client.send('new session please');
    const second = await h.accept();
    expect(second.framesOf('auth')[0]?.token).toBe('visitor-token-2');
    stale.resolve('token-of-the-old-session');
    await settle();
    expect(second.framesOf('refresh')).toEqual([]);
    h.client.disconnect();
  });

  it('refreshes in band: refresh_required → refresh {token} → refreshed', async () => {
    const h = createHarness();
    const socket = await h.connected();
    socket.receive({ type: 'refresh_required', expires_at: h.clock.now() + 60_000 });
    await settle();
    expect(socket.framesOf('refresh')).toEqual([{ type: 'refresh', token: 'visitor-token-2' }]);
    socket.receive({ type: 'refreshed', token_expires_at: h.clock.now() + 900_000 });
    expect(h.client.state).toBe('connected');
    socket.serverClose(1011); // a reconnect reuses the refreshed token
    const next = await (async () => {
      await h.wait(250);
      return h.accept();
    })();
    expect(next.framesOf('auth')[0]?.token).toBe('visitor-token-2');
    expect(h.getToken).toHaveBeenCalledTimes(2);
    h.client.disconnect();
  });

  it('stops for good on "unauthorised, stop" from a custom getToken', async () => {
    const h = createHarness();
    h.getToken.mockRejectedValueOnce(new TokenError('ERR_TOKEN_UNAUTHORIZED'));
    h.client.connect();
    await settle();
    expect(h.client.state).toBe('stopped');
    expect(lastDisconnect(h)).toMatchObject({
      code: 4002,
      reason: 'unauthorized',
      source: 'token',
      revival: 'never',
    });
    expect(h.events.error.map((error) => error.code)).toEqual(['ERR_TOKEN_UNAUTHORIZED']);
    h.page.emit('visible');
    await h.wait(60_000);
    expect(h.sockets).toHaveLength(0);
    expect(h.getToken).toHaveBeenCalledTimes(1);
  });

  it('tries again later on anything else a custom getToken throws', async () => {
    const h = createHarness();
    h.getToken.mockRejectedValueOnce(new Error('network down'));
    h.client.connect();
    await settle();
    expect(h.client.state).toBe('connecting');
    expect(lastDisconnect(h)).toMatchObject({ code: 1013, source: 'token', nextRetryMs: 250 });
    expect(h.events.error[0]).toMatchObject({ code: 'ERR_TOKEN_RETRY' });
    await h.wait(250);
    await h.accept();
    expect(h.client.state).toBe('connected');
    h.client.disconnect();
  });

  it('waits at least the Retry-After a token request was told', async () => {
    const h = createHarness();
    h.getToken.mockRejectedValueOnce(new TokenError('ERR_TOKEN_RETRY', { retryAfterMs: 60_000 }));
    h.client.connect();
    await settle();
    const wait = lastDisconnect(h).nextRetryMs ?? 0;
    expect(wait).toBeGreaterThanOrEqual(60_000);
    await h.wait(wait - 1);
    expect(h.getToken).toHaveBeenCalledTimes(1);
    await h.wait(1);
    expect(h.getToken).toHaveBeenCalledTimes(2);
    h.client.disconnect();
  });
});
