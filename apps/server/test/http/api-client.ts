/**
 * Small clients for the HTTP API tests: each returns status, headers and the parsed body, so a
 * test can assert all three (and the raw text, to prove nothing else leaks).
 */
import { request as httpRequest } from 'node:http';
import { connect as connectTcp } from 'node:net';
import { messagesPath, Paths } from '@postern/protocol';
import { expect } from 'vitest';
import { APP, type Harness, type HarnessOptions, SHOP, startHarness } from '../support/harness.js';
import { type HttpAnswer, readAnswer } from '../support/http-answer.js';

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: Record<string, unknown>;
}

async function read(res: Response): Promise<ApiResponse> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Preflights and bare statuses have no JSON body.
  }
  return { status: res.status, headers: res.headers, text, body };
}

export function sessionPath(siteToken: string): string {
  return `${Paths.WIDGET_SESSION}?site_token=${encodeURIComponent(siteToken)}`;
}

/** `POST /v1/widget/session` with a JSON body; `origin: null` sends no Origin header. */
export async function postSession(
  harness: Harness,
  siteToken: string,
  options: { origin?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const origin = options.origin === undefined ? SHOP : options.origin;
  const res = await fetch(`${harness.base}${sessionPath(siteToken)}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      ...(origin === null ? {} : { Origin: origin }),
      ...options.headers,
    },
    body: JSON.stringify(options.body ?? {}),
  });
  return read(res);
}

/** A new session that must succeed; returns its body fields. */
export async function newSession(
  harness: Harness,
  siteToken: string,
  origin: string = SHOP,
): Promise<{ visitorToken: string; refreshToken: string; visitorId: string; dialogId: string }> {
  const res = await postSession(harness, siteToken, { origin });
  if (res.status !== 200) throw new Error(`session failed: ${res.status} ${res.text}`);
  return {
    visitorToken: res.body['visitor_token'] as string,
    refreshToken: res.body['refresh_token'] as string,
    visitorId: res.body['visitor_id'] as string,
    dialogId: res.body['dialog_id'] as string,
  };
}

/** `POST /v1/widget/session` with a refresh token. */
export function refreshSession(
  harness: Harness,
  siteToken: string,
  refreshToken: unknown,
  origin: string = SHOP,
): Promise<ApiResponse> {
  return postSession(harness, siteToken, { origin, body: { refresh_token: refreshToken } });
}

/** `GET /v1/widget/dialogs/:id/messages`; `authorization: null` sends none. */
export async function getWidgetMessages(
  harness: Harness,
  dialogId: string,
  authorization: string | null,
  origin: string | null = SHOP,
): Promise<ApiResponse> {
  const res = await fetch(`${harness.base}${messagesPath('widget', dialogId)}`, {
    headers: {
      ...(authorization === null ? {} : { Authorization: authorization }),
      ...(origin === null ? {} : { Origin: origin }),
    },
  });
  return read(res);
}

/** `POST /v1/app/revocations` as an operator, from the console origin by default. */
export async function postRevocation(
  harness: Harness,
  operatorToken: string | null,
  body: unknown,
  origin: string = APP,
): Promise<ApiResponse> {
  const res = await fetch(`${harness.base}${Paths.APP_REVOCATIONS}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Origin: origin,
      ...(operatorToken === null ? {} : { Authorization: `Bearer ${operatorToken}` }),
    },
    body: JSON.stringify(body),
  });
  return read(res);
}

/** A preflight for `path` from `origin`. */
export async function preflight(
  harness: Harness,
  path: string,
  origin: string,
  method = 'POST',
): Promise<ApiResponse> {
  const res = await fetch(`${harness.base}${path}`, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': method,
      'Access-Control-Request-Headers': 'content-type',
    },
  });
  return read(res);
}

/**
 * Asserts an error response: the status, and a body that is exactly `{"error":"<code>"}` — no
 * stack, library name, secret or limit value can hide in extra fields or text.
 */
export function expectError(res: ApiResponse, status: number, code: string): void {
  expect({ status: res.status, text: res.text }).toEqual({
    status,
    text: JSON.stringify({ error: code }),
  });
}

/** A clock tests move by hand; pass `clock.now` as the harness `now` option. */
export interface TestClock {
  now(): number;
  advance(ms: number): void;
}

export function createTestClock(start = 1_750_000_000_000): TestClock {
  let current = start;
  return {
    now: () => current,
    advance(ms) {
      current += ms;
    },
  };
}

export type RawResponse = HttpAnswer;

export interface RawRequest {
  readonly method?: string;
  readonly path: string;
  /** An object, or raw `[name, value, name, value, …]` pairs (repeated headers). */
  readonly headers?: Record<string, string | number> | readonly string[];
  /** Written as one chunk; with `chunks`, each written separately (chunked encoding). */
  readonly body?: string | Buffer;
  readonly chunks?: readonly (string | Buffer)[];
  /** Source address, e.g. `127.0.0.2`, to appear as another client IP. */
  readonly localAddress?: string;
}

/** One request with `node:http`, for what `fetch` cannot send (repeated headers, source IPs). */
export function rawRequest(base: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(request.path, base);
  // Raw header arrays are sent as they are: Node adds no Host (HTTP/1.1 requires one).
  const headers = Array.isArray(request.headers)
    ? ['Host', url.host, ...(request.headers as readonly string[])]
    : (request.headers ?? {});
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: request.method ?? 'GET',
        headers: headers as Record<string, string>,
        agent: false,
        ...(request.localAddress ? { localAddress: request.localAddress } : {}),
      },
      (res) => readAnswer(res).then(resolve, reject),
    );
    // A server refusing a body early may reset the rest of the upload; the response still counts.
    req.on('error', reject);
    if (request.chunks) {
      for (const chunk of request.chunks) req.write(chunk);
      req.end();
    } else {
      req.end(request.body);
    }
  });
}

/** The claims of a JWS compact token, unverified (tests read their own tokens' `jti`). */
export function tokenClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/**
 * Writes `head` (and optional `body`) on a plain TCP socket and resolves with the first response:
 * for requests whose framing `node:http` would fix up (a body longer than its Content-Length, a
 * Content-Length never honoured).
 */
export function socketRequest(
  port: number,
  head: string,
  body: string | Buffer = '',
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no response in time'));
    }, 3000);
    let received = Buffer.alloc(0);
    const finish = (text: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const text = received.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
      if (received.length >= end + 4 + length) finish(text.slice(0, end + 4 + length));
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      if (received.length > 0) finish(received.toString('latin1'));
    });
    socket.write(head);
    if (body.length > 0) socket.write(body);
  });
}

/**
 * The integration harness with small rate tables: `lru-cache` allocates a table's `max` up front,
 * and the default of 100 000 keys costs ~100 ms per server. Tests never hold that many keys.
 */
export function startApiHarness(options: HarnessOptions = {}): Promise<Harness> {
  return startHarness({ ...options, env: { POSTERN_LIMITER_MAX_KEYS: '1000', ...options.env } });
}
