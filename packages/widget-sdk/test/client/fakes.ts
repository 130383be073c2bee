/**
 * Fakes for the client's surroundings: a WebSocket the test drives frame by frame, a clock whose
 * time and timers move only when told, page signals, storage, locks and a scripted `fetch`.
 */
import type { ClientFrame, ServerFrame } from '@postern/protocol';
import type { Clock } from '../../src/client/environment.js';
import type { PageSignal, PageSignals } from '../../src/client/page.js';
import type { StorageLike } from '../../src/client/storage.js';
import type { WebSocketConstructor } from '../../src/client/transport.js';

type Json = Record<string, unknown>;

/**
 * Stands in for the browser `WebSocket`. Every instance is recorded; the test opens it, feeds it
 * server frames, and closes it the ways a browser reports closes.
 */
export class FakeWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  readyState = 0;
  binaryType = 'blob';
  readonly sent: string[] = [];
  closedWith: { code?: number; reason?: string } | null = null;

  constructor(
    readonly url: string,
    registry: FakeWebSocket[],
  ) {
    super();
    registry.push(this);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = {
      ...(code === undefined ? {} : { code }),
      ...(reason === undefined ? {} : { reason }),
    };
    if (this.readyState !== 3) this.finish(code ?? 1005, reason ?? '');
  }

  // Test controls ------------------------------------------------------------------------

  open(): void {
    this.readyState = 1;
    this.dispatchEvent(new Event('open'));
  }

  receive(frame: ServerFrame | Json): void {
    this.receiveRaw(JSON.stringify(frame));
  }

  receiveRaw(data: unknown): void {
    this.dispatchEvent(Object.assign(new Event('message'), { data }));
  }

  /** The server closed with a close frame. */
  serverClose(code: number, reason = ''): void {
    if (this.readyState !== 3) this.finish(code, reason);
  }

  /** How a browser reports a refused handshake or a dropped connection: `error`, then 1006. */
  fail(): void {
    this.readyState = 3;
    this.dispatchEvent(new Event('error'));
    this.finish(1006, '');
  }

  /** Frames the client sent, parsed. */
  frames(): ClientFrame[] {
    return this.sent.map((text) => JSON.parse(text) as ClientFrame);
  }

  framesOf<T extends ClientFrame['type']>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.frames().filter(
      (frame): frame is Extract<ClientFrame, { type: T }> => frame.type === type,
    );
  }

  private finish(code: number, reason: string): void {
    this.readyState = 3;
    this.dispatchEvent(
      Object.assign(new Event('close'), { code, reason, wasClean: code !== 1006 }),
    );
  }
}

/** A constructor bound to one registry, as the client's `WebSocket` option. */
export function fakeWebSocketClass(registry: FakeWebSocket[]): WebSocketConstructor {
  const Bound = class extends FakeWebSocket {
    constructor(url: string) {
      super(url, registry);
    }
  };
  // Structurally a subset of the DOM WebSocket: exactly what the transport library touches.
  return Bound as unknown as WebSocketConstructor;
}

/** Time moves only through `advance` (timers fire) or `jump` (they do not: a throttled tab). */
export class FakeClock implements Clock {
  private current = 1_700_000_000_000;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.current + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Moves time forward, running every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.current = Math.max(this.current, next[1].at);
      next[1].callback();
    }
    this.current = end;
  }

  /** Moves time forward without running timers, as in a background tab. */
  jump(ms: number): void {
    this.current += ms;
  }

  /** Due times of pending timers, relative to now. */
  pending(): number[] {
    return [...this.timers.values()].map((timer) => timer.at - this.current).sort((a, b) => a - b);
  }
}

export class FakePage implements PageSignals {
  private readonly listeners = new Set<(signal: PageSignal) => void>();

  listen(notify: (signal: PageSignal) => void): () => void {
    this.listeners.add(notify);
    return () => this.listeners.delete(notify);
  }

  emit(signal: PageSignal): void {
    for (const listener of [...this.listeners]) listener(signal);
  }

  get listening(): number {
    return this.listeners.size;
  }
}

/** Web Storage over a map, counting every access. */
export class MemoryStorage implements StorageLike {
  readonly data = new Map<string, string>();
  readonly calls: string[] = [];

  getItem(key: string): string | null {
    this.calls.push(`get ${key}`);
    return this.data.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this.calls.push(`set ${key}`);
    this.data.set(key, value);
  }

  removeItem(key: string): void {
    this.calls.push(`remove ${key}`);
    this.data.delete(key);
  }
}

/** Web Locks with exclusive named locks, recording the most callbacks ever running at once. */
export class FakeLocks {
  private readonly tails = new Map<string, Promise<unknown>>();
  running = 0;
  maxRunning = 0;
  readonly names: string[] = [];

  request<T>(name: string, callback: () => Promise<T>): Promise<T> {
    this.names.push(name);
    const previous = this.tails.get(name) ?? Promise.resolve();
    const result = previous.then(async () => {
      this.running += 1;
      this.maxRunning = Math.max(this.maxRunning, this.running);
      try {
        return await callback();
      } finally {
        this.running -= 1;
      }
    });
    this.tails.set(
      name,
      result.catch(() => undefined),
    );
    return result;
  }
}

export interface FetchCall {
  readonly url: string;
  readonly init: RequestInit;
  readonly body: Json | null;
}

type Responder = (call: FetchCall) => Response | Promise<Response>;

/** A `fetch` answering from a queue of responders (or a default one), recording every call. */
export function scriptedFetch(fallback?: Responder) {
  const calls: FetchCall[] = [];
  const queue: Responder[] = [];
  const fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const body = typeof init.body === 'string' ? (JSON.parse(init.body) as Json) : null;
    const call = { url, init, body };
    calls.push(call);
    const responder = queue.shift() ?? fallback;
    if (!responder) throw new Error(`unexpected fetch ${url}`);
    return responder(call);
  };
  return { fetch, calls, queue };
}

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** Lets pending promise callbacks and zero-delay timers (the transport's own) run. */
export async function settle(rounds = 4): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** A compact JWS whose payload carries `sub` (its signature is never checked client-side). */
export function fakeSiteToken(sub: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'HS256', typ: 'site+jwt' })}.${encode({ sub })}.signature`;
}
