/**
 * Raw WebSocket frames built by hand (masking, fragmentation, invalid UTF-8, control-frame
 * floods) that the `ws` client refuses to make, and a reader for the server's frames.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { openSocket, type RawOptions, upgradeRequest } from './raw-http.js';

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** One client frame (always masked, as RFC 6455 §5.3 requires of clients). */
export function encodeFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const length = payload.length;
  const sizeBytes = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const header = Buffer.alloc(2 + sizeBytes + 4);
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (sizeBytes === 0) {
    header[1] = 0x80 | length;
  } else if (sizeBytes === 2) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  mask.copy(header, 2 + sizeBytes);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return Buffer.concat([header, masked]);
}

export interface ServerFrameRead {
  readonly opcode: number;
  readonly payload: Buffer;
}

export interface CloseFrame {
  /** Close code, or `null` when the TCP connection ended without a close frame. */
  readonly code: number | null;
  readonly reason: string;
}

/** A raw WebSocket client: parses server frames (unmasked) as they arrive. */
export interface RawWs {
  readonly socket: Socket;
  readonly frames: ServerFrameRead[];
  send(bytes: Buffer): void;
  sendText(text: string): void;
  /** Resolves at the server's close frame or the end of the connection, else `null` on timeout. */
  closed(timeoutMs: number): Promise<CloseFrame | null>;
  /** Resolves at the first text frame `predicate` accepts, else `null` on timeout. */
  text(predicate: (value: unknown) => boolean, timeoutMs: number): Promise<unknown>;
  destroy(): void;
}

/** Completes a handshake on a raw socket; throws unless the server answers 101. */
export async function openRawWs(
  path: string,
  headers: Record<string, string | null>,
  options: RawOptions,
): Promise<RawWs> {
  const socket = await openSocket(options);
  socket.on('error', () => undefined);
  const head = await new Promise<{ status: string; rest: Buffer }>((resolve, reject) => {
    let buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const end = buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      resolve({
        status: buffer.subarray(0, end).toString('latin1'),
        rest: buffer.subarray(end + 4),
      });
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed during the handshake')));
    socket.write(upgradeRequest(path, headers));
  });
  if (!head.status.startsWith('HTTP/1.1 101')) {
    socket.destroy();
    throw new Error(`handshake refused: ${head.status.split('\r\n', 1)[0]}`);
  }
  return rawWsOn(socket, head.rest);
}

function rawWsOn(socket: Socket, initial: Buffer): RawWs {
  const frames: ServerFrameRead[] = [];
  const listeners = new Set<() => void>();
  let buffer = initial;
  let ended = false;

  const parse = () => {
    for (;;) {
      if (buffer.length < 2) return;
      const opcode = (buffer[0] ?? 0) & 0x0f;
      let length = (buffer[1] ?? 0) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) return;
      frames.push({ opcode, payload: buffer.subarray(offset, offset + length) });
      buffer = buffer.subarray(offset + length);
    }
  };
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    parse();
    notify();
  });
  socket.once('close', () => {
    ended = true;
    notify();
  });
  parse();

  /** Waits until `check` returns a value (re-checked on every frame and at the end). */
  function until<T>(check: () => T | undefined, timeoutMs: number): Promise<T | null> {
    return new Promise((resolve) => {
      const attempt = () => {
        const value = check();
        if (value === undefined) return false;
        listeners.delete(attempt);
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        listeners.delete(attempt);
        resolve(null);
      }, timeoutMs);
      listeners.add(attempt);
      attempt();
    });
  }

  return {
    socket,
    frames,
    send: (bytes) => {
      if (!socket.destroyed) socket.write(bytes);
    },
    sendText: (text) => {
      if (!socket.destroyed) socket.write(encodeFrame(Opcode.TEXT, Buffer.from(text, 'utf8')));
    },
    closed: (timeoutMs) =>
      until<CloseFrame>(() => {
        const frame = frames.find((item) => item.opcode === Opcode.CLOSE);
        if (frame) {
          const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : null;
          return { code, reason: frame.payload.subarray(2).toString('utf8') };
        }
        return ended ? { code: null, reason: '' } : undefined;
      }, timeoutMs),
    text: (predicate, timeoutMs) =>
      until<unknown>(() => {
        for (const frame of frames) {
          if (frame.opcode !== Opcode.TEXT) continue;
          const value: unknown = JSON.parse(frame.payload.toString('utf8'));
          if (predicate(value)) return value;
        }
        return undefined;
      }, timeoutMs),
    destroy: () => socket.destroy(),
  };
}
