/**
 * The socket, built on `reconnecting-websocket` (4.4). That library keeps one logical socket and
 * reconnects after every close, awaiting an async URL provider before each attempt; this module
 * keeps what it does well and fences off what does not fit Postern:
 *
 * - It reconnects after *every* close, with its own un-jittered backoff. Its delays are set to 0
 *   and the URL provider (the client's) is the gate: it awaits the full-jitter delay the close
 *   policy chose and the token, and a stop closes the instance for good.
 * - After `close()` or `maxRetries` its connect lock stays taken, so `reconnect()` silently does
 *   nothing (pladaria/reconnecting-websocket#125, #165). An instance is therefore never revived:
 *   every start makes a new one.
 * - A rejecting URL provider leaves the same lock taken and an unhandled rejection. The client's
 *   provider never rejects; token failures are handled inside it.
 * - On a socket `error` it closes the socket itself and reports a made-up close with code 1000,
 *   which would read as NORMAL ("stop for good") after a mere network failure. Such closes come
 *   from the instance itself (their `target`), and are reported here as `synthetic`.
 * - It queues `send()` calls made while closed and flushes them before `open` listeners run,
 *   i.e. before `auth`, which the server answers with 4000. Its queue is disabled; the client
 *   only sends on an open socket and keeps its own outbox.
 */
import ReconnectingWebSocket from 'reconnecting-websocket';

/** How long a socket may stay CONNECTING before the attempt counts as failed. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * What the client touches of a socket: the global `WebSocket` has it (browsers, Node 22+), and so
 * has the class of the `ws` package (Node 20, see the README).
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: SocketEventType, listener: SocketListener): void;
  removeEventListener(type: SocketEventType, listener: SocketListener): void;
}

type SocketEventType = 'open' | 'message' | 'close' | 'error';
// biome-ignore lint/suspicious/noExplicitAny: each implementation has its own event classes (the DOM's, ws's); the transport reads only `code`, `reason` and `data` of them
type SocketListener = (event: any) => void;

/** A WebSocket constructor, like the global `WebSocket` or `ws`'s `WebSocket`. */
export interface WebSocketConstructor {
  new (url: string): WebSocketLike;
  /** 2 on every WebSocket class; reconnecting-websocket refuses a class without it. */
  readonly CLOSING: number;
}

export interface TransportHandlers {
  /** Awaited before every attempt; resolves with the URL to open. Must never reject. */
  url(): Promise<string>;
  open(): void;
  message(data: unknown): void;
  /** The current socket ended; `synthetic` when the library made the close up after an error. */
  close(code: number, reason: string, synthetic: boolean): void;
}

export interface Transport {
  /** Sends one frame on an open socket; `false` (nothing queued) when there is none. */
  send(text: string): boolean;
  /** Drops the current socket and lets the URL provider gate the next attempt. */
  restart(): void;
  /** Closes for good. */
  close(): void;
}

export function openTransport(
  WebSocket: WebSocketConstructor,
  handlers: TransportHandlers,
): Transport {
  const socket = new ReconnectingWebSocket(() => handlers.url(), undefined, {
    WebSocket,
    minReconnectionDelay: 0,
    maxReconnectionDelay: 0,
    connectionTimeout: CONNECT_TIMEOUT_MS,
    maxEnqueuedMessages: 0,
  });
  socket.addEventListener('open', () => handlers.open());
  socket.addEventListener('message', (event) => handlers.message(event.data));
  socket.addEventListener('close', (event) =>
    handlers.close(event.code, event.reason ?? '', event.target === socket),
  );
  // Normally preceded by a synthetic close; if closing the failed socket threw, it is not,
  // and this is the only word of the failure. The client counts each socket's end once.
  socket.addEventListener('error', () => handlers.close(1006, '', true));
  return {
    send(text) {
      if (socket.readyState !== 1) return false;
      socket.send(text);
      return true;
    },
    restart: () => socket.reconnect(1000, 'restart'),
    close: () => socket.close(1000, 'client'),
  };
}
