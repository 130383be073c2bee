/**
 * A client wired to fakes, with every event it emits recorded. Each test drives the sockets and
 * the clock itself; nothing here waits on real time except `settle()`, which only lets already
 * queued callbacks run.
 */
import type { ChatMessage, ReadyFrame } from '@postern/protocol';
import { vi } from 'vitest';
import { PosternClient } from '../../src/client/client.js';
import type { PosternClientOptions, PosternEvents } from '../../src/client/types.js';
import {
  FakeClock,
  FakePage,
  type FakeWebSocket,
  fakeWebSocketClass,
  scriptedFetch,
  settle,
} from './fakes.js';

export const SERVER = 'https://chat.example.com';
export const DIALOG = 'dialog_1';

/** A UUID the protocol accepts, numbered so tests can name it. */
export function uuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

export function message(seq: number, extra: Partial<ChatMessage> = {}) {
  return {
    type: 'message' as const,
    dialog_id: DIALOG,
    seq,
    id: `msg_${seq}`,
    sender: 'assistant' as const,
    text: `text ${seq}`,
    ts: 1_700_000_000_000 + seq,
    ...extra,
  };
}

type Recorded = { [K in keyof PosternEvents]: PosternEvents[K][] };

export function createHarness(options: Partial<PosternClientOptions> = {}) {
  const sockets: FakeWebSocket[] = [];
  const clock = new FakeClock();
  const page = new FakePage();
  const http = scriptedFetch();
  let tokens = 0;
  const getToken = vi.fn(async () => `visitor-token-${++tokens}`);
  let ids = 0;
  const client = new PosternClient({
    serverUrl: SERVER,
    getToken,
    WebSocket: fakeWebSocketClass(sockets),
    clock,
    page,
    random: () => 0.5,
    uuid: () => uuid(++ids),
    fetch: http.fetch,
    ...options,
  });
  const events: Recorded = {
    state: [],
    ready: [],
    message: [],
    typing: [],
    handoff: [],
    outbox: [],
    resynced: [],
    error: [],
  };
  for (const name of Object.keys(events) as (keyof PosternEvents)[]) {
    const record = (payload: unknown) => (events[name] as unknown[]).push(payload);
    client.on(name, record as never);
  }

  function latest(): FakeWebSocket {
    const socket = sockets.at(-1);
    if (!socket) throw new Error('no socket was created');
    return socket;
  }

  function ready(extra: Partial<ReadyFrame> = {}): ReadyFrame {
    return {
      type: 'ready',
      session_id: 'session',
      server_time: clock.now(),
      ping_interval_ms: 25_000,
      token_expires_at: clock.now() + 900_000,
      visitor_id: 'visitor_1',
      dialog_id: DIALOG,
      last_seq: 0,
      handoff: { state: 'assistant' },
      ...extra,
    };
  }

  /** Waits for the next socket, opens it and answers `auth` with `ready`. */
  async function accept(extra: Partial<ReadyFrame> = {}): Promise<FakeWebSocket> {
    await settle();
    const socket = latest();
    if (socket.readyState !== 0) throw new Error('no new socket is waiting to open');
    socket.open();
    socket.receive(ready(extra));
    return socket;
  }

  /** `connect()`, then the first socket accepted. */
  async function connected(extra: Partial<ReadyFrame> = {}): Promise<FakeWebSocket> {
    client.connect();
    return accept(extra);
  }

  /**
   * Lets the transport ask for its next URL (it does so after a zero-delay timer of its own),
   * then moves the fake clock so the retry delay passes.
   */
  async function wait(ms: number): Promise<void> {
    await settle();
    clock.advance(ms);
    await settle();
  }

  return {
    client,
    sockets,
    clock,
    page,
    http,
    getToken,
    events,
    latest,
    ready,
    accept,
    connected,
    wait,
  };
}

export type Harness = ReturnType<typeof createHarness>;

/** The disconnect info of the last `state` event that carried one. */
export function lastDisconnect(harness: Harness) {
  const info = harness.events.state.filter((change) => change.disconnect).at(-1)?.disconnect;
  if (!info) throw new Error('no disconnect went through the funnel');
  return info;
}
