/**
 * Well-formed clients from a chosen loopback address: HTTP through `node:http` (fetch cannot pick
 * its source address) and real `ws` sockets, plus ways to wait for what the server says.
 */
import { request } from 'node:http';
import WebSocket from 'ws';
import { type HttpAnswer, readAnswer } from '../../support/http-answer.js';

export type { HttpAnswer };

export interface HttpInput {
  readonly port: number;
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  readonly localAddress?: string;
  readonly timeoutMs?: number;
}

export function httpCall(input: HttpInput): Promise<HttpAnswer> {
  const { port, method = 'GET', path, headers = {}, body, localAddress, timeoutMs = 5_000 } = input;
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      method,
      path,
      headers,
      agent: false,
      timeout: timeoutMs,
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    req.on('response', (res) => readAnswer(res).then(resolve, reject));
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in time`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface WsOptions {
  readonly origin?: string;
  readonly localAddress?: string;
}

/** Opens a `ws` client; resolves once open, rejects with the HTTP status of a refused handshake. */
export function wsOpen(url: string, options: WsOptions = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      ...(options.origin === undefined ? {} : { origin: options.origin }),
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      handshakeTimeout: 5_000,
      // Let the server decide every size limit: the client must be able to send oversize frames.
      maxPayload: 0,
    });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`handshake refused: ${res.statusCode}`));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

/** Resolves with the close code and reason, or `null` when nothing closes within `timeoutMs`. */
export function closeOf(ws: WebSocket, timeoutMs = 5_000): Promise<Closed | null> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString('utf8') });
    });
  });
}

/** Every JSON text frame the socket receives, in order (collected from now on). */
export function collect(ws: WebSocket): unknown[] {
  const received: unknown[] = [];
  ws.on('error', () => undefined);
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    try {
      received.push(JSON.parse(data.toString()));
    } catch {
      received.push(data.toString());
    }
  });
  return received;
}

/** Resolves with the first frame `predicate` accepts, or `null` after `timeoutMs`. */
export function nextFrame(
  ws: WebSocket,
  predicate: (frame: Record<string, unknown>) => boolean,
  timeoutMs = 5_000,
): Promise<Record<string, unknown> | null> {
  return new Promise((resolve) => {
    const done = (value: Record<string, unknown> | null) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      resolve(value);
    };
    const onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) return;
      const value: unknown = JSON.parse(data.toString());
      if (typeof value === 'object' && value !== null) {
        const frame = value as Record<string, unknown>;
        if (predicate(frame)) done(frame);
      }
    };
    const onClose = () => done(null);
    const timer = setTimeout(() => done(null), timeoutMs);
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

/** Sends `auth` and resolves with `ready`, or rejects with the close the server chose instead. */
export async function authenticate(ws: WebSocket, token: string): Promise<Record<string, unknown>> {
  const closed = closeOf(ws, 5_000);
  const ready = nextFrame(ws, (frame) => frame['type'] === 'ready');
  ws.send(JSON.stringify({ type: 'auth', token }));
  const frame = await ready;
  if (frame) return frame;
  const close = await closed;
  throw new Error(`auth refused: ${close ? `${close.code} ${close.reason}` : 'no answer'}`);
}

/** Whether the socket still works: it is open and the server still answers a frame. */
export async function stillServed(ws: WebSocket): Promise<boolean> {
  if (ws.readyState !== WebSocket.OPEN) return false;
  const answer = nextFrame(ws, (frame) => frame['type'] === 'error', 3_000);
  // A known type with an invalid field gets `error invalid` and the socket stays open (SPEC §4).
  ws.send(JSON.stringify({ type: 'typing', dialog_id: 'probe', state: 'sideways' }));
  return (await answer) !== null && ws.readyState === WebSocket.OPEN;
}
