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
  decodeServerFrame,
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
import { Liveness } from './heartbeat.js';
import type { PageSignal, PageSignals } from './page.js';
import type { TokenSource } from './tokens.js';
import { Transport, type WebSocketConstructor } from './transport.js';
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

export class Connection {
  #current: ConnectionState = 'disconnected';
  #transport: Transport | null = null;
  /** Id of the latest socket, and of the latest whose end went through the funnel. */
  #socketId = 0;
  #endedSocketId = 0;
  #authToken = '';
  #attempt = 0;
  #nextDelayMs = 0;
  #mustRefresh = false;
  #wakeable = false;
  #waiting: (() => void) | null = null;
  #readyAt: number | null = null;
  #revival: Revival = 'never';
  #revivedByPage = false;
  #unlistenPage: (() => void) | null = null;
  readonly #liveness: Liveness;

  readonly #deps: ConnectionDeps;
  readonly #hooks: ConnectionHooks;

  constructor(deps: ConnectionDeps, hooks: ConnectionHooks) {
    this.#deps = deps;
    this.#hooks = hooks;
    this.#liveness = new Liveness(deps.clock, () => this.#dead());
  }

  get state(): ConnectionState {
    return this.#current;
  }

  /** Changes with every socket: an answer that took a while checks it is still for this one. */
  get socket(): number {
    return this.#socketId;
  }

  connect(): void {
    if (this.#current === 'connecting' || this.#current === 'connected') return;
    this.#attempt = 0;
    this.#start();
  }

  disconnect(): void {
    this.#unlistenPage?.();
    this.#unlistenPage = null;
    if (this.#current !== 'disconnected') {
      this.#end({ code: CloseCode.NORMAL, reason: 'client', source: 'client' });
    }
  }

  /** Restarts a stopped client where its policy allows this trigger. */
  revive(trigger: 'user_action' | 'visible'): void {
    if (this.#current !== 'stopped' || !mayRevive(this.#revival, trigger)) return;
    this.#revivedByPage = trigger === 'visible';
    this.#start();
  }

  /** `ready` arrived: connected, with the server's ping interval. */
  ready(pingIntervalMs: number): void {
    this.#readyAt = this.#deps.clock.now();
    this.#revivedByPage = false;
    this.#liveness.expect(pingIntervalMs + HEARTBEAT_GRACE_MS);
    this.#setState('connected');
  }

  /** Sends on the open socket; `false` when there is none (nothing is queued). */
  write(frame: ClientFrame): boolean {
    return this.#transport?.send(JSON.stringify(frame)) ?? false;
  }

  #start(): void {
    const WebSocket = this.#deps.webSocket();
    if (!WebSocket) throw new PosternError('ERR_CONFIG', 'no WebSocket: pass options.WebSocket');
    this.#unlistenPage ??= this.#deps.page()?.listen((signal) => this.#onPage(signal)) ?? null;
    this.#nextDelayMs = 0;
    const transport: Transport = new Transport(WebSocket, {
      url: () => this.#nextUrl(transport),
      open: () => {
        if (transport !== this.#transport) return;
        // Until `ready` names the interval the server default applies (auth times out sooner).
        this.#liveness.expect(DEFAULT_PING_INTERVAL_MS + HEARTBEAT_GRACE_MS);
        this.write(this.#hooks.auth(this.#authToken));
      },
      message: (data) => {
        if (transport === this.#transport) this.#received(data);
      },
      close: (code, reason, synthetic) => {
        if (transport !== this.#transport || this.#endedSocketId === this.#socketId) return;
        this.#endedSocketId = this.#socketId;
        this.#end(closeCause(code, reason, synthetic));
      },
    });
    // In place before anyone hears of it: a `state` listener may call disconnect() right away.
    this.#transport = transport;
    this.#setState('connecting');
  }

  /**
   * The transport's URL provider, awaited before every attempt: waits out the delay the funnel
   * chose, then gets a token. Never rejects; a token failure goes through the funnel and either
   * loops (after its delay) or stops the transport, whose stale provider then returns at once.
   */
  async #nextUrl(transport: Transport): Promise<string> {
    while (transport === this.#transport) {
      await this.#sleep(this.#nextDelayMs);
      if (transport !== this.#transport) break;
      try {
        const token = await this.#deps.tokens.get(this.#mustRefresh);
        if (transport !== this.#transport) break;
        this.#mustRefresh = false;
        this.#authToken = token;
        this.#socketId += 1;
        return this.#deps.url;
      } catch (error) {
        if (transport !== this.#transport) break;
        this.#hooks.report(toTokenError(error));
        this.#end(tokenFailureCause(error));
      }
    }
    return this.#deps.url;
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.#deps.clock.setTimeout(() => this.#waiting?.(), ms);
      this.#waiting = () => {
        this.#deps.clock.clearTimeout(timer);
        this.#waiting = null;
        resolve();
      };
    });
  }

  #received(data: unknown): void {
    this.#liveness.seen();
    const result = typeof data === 'string' ? decodeServerFrame(data) : null;
    if (result?.ok) {
      if (result.frame.type === 'ping') this.write({ type: 'pong', id: result.frame.id });
      else this.#hooks.frame(result.frame);
    } else if (result?.problem !== 'unknown_type') {
      // Unknown types are a newer server's additions and are ignored, as the protocol asks.
      this.#hooks.report(
        new PosternError('ERR_PROTOCOL', 'unreadable frame', {
          detail: result?.problem ?? 'binary',
        }),
      );
    }
  }

  /** The liveness deadline passed: the socket is dead whatever its `readyState` says. */
  #dead(): void {
    this.#endedSocketId = this.#socketId;
    this.#end({
      code: CloseCode.HEARTBEAT_TIMEOUT,
      reason: 'heartbeat_timeout',
      source: 'heartbeat',
    });
    this.#transport?.restart();
  }

  /**
   * The disconnect funnel. Everything that ends a connection or an attempt comes here once:
   * it resets the attempt counter after a stable connection, applies the close policy, and
   * either schedules the next attempt (the transport's URL provider waits for it) or stops.
   */
  #end(cause: DisconnectCause): void {
    const { clock, random, tokens } = this.#deps;
    if (this.#readyAt !== null && clock.now() - this.#readyAt >= STABLE_CONNECTION_MS) {
      this.#attempt = 0;
    }
    this.#readyAt = null;
    this.#liveness.stop();
    if (cause.source === 'client') {
      this.#stopTransport();
      this.#hooks.ended(false);
      this.#setState('disconnected', this.#info(cause, null, null));
      return;
    }
    const plan = reconnectPlan(cause.code, cause.reason, this.#attempt, random);
    this.#attempt += 1;
    if (plan.kind === 'reconnect') {
      this.#nextDelayMs = plan.delayMs;
      this.#mustRefresh ||= plan.refreshToken;
      this.#wakeable = isWakeable(cause);
      this.#hooks.ended(false);
      this.#setState('connecting', this.#info(cause, plan.delayMs, null));
      return;
    }
    this.#stopTransport();
    if (plan.resetState) tokens.forget();
    this.#hooks.ended(plan.resetState);
    if (plan.clientBug) {
      const detail = String(cause.code);
      this.#hooks.report(new PosternError('ERR_CLIENT_BUG', `closed with ${detail}`, { detail }));
    }
    // "Retry once": a retry the page itself started does not earn another one.
    this.#revival =
      plan.revival === 'user_action_or_visible' && this.#revivedByPage
        ? 'user_action'
        : plan.revival;
    this.#setState('stopped', this.#info(cause, null, this.#revival));
  }

  #info(
    cause: DisconnectCause,
    nextRetryMs: number | null,
    revival: Revival | null,
  ): DisconnectInfo {
    return { ...cause, attempt: this.#attempt, nextRetryMs, revival };
  }

  /** The only writer of `current`. */
  #setState(next: ConnectionState, disconnect?: DisconnectInfo): void {
    const previous = this.#current;
    if (previous === next && disconnect === undefined) return;
    this.#current = next;
    this.#hooks.state(
      disconnect ? { state: next, previous, disconnect } : { state: next, previous },
    );
  }

  #stopTransport(): void {
    const transport = this.#transport;
    this.#transport = null;
    this.#waiting?.();
    transport?.close();
  }

  /**
   * The network came back or the page shows again. Connected: check the deadline now (timers
   * may have been throttled) and probe. Waiting out a plain backoff: try now. Stopped: only a
   * page becoming visible may revive, and only where the policy allows (never a terminal stop).
   */
  #onPage(signal: PageSignal): void {
    if (this.#current === 'connected') {
      if (this.#liveness.check() && this.#hooks.probe()) this.#liveness.probe(PROBE_TIMEOUT_MS);
    } else if (this.#current === 'connecting') {
      if (this.#wakeable) this.#waiting?.();
    } else if (signal === 'visible') {
      this.revive('visible');
    }
  }
}
