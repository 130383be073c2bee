/**
 * The connection state machine. `setState` is the only writer of the state; `end` is the one
 * funnel every disconnect goes through (server close, transport failure, token failure, heartbeat,
 * `disconnect()`), and it alone applies the close policy. Each socket gets an id and each transport
 * is its own object, so a callback arriving for an older one is dropped.
 */
import {
  type AuthFrame,
  type ClientFrame,
  CloseCode,
  DEFAULT_PING_INTERVAL_MS,
  decodeServerFrameLean,
  HEARTBEAT_GRACE_MS,
  type Revival,
  reconnectPlan,
  type ServerFrame,
  STABLE_CONNECTION_MS,
} from '@postern/protocol';
import {
  closeCause,
  type DisconnectCause,
  isWakeable,
  mayRevive,
  tokenFailureCause,
} from './close-policy.js';
import type { Clock } from './environment.js';
import { PosternError, toTokenError } from './errors.js';
import { createLiveness } from './heartbeat.js';
import type { PageSignal, PageSignals } from './page.js';
import type { TokenSource } from './tokens.js';
import { openTransport, type Transport, type WebSocketConstructor } from './transport.js';
import type { ConnectionState, DisconnectInfo, StateChange } from './types.js';

/** After `online` or the page showing again, a live socket must answer within this long. */
export const PROBE_TIMEOUT_MS = 5_000;

export interface ConnectionDeps {
  readonly url: string;
  readonly tokens: TokenSource;
  readonly clock: Clock;
  readonly random: () => number;
  /** Resolved at each start, so importing or constructing touches no globals. */
  readonly webSocket: () => WebSocketConstructor | undefined;
  readonly page: () => PageSignals | null;
}

/** What the chat layer above does at each step of a connection. */
export interface ConnectionHooks {
  /** The socket opened: the first frame to send. */
  auth(token: string): AuthFrame;
  /** A valid frame arrived (pings are answered here). */
  frame(frame: ServerFrame): void;
  /** A connection ended, whatever the cause; `reset` when the policy dropped stored state. */
  ended(reset: boolean): void;
  state(change: StateChange): void;
  /** Asks the server for a frame now (for a liveness probe); `false` if it could not. */
  probe(): boolean;
  report(error: PosternError): void;
}

export interface Connection {
  readonly state: ConnectionState;
  /** Changes with every socket: an answer that took a while checks it is still for this one. */
  readonly socket: number;
  connect(): void;
  disconnect(): void;
  /** Restarts a stopped client where its policy allows this trigger. */
  revive(trigger: 'user_action' | 'visible'): void;
  /** `ready` arrived: connected, with the server's ping interval. */
  ready(pingIntervalMs: number): void;
  /** Sends on the open socket; `false` when there is none (nothing is queued). */
  write(frame: ClientFrame): boolean;
}

export function createConnection(deps: ConnectionDeps, hooks: ConnectionHooks): Connection {
  const { clock, tokens } = deps;
  let current: ConnectionState = 'disconnected';
  let transport: Transport | null = null;
  // Id of the latest socket, and of the latest whose end went through the funnel.
  let socketId = 0;
  let endedSocketId = 0;
  let authToken = '';
  let attempt = 0;
  let nextDelayMs = 0;
  let mustRefresh = false;
  let wakeable = false;
  let waiting: (() => void) | null = null;
  let readyAt: number | null = null;
  let revival: Revival = 'never';
  let revivedByPage = false;
  let unlistenPage: (() => void) | null = null;

  /** The only writer of `current`. */
  const setState = (next: ConnectionState, disconnect?: DisconnectInfo) => {
    const previous = current;
    if (previous === next && !disconnect) return;
    current = next;
    hooks.state(disconnect ? { state: next, previous, disconnect } : { state: next, previous });
  };

  const stopTransport = () => {
    const stopped = transport;
    transport = null;
    waiting?.();
    stopped?.close();
  };

  /**
   * The disconnect funnel. Everything that ends a connection or an attempt comes here once:
   * it resets the attempt counter after a stable connection, applies the close policy, and
   * either schedules the next attempt (the transport's URL provider waits for it) or stops.
   */
  const end = (cause: DisconnectCause) => {
    if (readyAt !== null && clock.now() - readyAt >= STABLE_CONNECTION_MS) attempt = 0;
    readyAt = null;
    liveness.stop();
    const info = (nextRetryMs: number | null, stoppedRevival: Revival | null): DisconnectInfo => ({
      ...cause,
      attempt,
      nextRetryMs,
      revival: stoppedRevival,
    });
    if (cause.source === 'client') {
      stopTransport();
      hooks.ended(false);
      return setState('disconnected', info(null, null));
    }
    const plan = reconnectPlan(cause.code, cause.reason, attempt++, deps.random);
    if (plan.kind === 'reconnect') {
      nextDelayMs = plan.delayMs;
      mustRefresh ||= plan.refreshToken;
      wakeable = isWakeable(cause);
      hooks.ended(false);
      return setState('connecting', info(plan.delayMs, null));
    }
    stopTransport();
    if (plan.resetState) tokens.forget();
    hooks.ended(plan.resetState);
    if (plan.clientBug) {
      const detail = String(cause.code);
      hooks.report(new PosternError('ERR_CLIENT_BUG', detail, { detail }));
    }
    // "Retry once": a retry the page itself started does not earn another one.
    revival =
      plan.revival === 'user_action_or_visible' && revivedByPage ? 'user_action' : plan.revival;
    setState('stopped', info(null, revival));
  };

  /** The socket is dead whatever its `readyState` says: end it and start over by the policy. */
  const dropDead = (reason: string) => {
    endedSocketId = socketId;
    end({ code: CloseCode.HEARTBEAT_TIMEOUT, reason, source: 'heartbeat' });
    transport?.restart();
  };

  /** The liveness deadline passed. */
  const liveness = createLiveness(clock, () => dropDead('heartbeat_timeout'));

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0) return resolve();
      const timer = clock.setTimeout(() => waiting?.(), ms);
      waiting = () => {
        clock.clearTimeout(timer);
        waiting = null;
        resolve();
      };
    });

  /**
   * The transport's URL provider, awaited before every attempt: waits out the delay the funnel
   * chose, then gets a token. Never rejects; a token failure goes through the funnel and either
   * loops (after its delay) or stops the transport, whose stale provider then returns at once.
   */
  const nextUrl = async (mine: Transport): Promise<string> => {
    while (mine === transport) {
      await sleep(nextDelayMs);
      if (mine !== transport) break;
      try {
        const token = await tokens.get(mustRefresh);
        if (mine !== transport) break;
        mustRefresh = false;
        authToken = token;
        socketId += 1;
        break;
      } catch (error) {
        if (mine !== transport) break;
        hooks.report(toTokenError(error));
        end(tokenFailureCause(error));
      }
    }
    return deps.url;
  };

  const received = (data: unknown) => {
    liveness.seen();
    const result = typeof data === 'string' ? decodeServerFrameLean(data) : null;
    if (result?.ok) {
      if (result.frame.type === 'ping') connection.write({ type: 'pong', id: result.frame.id });
      else hooks.frame(result.frame);
    } else if (result?.problem !== 'unknown_type') {
      // Unknown types are a newer server's additions and are ignored, as the protocol asks.
      const detail = result?.problem ?? 'binary';
      hooks.report(new PosternError('ERR_PROTOCOL', detail, { detail }));
    }
  };

  /**
   * The network came back or the page shows again. Connected: check the deadline now (timers
   * may have been throttled) and probe. Waiting out a plain backoff: try now. Stopped: only a
   * page becoming visible may revive, and only where the policy allows (never a terminal stop).
   */
  const onPage = (signal: PageSignal) => {
    // The browser knows the network is gone: an open-looking socket would only swallow frames
    // until the heartbeat deadline, so it is dropped now and the visitor sees "offline" at once.
    if (signal === 'offline') {
      if (current === 'connected') dropDead('offline');
      return;
    }
    if (current === 'connected') {
      if (liveness.check() && hooks.probe()) liveness.probe(PROBE_TIMEOUT_MS);
    } else if (current === 'connecting') {
      if (wakeable) waiting?.();
    } else if (signal === 'visible') connection.revive('visible');
  };

  const start = () => {
    const WebSocket = deps.webSocket();
    if (!WebSocket) throw new PosternError('ERR_CONFIG', 'no WebSocket');
    unlistenPage ??= deps.page()?.listen(onPage) ?? null;
    nextDelayMs = 0;
    const mine: Transport = openTransport(WebSocket, {
      url: () => nextUrl(mine),
      open() {
        if (mine !== transport) return;
        // Until `ready` names the interval the server default applies (auth times out sooner).
        liveness.expect(DEFAULT_PING_INTERVAL_MS + HEARTBEAT_GRACE_MS);
        connection.write(hooks.auth(authToken));
      },
      message(data) {
        if (mine === transport) received(data);
      },
      close(code, reason, synthetic) {
        if (mine !== transport || endedSocketId === socketId) return;
        endedSocketId = socketId;
        end(closeCause(code, reason, synthetic));
      },
    });
    // In place before anyone hears of it: a `state` listener may call disconnect() right away.
    transport = mine;
    setState('connecting');
  };

  const connection: Connection = {
    get state() {
      return current;
    },
    get socket() {
      return socketId;
    },
    connect() {
      if (current === 'connecting' || current === 'connected') return;
      attempt = 0;
      start();
    },
    disconnect() {
      unlistenPage?.();
      unlistenPage = null;
      if (current !== 'disconnected')
        end({ code: CloseCode.NORMAL, reason: 'client', source: 'client' });
    },
    revive(trigger) {
      if (current !== 'stopped' || !mayRevive(revival, trigger)) return;
      revivedByPage = trigger === 'visible';
      start();
    },
    ready(pingIntervalMs) {
      readyAt = clock.now();
      revivedByPage = false;
      liveness.expect(pingIntervalMs + HEARTBEAT_GRACE_MS);
      setState('connected');
    },
    write: (frame) => transport?.send(JSON.stringify(frame)) ?? false,
  };
  return connection;
}
