/**
 * Raw WebSocket handshakes and frames over `net`, like ws's own tests: the exact status line and
 * headers a refused (or accepted) upgrade produces, and frames no well-behaved client would send.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/** A header line to send; `null` as the value leaves a default header out. */
export type HeaderLine = readonly [name: string, value: string | null];

export interface RawHandshakeOptions {
  readonly path: string;
  /** Extra or replacing header lines, in order; a name given twice is sent twice. */
  readonly headers?: readonly HeaderLine[];
  readonly method?: string;
  /** Source address (any 127.x.y.z works on Linux loopback). */
  readonly localAddress?: string;
  /** Bytes written right after the request, in the same write (frames "in the head"). */
  readonly trailing?: Buffer;
  readonly timeoutMs?: number;
}

export interface RawResponse {
  readonly statusLine: string;
  readonly status: number;
  /** Lower-case header name → every value received. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** Body (refusals) or the bytes after the head (accepted: the first server frames). */
  readonly rest: Buffer;
  /** The whole head, for scanning. */
  readonly head: string;
  /** Still open for a 101; destroyed otherwise. */
  readonly socket: Socket;
}

const DEFAULTS: readonly HeaderLine[] = [
  ['Upgrade', 'websocket'],
  ['Connection', 'Upgrade'],
  ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
  ['Sec-WebSocket-Version', '13'],
];

function requestText(port: number, options: RawHandshakeOptions): string {
  const given = options.headers ?? [];
  const overridden = new Set(given.map(([name]) => name.toLowerCase()));
  const lines = [
    `${options.method ?? 'GET'} ${options.path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    ...DEFAULTS.filter(([name]) => !overridden.has(name.toLowerCase())).map(
      ([name, value]) => `${name}: ${value}`,
    ),
    ...given.filter(([, value]) => value !== null).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function parseHead(head: string): Omit<RawResponse, 'rest' | 'socket'> {
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? Number.NaN);
  return { statusLine, status, headers, head };
}

/**
 * Sends a hand-written upgrade request. Resolves once the head is in: at once for a 101 (the
 * socket stays open), at the end of the connection otherwise (so `rest` is the whole body).
 */
export function rawHandshake(port: number, options: RawHandshakeOptions): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      port,
      host: '127.0.0.1',
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    let received = Buffer.alloc(0);
    let parsed: Omit<RawResponse, 'rest' | 'socket'> | null = null;
    let headEnd = -1;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete handshake response in time: ${received.toString('latin1')}`));
    }, options.timeoutMs ?? 2000);
    const finish = () => {
      clearTimeout(timer);
      if (!parsed) {
        reject(new Error(`connection ended before a response: ${received.toString('latin1')}`));
        return;
      }
      resolve({ ...parsed, rest: received.subarray(headEnd + 4), socket });
    };
    socket.on('connect', () => {
      const request = Buffer.from(requestText(port, options), 'latin1');
      socket.write(options.trailing ? Buffer.concat([request, options.trailing]) : request);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (parsed) return;
      headEnd = received.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      parsed = parseHead(received.subarray(0, headEnd).toString('latin1'));
      if (parsed.status === 101) {
        socket.removeAllListeners('data');
        socket.removeAllListeners('end');
        socket.removeAllListeners('close');
        finish();
      }
    });
    socket.on('error', (error) => {
      // A reset after the response was read still tells us the response.
      if (parsed) finish();
      else {
        clearTimeout(timer);
        reject(error);
      }
    });
    socket.on('close', finish);
  });
}

/** A masked client frame (RFC 6455 §5.2); `opcode` 1 text, 2 binary, 8 close. */
export function clientFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const mask = randomBytes(4);
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | length]);
  } else if (length < 65_536) {
    header = Buffer.alloc(4);
    header.writeUInt8((fin ? 0x80 : 0) | opcode, 0);
    header.writeUInt8(0x80 | 126, 1);
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header.writeUInt8((fin ? 0x80 : 0) | opcode, 0);
    header.writeUInt8(0x80 | 127, 1);
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return Buffer.concat([header, mask, masked]);
}

/** The first server close frame in `bytes` (unmasked server frames), or `null`. */
export function findCloseFrame(bytes: Buffer): { code: number; reason: string } | null {
  let offset = 0;
  while (offset + 2 <= bytes.length) {
    const opcode = (bytes[offset] ?? 0) & 0x0f;
    let length = (bytes[offset + 1] ?? 0) & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      length = bytes.readUInt16BE(start);
      start += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(start));
      start += 8;
    }
    if (start + length > bytes.length) return null;
    if (opcode === 8) {
      const body = bytes.subarray(start, start + length);
      return {
        code: body.length >= 2 ? body.readUInt16BE(0) : 1005,
        reason: String(body.subarray(2)),
      };
    }
    offset = start + length;
  }
  return null;
}

/** Reads from a raw socket until a server close frame arrives. */
export function rawClosed(
  socket: Socket,
  already: Buffer = Buffer.alloc(0),
  timeoutMs = 2000,
): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    let bytes = already;
    const check = () => {
      const frame = findCloseFrame(bytes);
      if (!frame) return false;
      clearTimeout(timer);
      socket.off('data', onData);
      resolve(frame);
      return true;
    };
    const onData = (chunk: Buffer) => {
      bytes = Buffer.concat([bytes, chunk]);
      check();
    };
    const timer = setTimeout(() => {
      socket.off('data', onData);
      reject(new Error('no close frame in time'));
    }, timeoutMs);
    if (check()) return;
    socket.on('data', onData);
  });
}
