import { describe, expect, it } from 'vitest';
import { PosternClient } from '../../src/client/client.js';
import { serverAddress } from '../../src/client/environment.js';
import { TokenError } from '../../src/client/errors.js';
import { settle } from './fakes.js';
import { createHarness, lastDisconnect, SERVER } from './harness.js';

describe('PosternClient state machine', () => {
  it('starts disconnected, then goes connecting → connected with one state event per change', async () => {
    const h = createHarness();
    expect(h.client.state).toBe('disconnected');
    const socket = await h.connected();
    expect(h.client.state).toBe('connected');
    expect(h.events.state.map(({ previous, state }) => `${previous}>${state}`)).toEqual([
      'disconnected>connecting',
      'connecting>connected',
    ]);
    expect(socket.url).toBe('wss://chat.example.com/v1/ws/widget');
    expect(h.events.ready).toEqual([
      { visitorId: 'visitor_1', dialogId: 'dialog_1', lastSeq: 0, handoff: { state: 'assistant' } },
    ]);
    h.client.disconnect();
  });

  it('sends auth as the very first frame, with the token in the frame and never in the URL', async () => {
    const h = createHarness();
    h.client.connect();
    await settle();
    const socket = h.latest();
    h.client.send('hello'); // before `open`: must wait for `ready`, not race ahead of auth
    socket.open();
    expect(socket.frames()).toEqual([{ type: 'auth', token: 'visitor-token-1' }]);
    expect(socket.url).not.toContain('token');
    socket.receive(h.ready());
    expect(socket.frames().map((frame) => frame.type)).toEqual(['auth', 'send']);
    h.client.disconnect();
  });

  it('puts every disconnect through one funnel: {code, reason, source, attempt, nextRetryMs}', async () => {
    const h = createHarness();
    const socket = await h.connected();

    socket.serverClose(1011, 'internal');
    expect(lastDisconnect(h)).toEqual({
      code: 1011,
      reason: 'internal',
      source: 'server',
      attempt: 1,
      nextRetryMs: 250, // full jitter: random 0.5 × 500 ms
      revival: null,
    });
    expect(h.client.state).toBe('connecting');

    await h.wait(250);
    h.latest().fail();
    expect(lastDisconnect(h)).toMatchObject({ code: 1006, source: 'transport', attempt: 2 });
    expect(lastDisconnect(h).nextRetryMs).toBe(500);

    await h.wait(500);
    const second = await h.accept();
    h.getToken.mockRejectedValueOnce(new Error('offline'));
    second.serverClose(4001); // expired: the funnel asks for a fresh token, which fails
    await h.wait(lastDisconnect(h).nextRetryMs ?? 0);
    expect(lastDisconnect(h)).toMatchObject({ code: 1013, source: 'token', attempt: 4 });

    await h.wait(lastDisconnect(h).nextRetryMs ?? 0);
    const third = await h.accept();
    h.clock.advance(60_000); // silence: no ping, no frame
    expect(lastDisconnect(h)).toMatchObject({ code: 4010, source: 'heartbeat' });
    expect(third.closedWith).not.toBeNull();

    h.client.disconnect();
    expect(lastDisconnect(h)).toMatchObject({ code: 1000, source: 'client', nextRetryMs: null });
    expect(h.client.state).toBe('disconnected');
  });

  it('reads the transport’s made-up close after a socket error as 1006, not as a normal close', async () => {
    const h = createHarness();
    h.client.connect();
    await settle();
    h.latest().fail(); // refused handshake: the browser reports error, then 1006
    expect(h.client.state).toBe('connecting');
    expect(lastDisconnect(h)).toMatchObject({ code: 1006, source: 'transport', revival: null });
    await h.wait(250);
    expect(h.sockets).toHaveLength(2);
    h.client.disconnect();
  });

  it('counts each socket’s end once and drops callbacks from a socket it left', async () => {
    const h = createHarness();
    const first = await h.connected();
    first.serverClose(1011);
    const funnelled = h.events.state.filter((change) => change.disconnect).length;
    first.serverClose(1000); // a late second close of the same socket
    first.receive({
      type: 'message',
      dialog_id: 'dialog_1',
      seq: 1,
      id: 'm1',
      sender: 'operator',
      text: 'late',
      ts: 1,
    });
    expect(h.events.state.filter((change) => change.disconnect)).toHaveLength(funnelled);
    expect(h.events.message).toEqual([]);
    expect(h.client.state).toBe('connecting');
    h.client.disconnect();
  });

  it('resets the attempt counter only after the connection stayed up 5 s', async () => {
    const h = createHarness();
    const first = await h.connected();
    first.serverClose(1011);
    expect(lastDisconnect(h).attempt).toBe(1);
    await h.wait(250);
    const second = await h.accept();
    h.clock.advance(4_999);
    second.serverClose(1011);
    expect(lastDisconnect(h).attempt).toBe(2);
    await h.wait(lastDisconnect(h).nextRetryMs ?? 0);
    const third = await h.accept();
    h.clock.advance(5_000);
    third.serverClose(1011);
    expect(lastDisconnect(h).attempt).toBe(1);
    h.client.disconnect();
  });

  it('drops a token that arrives after disconnect() and opens no socket for it', async () => {
    let resolve: (token: string) => void = () => {};
    const h = createHarness({ getToken: () => new Promise<string>((r) => (resolve = r)) });
    h.client.connect();
    await settle();
    h.client.disconnect();
    resolve('late-token');
    await settle();
    expect(h.sockets).toHaveLength(0);
    expect(h.client.state).toBe('disconnected');
  });

  it('lets a state listener disconnect at once, leaving no socket behind', async () => {
    const h = createHarness();
    h.client.on('state', ({ state }) => {
      if (state === 'connecting') h.client.disconnect();
    });
    h.client.connect();
    await h.wait(60_000);
    expect(h.sockets).toHaveLength(0);
    expect(h.client.state).toBe('disconnected');
  });

  it('refuses options that cannot work', () => {
    const config = expect.objectContaining({ name: 'PosternError', code: 'ERR_CONFIG' });
    expect(() => new PosternClient({ serverUrl: 'not a url', siteToken: 't' })).toThrow(config);
    expect(
      () => new PosternClient({ serverUrl: 'ftp://chat.example.com', siteToken: 't' }),
    ).toThrow(config);
    expect(() => new PosternClient({ serverUrl: SERVER })).toThrow(config);
    const client = new PosternClient({ serverUrl: SERVER, getToken: async () => 't' });
    expect(() => client.connect()).toThrow(config); // Node has no WebSocket of its own here
    expect(client.state).toBe('disconnected');
  });

  it('derives the socket and API addresses from serverUrl, keeping a path prefix', () => {
    const plain = serverAddress('http://localhost:8787/');
    expect(plain.socket).toBe('ws://localhost:8787/v1/ws/widget');
    expect(plain.api('/v1/widget/session')).toBe('http://localhost:8787/v1/widget/session');
    const mounted = serverAddress('https://example.com/chat/');
    expect(mounted.origin).toBe('https://example.com');
    expect(mounted.socket).toBe('wss://example.com/chat/v1/ws/widget');
    expect(new TokenError('ERR_TOKEN_RETRY').stop).toBe(false);
    expect(new TokenError('ERR_TOKEN_UNAUTHORIZED').stop).toBe(true);
  });
});
