import type { ServerFrame } from '@postern/protocol';
import { describe, expect, it } from 'vitest';
import {
  CONNECT_TIMEOUT_MS,
  type ConnectionState,
  createConnection,
  type SocketHandlers,
} from '../../console/src/connection.js';
import type { TokenResult } from '../../console/src/token-source.js';

/** Timers driven by hand: `advance(ms)` runs what falls due, in order. */
function manualTimers() {
  let now = 0;
  let nextId = 1;
  const pending = new Map<number, { at: number; callback: () => void }>();
  return {
    setTimeout(callback: () => void, ms: number): unknown {
      const id = nextId++;
      pending.set(id, { at: now + ms, callback });
      return id;
    },
    clearTimeout(handle: unknown) {
      pending.delete(handle as number);
    },
    advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const due = [...pending.entries()]
          .filter(([, timer]) => timer.at <= until)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (due === undefined) break;
        pending.delete(due[0]);
        now = due[1].at;
        due[1].callback();
      }
      now = until;
    },
  };
}

interface FakeSocket {
  readonly url: string;
  readonly handlers: SocketHandlers;
  readonly sent: Record<string, unknown>[];
  closedByClient: boolean;
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup(tokens: (TokenResult | Error)[] = []) {
  const timers = manualTimers();
  const sockets: FakeSocket[] = [];
  const states: ConnectionState[] = [];
  const frames: ServerFrame[] = [];
  let issued = 0;
  const connection = createConnection({
    url: 'ws://postern.test/v1/ws/app',
    async getToken() {
      const next = tokens.shift() ?? { kind: 'token', token: `token-${++issued}`, expiresAt: 0 };
      if (next instanceof Error) throw next;
      return next;
    },
    openSocket(url, handlers) {
      const socket: FakeSocket = { url, handlers, sent: [], closedByClient: false };
      sockets.push(socket);
      return {
        send: (data) => socket.sent.push(JSON.parse(data) as Record<string, unknown>),
        close: () => {
          socket.closedByClient = true;
        },
      };
    },
    // Mid-window draws, so delays are predictable: half of each window.
    random: () => 0.5,
    timers,
    onFrame: (frame) => frames.push(frame),
    onState: (state) => states.push(state),
  });
  const last = () => {
    const socket = sockets.at(-1);
    if (!socket) throw new Error('no socket opened');
    return socket;
  };
  const receive = (frame: Record<string, unknown>) =>
    last().handlers.onMessage(JSON.stringify(frame));
  const ready = (pingIntervalMs = 25_000) =>
    receive({
      type: 'ready',
      session_id: 's',
      server_time: 1,
      ping_interval_ms: pingIntervalMs,
      token_expires_at: 2,
    });
  async function open() {
    connection.start();
    await flush();
    last().handlers.onOpen();
  }
  return { connection, timers, sockets, states, frames, last, receive, ready, open };
}

describe('createConnection', () => {
  it('authenticates with a token from getToken as its first frame and becomes ready', async () => {
    const t = setup();
    await t.open();
    expect(t.last().url).toBe('ws://postern.test/v1/ws/app');
    expect(t.last().sent).toEqual([{ type: 'auth', token: 'token-1' }]);
    t.ready();
    expect(t.connection.state).toEqual({ kind: 'ready' });
    expect(t.frames.map((frame) => frame.type)).toEqual(['ready']);
  });

  it('answers ping with pong', async () => {
    const t = setup();
    await t.open();
    t.ready();
    t.receive({ type: 'ping', id: 42 });
    expect(t.last().sent.at(-1)).toEqual({ type: 'pong', id: 42 });
  });

  it('fetches a new token on refresh_required and sends refresh', async () => {
    const t = setup();
    await t.open();
    t.ready();
    t.receive({ type: 'refresh_required', expires_at: 99 });
    await flush();
    expect(t.last().sent.at(-1)).toEqual({ type: 'refresh', token: 'token-2' });
  });

  it('sends frames only while ready', async () => {
    const t = setup();
    const frame = { type: 'subscribe', dialog_id: 'd1' } as const;
    expect(t.connection.send(frame)).toBe(false);
    await t.open();
    expect(t.connection.send(frame)).toBe(false);
    t.ready();
    expect(t.connection.send(frame)).toBe(true);
  });

  it('backs off with full jitter after a transport failure, then reconnects', async () => {
    const t = setup();
    await t.open();
    t.ready();
    t.last().handlers.onClose(1006, '');
    // Attempt 0: window 500 ms, random 0.5.
    expect(t.connection.state).toEqual({ kind: 'waiting', delayMs: 250, code: 1006 });
    t.timers.advance(249);
    expect(t.sockets).toHaveLength(1);
    t.timers.advance(1);
    await flush();
    expect(t.sockets).toHaveLength(2);
    expect(t.connection.state.kind).toBe('connecting');
  });

  it('grows the backoff until a connection stays up for 5 s', async () => {
    const t = setup();
    await t.open();
    t.last().handlers.onClose(1006, '');
    t.timers.advance(250);
    await flush();
    t.last().handlers.onClose(1006, '');
    expect(t.connection.state).toMatchObject({ delayMs: 500 });
    t.timers.advance(500);
    await flush();
    t.last().handlers.onOpen();
    t.ready();
    t.timers.advance(5_000);
    t.last().handlers.onClose(1006, '');
    expect(t.connection.state).toMatchObject({ delayMs: 250 });
  });

  it('stops for good on a stop code and does not retry by itself', async () => {
    const t = setup();
    await t.open();
    t.last().handlers.onClose(4003, '');
    expect(t.connection.state).toEqual({
      kind: 'stopped',
      why: 'server',
      code: 4003,
      revival: 'never',
    });
    t.timers.advance(120_000);
    expect(t.sockets).toHaveLength(1);
  });

  it('honours a retry hint on 4008', async () => {
    const t = setup();
    await t.open();
    t.last().handlers.onClose(4008, 'retry=30');
    // At least the hint, plus up to one more hint of spread.
    expect(t.connection.state).toMatchObject({ kind: 'waiting', delayMs: 45_000 });
  });

  it('reconnects at once with a new token after 4001', async () => {
    const t = setup();
    await t.open();
    t.ready();
    t.last().handlers.onClose(4001, '');
    expect(t.connection.state).toMatchObject({ kind: 'waiting', delayMs: 0 });
    t.timers.advance(0);
    await flush();
    t.last().handlers.onOpen();
    expect(t.last().sent[0]).toEqual({ type: 'auth', token: 'token-2' });
  });

  it('stops without retrying when the token source refuses', async () => {
    const t = setup([{ kind: 'unauthorized' }]);
    t.connection.start();
    await flush();
    expect(t.sockets).toHaveLength(0);
    expect(t.connection.state).toMatchObject({ kind: 'stopped', why: 'unauthorized' });
  });

  it('backs off when the token source cannot be reached', async () => {
    const t = setup([new Error('offline')]);
    t.connection.start();
    await flush();
    expect(t.connection.state).toMatchObject({ kind: 'waiting', code: 1006 });
  });

  it('treats silence beyond the ping interval plus grace as a dead connection', async () => {
    const t = setup();
    await t.open();
    t.ready(1_000);
    t.timers.advance(10_999);
    expect(t.connection.state.kind).toBe('ready');
    t.timers.advance(1);
    expect(t.last().closedByClient).toBe(true);
    expect(t.connection.state).toMatchObject({ kind: 'waiting', code: 4010 });
  });

  it('gives up an attempt that never becomes ready', async () => {
    const t = setup();
    await t.open();
    t.timers.advance(CONNECT_TIMEOUT_MS);
    expect(t.connection.state).toMatchObject({ kind: 'waiting', code: 1006 });
  });

  it('drops late callbacks of an old socket', async () => {
    const t = setup();
    await t.open();
    const old = t.last();
    old.handlers.onClose(1006, '');
    t.timers.advance(250);
    await flush();
    old.handlers.onMessage(JSON.stringify({ type: 'ping', id: 1 }));
    old.handlers.onClose(4003, '');
    expect(t.connection.state.kind).toBe('connecting');
    expect(old.sent).toEqual([{ type: 'auth', token: 'token-1' }]);
  });

  it('ignores unknown and malformed frames', async () => {
    const t = setup();
    await t.open();
    t.ready();
    t.receive({ type: 'from_the_future' });
    t.receive({ type: 'ping' });
    t.last().handlers.onMessage('not json');
    expect(t.frames.map((frame) => frame.type)).toEqual(['ready']);
  });

  it('retries at once on a user action, with a fresh attempt counter', async () => {
    const t = setup();
    await t.open();
    t.last().handlers.onClose(4005, '');
    expect(t.connection.state).toMatchObject({
      kind: 'stopped',
      revival: 'user_action_or_visible',
    });
    t.connection.retry();
    await flush();
    expect(t.sockets).toHaveLength(2);
  });

  it('keeps going when a listener throws', async () => {
    const errors: unknown[] = [];
    const timers = manualTimers();
    let handlers: SocketHandlers | null = null;
    const sent: string[] = [];
    const connection = createConnection({
      url: 'ws://postern.test/v1/ws/app',
      getToken: async () => ({ kind: 'token', token: 't', expiresAt: 0 }),
      openSocket(_url, given) {
        handlers = given;
        return { send: (data) => sent.push(data), close: () => {} };
      },
      random: () => 0.5,
      timers,
      onFrame: () => {
        throw new Error('view bug');
      },
      onState: () => {},
      onError: (error) => errors.push(error),
    });
    connection.start();
    await flush();
    const socket = handlers as SocketHandlers | null;
    socket?.onOpen();
    socket?.onMessage(JSON.stringify({ type: 'ping', id: 7 }));
    expect(sent.at(-1)).toBe(JSON.stringify({ type: 'pong', id: 7 }));
    expect(errors).toHaveLength(1);
  });
});
