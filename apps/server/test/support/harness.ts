/**
 * Integration harness: a real server on 127.0.0.1 port 0 over an in-memory store, with known
 * keys so tests can mint site and operator tokens; real `ws` clients and raw HTTP against it.
 */
import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect as connectTcp, type Socket } from 'node:net';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { KeySet } from '../../src/security/tokens.js';
import { createPosternServer, type PosternServer } from '../../src/server.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';

export const SITE_SECRET = 'site-secret-for-tests-0123456789abcdef';
export const VISITOR_SECRET = 'visitor-secret-for-tests-0123456789abcdef';
export const OPERATOR_SECRET = 'operator-secret-for-tests-0123456789abcdef';
export const SHOP = 'http://shop.example:8080';
export const APP = 'http://app.example:8080';

const keySet = (value: string): KeySet => ({ current: new TextEncoder().encode(value) });

export interface Harness {
  readonly server: PosternServer;
  readonly store: Store;
  readonly base: string;
  readonly wsBase: string;
  readonly port: number;
  /** Every log line the server wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Raw log text, for scanning. */
  readonly rawLogs: string[];
  siteToken(input?: {
    siteId?: string;
    allowedDomains?: readonly string[];
    expiresInS?: number;
  }): Promise<{ token: string; jti: string; siteId: string }>;
  operatorToken(input?: {
    operatorId?: string;
    sites?: readonly string[] | '*';
    scope?: readonly string[];
    expiresInS?: number;
  }): Promise<string>;
  /** `POST /v1/widget/session` from `origin`. */
  session(
    siteToken: string,
    origin?: string,
    body?: Record<string, unknown>,
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
  /** Opens a WebSocket; resolves once open (or rejects on a refused handshake). */
  connect(
    path: string,
    headers?: Record<string, string>,
    localAddress?: string,
  ): Promise<WebSocket>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra environment variables (limits etc.). */
  readonly env?: Record<string, string>;
  readonly now?: () => number;
  readonly store?: Store;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const result = loadConfig(
    {
      POSTERN_PORT: '0',
      POSTERN_HOST: '127.0.0.1',
      POSTERN_DB: ':memory:',
      POSTERN_APP_ORIGINS: APP,
      POSTERN_SITE_SECRET: SITE_SECRET,
      POSTERN_SECRET: VISITOR_SECRET,
      POSTERN_OPERATOR_SECRET: OPERATOR_SECRET,
      ...options.env,
    },
    { readFile: () => Buffer.alloc(0) },
  );
  if (!result.ok) throw new Error(result.errors.join('\n'));
  const store = options.store ?? openSqliteStore({ path: ':memory:' });
  const logs: Record<string, unknown>[] = [];
  const rawLogs: string[] = [];
  const log: Logger = createLogger((line) => {
    rawLogs.push(line);
    logs.push(JSON.parse(line) as Record<string, unknown>);
  }, 'debug');
  const server = await createPosternServer({
    config: result.config,
    keys: {
      site: keySet(SITE_SECRET),
      visitor: keySet(VISITOR_SECRET),
      operator: keySet(OPERATOR_SECRET),
    },
    store,
    widget: { version: '0.0.0-test', body: Buffer.from('/* widget */') },
    log,
    ...(options.now ? { now: options.now } : {}),
  });
  await server.listen();
  const port = (server.http.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const wsBase = `ws://127.0.0.1:${port}`;
  const sockets = new Set<WebSocket>();

  return {
    server,
    store,
    base,
    wsBase,
    port,
    logs,
    rawLogs,
    async siteToken(input = {}) {
      const siteId = input.siteId ?? 'site_shop';
      const signed = await server.tokens.signSite({
        siteId,
        assistantId: 'assistant_1',
        allowedDomains: input.allowedDomains ?? ['shop.example'],
        ...(input.expiresInS === undefined ? {} : { expiresInS: input.expiresInS }),
      });
      return { token: signed.token, jti: signed.claims.jti, siteId };
    },
    async operatorToken(input = {}) {
      const signed = await server.tokens.signOperator({
        operatorId: input.operatorId ?? 'op_1',
        name: 'Ana',
        sites: input.sites ?? '*',
        scope: input.scope ?? ['admin'],
        ...(input.expiresInS === undefined ? {} : { expiresInS: input.expiresInS }),
      });
      return signed.token;
    },
    async session(siteToken, origin = SHOP, body = {}) {
      const res = await fetch(
        `${base}/v1/widget/session?site_token=${encodeURIComponent(siteToken)}`,
        {
          method: 'POST',
          headers: { Origin: origin, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        },
      );
      return {
        status: res.status,
        body: (await res.json()) as Record<string, unknown>,
        headers: res.headers,
      };
    },
    connect(path, headers = {}, localAddress) {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`${wsBase}${path}`, {
          headers,
          ...(localAddress ? { localAddress } : {}),
        });
        sockets.add(ws);
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
        ws.once('error', reject);
      });
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      await server.close();
      await store.close();
    },
  };
}

/** Next frame from a socket, parsed. */
export function nextFrame(ws: WebSocket, timeoutMs = 2000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no frame in time')), timeoutMs);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(JSON.parse(String(data)) as Record<string, unknown>);
    });
  });
}

/** Resolves with the close code and reason. */
export function closed(ws: WebSocket, timeoutMs = 3000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    if (ws.readyState === WebSocket.CLOSED) {
      reject(new Error('already closed; listen before the close'));
      return;
    }
    const timer = setTimeout(() => reject(new Error('not closed in time')), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: String(reason) });
    });
  });
}

// --- Helpers for test/limits and test/revocation (appended; real sockets, no fixed sleeps). ---

/** Polls `check` every few ms until it holds; rejects naming `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A client socket whose frames and close are recorded from the start, so none is missed. */
export interface TrackedSocket {
  readonly ws: WebSocket;
  /** Resolves once open; rejects with `HTTP <status>` on a refused handshake. */
  readonly opened: Promise<void>;
  /** Resolves with the close code and reason, whenever the socket closes. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Every frame received so far, parsed. */
  readonly frames: Record<string, unknown>[];
  readonly isClosed: () => boolean;
  send(frame: Record<string, unknown>): void;
}

/** Opens a tracked WebSocket to `wsBase + path`, optionally from a given local address. */
export function trackSocket(
  wsBase: string,
  path: string,
  options: { headers?: Record<string, string>; localAddress?: string } = {},
): TrackedSocket {
  const ws = new WebSocket(`${wsBase}${path}`, {
    headers: options.headers ?? {},
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  const frames: Record<string, unknown>[] = [];
  let isClosed = false;
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Record<string, unknown>));
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  // A refused handshake also ends in 'close' (1006): never leave `opened` unobserved.
  opened.catch(() => undefined);
  const closedPromise = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once('close', (code, reason) => {
      isClosed = true;
      resolve({ code, reason: String(reason) });
    });
  });
  return {
    ws,
    opened,
    closed: closedPromise,
    frames,
    isClosed: () => isClosed,
    send: (frame) => ws.send(JSON.stringify(frame)),
  };
}

/** The answer to a raw WebSocket handshake, with its socket still open when it was a 101. */
export interface RawHandshake {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly socket: Socket;
  /** Bytes received after the response head (WebSocket frames from the server). */
  readonly rest: Buffer;
}

/**
 * Sends a WebSocket handshake by hand (as ws's own tests do) and resolves with the response
 * status and headers. The caller owns the socket: `socket.destroy()` drops it without a close frame.
 */
export function rawHandshake(
  port: number,
  path: string,
  options: { headers?: Record<string, string>; localAddress?: string } = {},
): Promise<RawHandshake> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({
      port,
      host: '127.0.0.1',
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      ...Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    ];
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', reject);
      const [statusLine = '', ...headerLines] = buffer
        .subarray(0, end)
        .toString('latin1')
        .split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const status = Number(statusLine.split(' ')[1]);
      resolve({ status, headers, socket, rest: buffer.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}

/** One masked client text frame (RFC 6455 §5.2), for raw sockets. */
export function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const mask = randomBytes(4);
  const length = payload.length;
  const head =
    length < 126
      ? Buffer.from([0x81, 0x80 | length])
      : length < 65_536
        ? Buffer.from([0x81, 0x80 | 126, length >> 8, length & 0xff])
        : null;
  if (head === null) throw new RangeError('frame too large for this helper');
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] as number)));
  return Buffer.concat([head, mask, masked]);
}

type AsyncStoreMethod = {
  [K in keyof Store]: Store[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof Store];

/** A store whose chosen methods can be held mid-call, to land an event between two awaits. */
export interface GatedStore {
  readonly store: Store;
  /** Holds every later call of `method` (whose arguments pass `filter`) until released. */
  hold(method: AsyncStoreMethod, filter?: (...args: unknown[]) => boolean): void;
  /** Calls of `method` held right now. */
  pending(method: AsyncStoreMethod): number;
  /** Held calls of `method` that have been released and have run. */
  completed(method: AsyncStoreMethod): number;
  /** Lets `count` held calls of `method` (default all) run, oldest first, and stops holding new ones when all are released. */
  release(method: AsyncStoreMethod, count?: number): void;
}

/** Wraps `inner` so calls can be held (a slow database, deterministically). */
export function gateStore(inner: Store): GatedStore {
  const filters = new Map<string, (...args: unknown[]) => boolean>();
  const waiting = new Map<string, (() => void)[]>();
  const done = new Map<string, number>();
  const queueOf = (method: string) => {
    const queue = waiting.get(method) ?? [];
    waiting.set(method, queue);
    return queue;
  };
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        const call = () => (value as (...a: unknown[]) => unknown).apply(target, args);
        const filter = filters.get(property);
        if (filter === undefined || !filter(...args)) return call();
        return new Promise<void>((resolve) => queueOf(property).push(resolve)).then(() => {
          try {
            return call();
          } finally {
            done.set(property, (done.get(property) ?? 0) + 1);
          }
        });
      };
    },
  });
  return {
    store,
    hold(method, filter = () => true) {
      filters.set(method, filter);
    },
    pending: (method) => queueOf(method).length,
    completed: (method) => done.get(method) ?? 0,
    release(method, count) {
      const queue = queueOf(method);
      if (count === undefined) filters.delete(method);
      for (const resume of queue.splice(0, count ?? queue.length)) resume();
    },
  };
}

/** `POST /v1/app/revocations` with an operator token (default: a fresh all-sites admin). */
export async function postRevocation(
  harness: Harness,
  target: { jti: string } | { site_id: string } | { visitor_id: string },
  operatorToken?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${harness.base}/v1/app/revocations`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${operatorToken ?? (await harness.operatorToken())}`,
      'Content-Type': 'application/json',
      Origin: APP,
    },
    body: JSON.stringify(target),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
