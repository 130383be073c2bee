/**
 * Raw `ws` client sockets for the load generator, the same for all three servers (Socket.IO is
 * spoken in its own framing over the same sockets, see `socketio.ts`), so the client side costs
 * the same whichever server is measured.
 */
import WebSocket from 'ws';

export interface OpenOptions {
  readonly origin?: string;
  readonly localAddress: string;
  readonly timeoutMs?: number;
}

/**
 * Starts opening a socket: listeners attached to `ws` right away see every frame, including one
 * the server sends with its handshake answer (ws delivers it before a promise continuation
 * after `open` would run). `opened` rejects on a refused handshake or a timeout.
 */
export function startSocket(
  url: string,
  options: OpenOptions,
): { readonly ws: WebSocket; readonly opened: Promise<void> } {
  const ws = new WebSocket(url, {
    ...(options.origin === undefined ? {} : { origin: options.origin }),
    localAddress: options.localAddress,
    perMessageDeflate: false,
    handshakeTimeout: options.timeoutMs ?? 15_000,
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      ws.off('error', reject);
      // From here a reset shows up as the close; never as an unhandled 'error'.
      ws.on('error', () => undefined);
      resolve();
    });
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`handshake refused: ${res.statusCode}`));
      ws.terminate();
    });
    ws.once('error', reject);
  });
  return { ws, opened };
}

/** Opens a socket; resolves once open, rejects on a refused handshake or a timeout. */
export async function openSocket(url: string, options: OpenOptions): Promise<WebSocket> {
  const { ws, opened } = startSocket(url, options);
  await opened;
  return ws;
}

/**
 * Resolves with the first text frame `pick` maps to a value (rejects when it maps one to an
 * `Error`); rejects when the socket closes or after `timeoutMs`. Listens only until then.
 */
export function nextText<T>(
  ws: WebSocket,
  pick: (text: string) => T | Error | undefined,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (settle: () => void) => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
      settle();
    };
    const onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) return;
      const value = pick(String(data));
      if (value instanceof Error) done(() => reject(value));
      else if (value !== undefined) done(() => resolve(value));
    };
    const onClose = (code: number, reason: Buffer) =>
      done(() => reject(new Error(`closed ${code} ${String(reason)} while waiting for ${what}`)));
    const timer = setTimeout(
      () => done(() => reject(new Error(`timed out waiting for ${what}`))),
      timeoutMs,
    );
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

/** Parses a JSON object frame, or `undefined`. */
export function jsonFrame(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Closes every socket and waits (at most `timeoutMs`) for the closes to complete. */
export async function closeAll(sockets: Iterable<WebSocket>, timeoutMs = 10_000): Promise<void> {
  const waits: Promise<void>[] = [];
  for (const ws of sockets) {
    if (ws.readyState === WebSocket.CLOSED) continue;
    waits.push(new Promise((resolve) => ws.once('close', () => resolve())));
    ws.close();
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
  });
  await Promise.race([Promise.all(waits), late]);
  clearTimeout(timer);
  for (const ws of sockets) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
}

/** A chat participant: one socket in one room (dialog). */
export interface ChatEndpoint {
  /** Sends one chat message tagged `tag` (a UUID). */
  send(tag: string, text: string): void;
  /** The server acknowledged this endpoint's message `tag`. */
  onAck: (tag: string) => void;
  /** The peer's message `tag` arrived here. */
  onPeer: (tag: string) => void;
  /** The server refused this endpoint's message `tag`. */
  onRefused: (tag: string, code: string) => void;
  readonly ws: WebSocket;
}

/** Handlers that drop everything, until a scenario installs its own. */
export function endpointOf(ws: WebSocket, send: (tag: string, text: string) => void): ChatEndpoint {
  return {
    ws,
    send,
    onAck: () => undefined,
    onPeer: () => undefined,
    onRefused: () => undefined,
  };
}

/** Runs `task(i)` for i in 0..count-1 with at most `concurrency` in flight; collects results. */
export async function pool<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<{ results: T[]; errors: string[] }> {
  const results: T[] = [];
  const errors: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      try {
        results.push(await task(index));
      } catch (error) {
        errors.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { results, errors };
}
