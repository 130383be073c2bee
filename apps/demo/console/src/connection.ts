/**
 * The operator console's connection to `/v1/ws/app`: authenticates with a token from
 * `getToken()`, answers `ping`, refreshes the token in band on `refresh_required`, watches the
 * heartbeat, and reconnects by the protocol's close policy (`reconnectPlan`: full-jitter backoff,
 * retry hints, stop codes). One `setState` writes the state; every disconnect goes through one
 * funnel; each transport attempt has an id, so late callbacks of an old socket are dropped.
 */
import {
  type ClientFrame,
  CloseCode,
  DEFAULTS,
  decodeServerFrame,
  HEARTBEAT_GRACE_MS,
  type Revival,
  reconnectPlan,
  type ServerFrame,
  STABLE_CONNECTION_MS,
} from '@postern/protocol';
import type { GetToken } from './token-source.js';

export type ConnectionState =
  | { readonly kind: 'idle' }
  /** Fetching a token, opening the socket or waiting for `ready`. */
  | { readonly kind: 'connecting'; readonly failures: number }
  | { readonly kind: 'ready' }
  /** Closed; the next attempt starts after `delayMs` (or sooner on {@link Connection.retry}). */
  | { readonly kind: 'waiting'; readonly delayMs: number; readonly code: number }
  /** Closed for good until {@link Connection.retry}; `revival` says when a retry makes sense. */
  | {
      readonly kind: 'stopped';
      readonly why: 'server' | 'client_bug' | 'unauthorized' | 'user';
      readonly code: number | null;
      readonly revival: Revival;
    };

/** Callbacks one transport attempt reports through. */
export interface SocketHandlers {
  onOpen(): void;
  onMessage(data: unknown): void;
  onClose(code: number, reason: string): void;
}

export interface SocketHandle {
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** Opens a WebSocket; may throw (bad URL, blocked by CSP). */
export type OpenSocket = (url: string, handlers: SocketHandlers) => SocketHandle;

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ConnectionDeps {
  /** `ws(s)://…/v1/ws/app`. */
  readonly url: string;
  readonly getToken: GetToken;
  readonly openSocket: OpenSocket;
  readonly random: () => number;
  readonly timers: Timers;
  /** Every valid server frame, after the connection handled its own (`ready`, `ping`…). */
  readonly onFrame: (frame: ServerFrame) => void;
  readonly onState: (state: ConnectionState) => void;
  /** A listener threw; the connection carries on. */
  readonly onError?: (error: unknown) => void;
}

export interface Connection {
  readonly state: ConnectionState;
  /** Connects, unless already connecting or connected. */
  start(): void;
  /** Sends a frame on a ready socket; `false` when there is none (nothing is queued). */
  send(frame: ClientFrame): boolean;
  /** A user action: reconnect now, with a fresh attempt counter. */
  retry(): void;
  /** Closes for good (1000). */
  close(): void;
}

/** Longest wait for `ready` after starting an attempt (token, TCP, upgrade, auth). */
export const CONNECT_TIMEOUT_MS = 15_000;

/** Wraps the browser's WebSocket as an {@link OpenSocket}. */
export function browserSocket(WebSocketClass: typeof WebSocket): OpenSocket {
  return (url, handlers) => {
    const ws = new WebSocketClass(url);
    ws.onopen = () => handlers.onOpen();
    ws.onmessage = (event: MessageEvent) => handlers.onMessage(event.data);
    ws.onclose = (event: CloseEvent) => handlers.onClose(event.code, event.reason);
    return { send: (data) => ws.send(data), close: (code, reason) => ws.close(code, reason) };
  };
}

export function createConnection(deps: ConnectionDeps): Connection {
  const { timers } = deps;
  let state: ConnectionState = { kind: 'idle' };
  /** Id of the current transport attempt; callbacks carrying another id are stale. */
  let attemptId = 0;
  /** Failed attempts since the last connection that stayed up {@link STABLE_CONNECTION_MS}. */
  let failures = 0;
  let socket: SocketHandle | null = null;
  let retryTimer: unknown = null;
  let stableTimer: unknown = null;
  let watchdogTimer: unknown = null;

  function setState(next: ConnectionState): void {
    state = next;
    safely(() => deps.onState(next));
  }

  function safely(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      deps.onError?.(error);
    }
  }

  function clearTimer(handle: unknown): null {
    if (handle !== null) timers.clearTimeout(handle);
    return null;
  }

  function clearTimers(): void {
    retryTimer = clearTimer(retryTimer);
    stableTimer = clearTimer(stableTimer);
    watchdogTimer = clearTimer(watchdogTimer);
  }

  /** Silence for `ms` means the connection is dead (frozen server, lost network). */
  function armWatchdog(id: number, ms: number, code: number): void {
    watchdogTimer = clearTimer(watchdogTimer);
    watchdogTimer = timers.setTimeout(() => {
      watchdogTimer = null;
      disconnect(id, code, '', true);
    }, ms);
  }

  function sendRaw(frame: ClientFrame): boolean {
    if (socket === null) return false;
    try {
      socket.send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** The one funnel every end of a transport attempt goes through. */
  function disconnect(id: number, code: number, reason: string, closeSocket: boolean): void {
    if (id !== attemptId) return;
    attemptId += 1;
    const old = socket;
    socket = null;
    clearTimers();
    if (old !== null && closeSocket) safely(() => old.close());
    // `refreshToken` needs no special case: every attempt starts by fetching a fresh token.
    const plan = reconnectPlan(code, reason, failures, deps.random);
    failures += 1;
    if (plan.kind === 'reconnect') {
      setState({ kind: 'waiting', delayMs: plan.delayMs, code });
      retryTimer = timers.setTimeout(() => {
        retryTimer = null;
        connect();
      }, plan.delayMs);
      return;
    }
    setState({
      kind: 'stopped',
      why: plan.clientBug ? 'client_bug' : 'server',
      code,
      revival: plan.revival,
    });
  }

  function stopUnauthorized(): void {
    attemptId += 1;
    const old = socket;
    socket = null;
    clearTimers();
    if (old !== null) safely(() => old.close(CloseCode.NORMAL));
    setState({ kind: 'stopped', why: 'unauthorized', code: null, revival: 'user_action' });
  }

  async function refresh(id: number): Promise<void> {
    let result: Awaited<ReturnType<GetToken>>;
    try {
      result = await deps.getToken();
    } catch {
      // The server closes with 4001 at expiry; that path reconnects with a new token.
      return;
    }
    if (id !== attemptId) return;
    if (result.kind === 'unauthorized') return stopUnauthorized();
    sendRaw({ type: 'refresh', token: result.token });
  }

  /** Interval the server pings at, from `ready`; silence beyond it plus a grace is death. */
  let pingIntervalMs: number = DEFAULTS.POSTERN_PING_INTERVAL_MS;

  function receive(id: number, data: unknown): void {
    if (typeof data !== 'string') return;
    const decoded = decodeServerFrame(data);
    // Unknown types are a newer server's; malformed ones are dropped rather than trusted.
    if (!decoded.ok) return;
    const { frame } = decoded;
    if (frame.type === 'ready') {
      pingIntervalMs = frame.ping_interval_ms;
      setState({ kind: 'ready' });
      stableTimer = timers.setTimeout(() => {
        stableTimer = null;
        failures = 0;
      }, STABLE_CONNECTION_MS);
    }
    // Any frame proves the server alive, not only `ping`.
    if (state.kind === 'ready') {
      armWatchdog(id, pingIntervalMs + HEARTBEAT_GRACE_MS, CloseCode.HEARTBEAT_TIMEOUT);
    }
    if (frame.type === 'ping') sendRaw({ type: 'pong', id: frame.id });
    if (frame.type === 'refresh_required') void refresh(id);
    safely(() => deps.onFrame(frame));
  }

  async function open(id: number): Promise<void> {
    let result: Awaited<ReturnType<GetToken>>;
    try {
      result = await deps.getToken();
    } catch {
      return disconnect(id, 1006, '', false);
    }
    if (id !== attemptId) return;
    if (result.kind === 'unauthorized') return stopUnauthorized();
    const { token } = result;
    try {
      socket = deps.openSocket(deps.url, {
        onOpen: () => {
          if (id === attemptId) sendRaw({ type: 'auth', token });
        },
        onMessage: (data) => {
          if (id === attemptId) receive(id, data);
        },
        onClose: (code, reason) => disconnect(id, code, reason, false),
      });
    } catch {
      disconnect(id, 1006, '', false);
    }
  }

  function connect(): void {
    // The lock: one attempt at a time.
    if (state.kind === 'connecting' || state.kind === 'ready') return;
    retryTimer = clearTimer(retryTimer);
    attemptId += 1;
    const id = attemptId;
    setState({ kind: 'connecting', failures });
    armWatchdog(id, CONNECT_TIMEOUT_MS, 1006);
    void open(id);
  }

  return {
    get state() {
      return state;
    },
    start: connect,
    send(frame) {
      return state.kind === 'ready' && sendRaw(frame);
    },
    retry() {
      if (state.kind !== 'waiting' && state.kind !== 'stopped') return;
      failures = 0;
      connect();
    },
    close() {
      attemptId += 1;
      const old = socket;
      socket = null;
      clearTimers();
      if (old !== null) safely(() => old.close(CloseCode.NORMAL));
      setState({ kind: 'stopped', why: 'user', code: CloseCode.NORMAL, revival: 'user_action' });
    },
  };
}
