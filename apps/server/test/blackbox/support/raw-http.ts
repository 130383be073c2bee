/**
 * Raw HTTP on a TCP socket: requests a well-behaved client would never send, read back byte for
 * byte, including the WebSocket opening handshake as plain text.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** An HTTP response read off a raw socket. */
export interface RawResponse {
  /** Status code, or `null` when the server closed without answering. */
  readonly status: number | null;
  /** The whole head (status line and headers), as text. */
  readonly head: string;
  readonly body: string;
  /** Everything received, as text. */
  readonly raw: string;
  /** Whether the server closed the connection (rather than the reader giving up). */
  readonly closed: boolean;
}

export interface RawOptions {
  readonly port: number;
  readonly localAddress?: string;
  /** Give up (and destroy the socket) after this long; resolves with what arrived. */
  readonly timeoutMs?: number;
}

export function openSocket({ port, localAddress }: RawOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      port,
      host: '127.0.0.1',
      ...(localAddress === undefined ? {} : { localAddress }),
    });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function parseResponse(buffer: Buffer, closed: boolean): RawResponse | null {
  const raw = buffer.toString('latin1');
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) {
    return closed ? { status: null, head: raw, body: '', raw, closed } : null;
  }
  const head = raw.slice(0, end);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? Number.NaN);
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1];
  const body = raw.slice(end + 4);
  // A 101 has no body; otherwise wait for the declared length (or the close).
  const complete = status === 101 || (length !== undefined && body.length >= Number(length));
  if (!complete && !closed) return null;
  return { status: Number.isNaN(status) ? null : status, head, body, raw, closed };
}

/** Reads one response off `socket` (resolves at its end, at close, or at the timeout). */
export function readResponse(socket: Socket, timeoutMs = 5_000): Promise<RawResponse> {
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    let done = false;
    const finish = (response: RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(response);
    };
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const parsed = parseResponse(buffer, false);
      if (parsed) finish(parsed);
    };
    const onClose = () => {
      const raw = buffer.toString('latin1');
      finish(
        parseResponse(buffer, true) ?? { status: null, head: raw, body: '', raw, closed: true },
      );
    };
    const timer = setTimeout(() => {
      const raw = buffer.toString('latin1');
      finish(
        parseResponse(buffer, false) ?? {
          status: null,
          head: raw,
          body: '',
          raw,
          closed: false,
        },
      );
    }, timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.on('error', () => undefined);
  });
}

/** Sends `bytes` on a fresh connection and reads one response; the socket is then destroyed. */
export async function rawRequest(
  bytes: string | Buffer,
  options: RawOptions,
): Promise<RawResponse> {
  const socket = await openSocket(options);
  socket.on('error', () => undefined);
  const response = readResponse(socket, options.timeoutMs);
  socket.write(bytes);
  const result = await response;
  socket.destroy();
  return result;
}

/** A WebSocket opening handshake (RFC 6455 §4.1) as raw text; `extra` lines are appended. */
export function upgradeRequest(
  path: string,
  headers: Record<string, string | null> = {},
  extra: readonly string[] = [],
): string {
  const all: Record<string, string | null> = {
    Host: '127.0.0.1',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  const lines = Object.entries(all)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([name, value]) => `${name}: ${value}`);
  return `GET ${path} HTTP/1.1\r\n${[...lines, ...extra].join('\r\n')}\r\n\r\n`;
}

/** Resolves when the server ends the connection (`closed`), or after `timeoutMs` (`!closed`). */
export function endOf(socket: Socket, timeoutMs: number): Promise<{ closed: boolean; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve({ closed: true, ms: 0 });
    const timer = setTimeout(() => resolve({ closed: false, ms: Date.now() - started }), timeoutMs);
    socket.resume();
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, ms: Date.now() - started });
    });
  });
}
