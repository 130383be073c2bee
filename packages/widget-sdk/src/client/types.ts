/** The public option and event types of {@link PosternClient}. */
import type { ChatMessage, HandoffStatus, Revival, Sender, TypingState } from '@postern/protocol';
import type { DisconnectSource } from './close-policy.js';
import type { Clock } from './environment.js';
import type { PosternError } from './errors.js';
import type { OutboxEntry } from './outbox.js';
import type { PageSignals } from './page.js';
import type { Resynced } from './resume.js';
import type { FetchLike, LockManagerLike } from './session.js';
import type { StorageChoice } from './storage.js';
import type { GetToken } from './tokens.js';
import type { WebSocketConstructor } from './transport.js';

/**
 * - `disconnected`: not started, or stopped by `disconnect()`.
 * - `connecting`: waiting for a retry delay, a token, the socket or `ready`.
 * - `connected`: `ready` received; frames flow.
 * - `stopped`: the close policy said stop; `disconnect.revival` says what may restart it.
 */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'stopped';

/** How a connection (or an attempt at one) ended, and what happens next. */
export interface DisconnectInfo {
  /** The close code; for `token`, `heartbeat` and `client` sources, the code whose policy applies. */
  readonly code: number;
  /** The close reason (`retry=30`, `token_revoked`, `origin_not_allowed`, …), or `""`. */
  readonly reason: string;
  readonly source: DisconnectSource;
  /** Failed attempts since the last connection that stayed up 5 s, this one included. */
  readonly attempt: number;
  /** Delay before the next attempt, in ms; `null` when the client stopped. */
  readonly nextRetryMs: number | null;
  /** What may restart a stopped client; `null` while it keeps trying. */
  readonly revival: Revival | null;
}

/** Payload of the `state` event. */
export interface StateChange {
  readonly state: ConnectionState;
  readonly previous: ConnectionState;
  /** Present when the change came from the disconnect funnel. */
  readonly disconnect?: DisconnectInfo;
}

/** Payload of the `ready` event: the server accepted the connection. */
export interface ReadyInfo {
  readonly visitorId: string | null;
  readonly dialogId: string;
  /** The dialog's last `seq` on the server. */
  readonly lastSeq: number;
  readonly handoff: HandoffStatus;
}

/** Payload of the `typing` event: someone else in the dialog started or stopped typing. */
export interface TypingInfo {
  readonly sender: Sender;
  readonly state: TypingState;
}

/** Every event of {@link PosternClient} and its payload. */
export interface PosternEvents {
  state: StateChange;
  ready: ReadyInfo;
  /** A message of the current dialog, once, in `seq` order (live, replayed or paged). */
  message: ChatMessage;
  typing: TypingInfo;
  handoff: HandoffStatus;
  outbox: OutboxEntry;
  resynced: Resynced;
  error: PosternError;
}

export interface PosternClientOptions {
  /**
   * The Postern server, e.g. `https://chat.example.com`. HTTP goes to `<serverUrl>/v1/…`, the
   * socket to the same host (`wss:` for `https:`) at `/v1/ws/widget`.
   */
  readonly serverUrl: string;
  /** The site token (`data-site-token`); required unless `getToken` is given. */
  readonly siteToken?: string;
  /**
   * Replaces the built-in session provider: returns a visitor token. Throw a
   * `TokenError('ERR_TOKEN_UNAUTHORIZED')` to stop; anything else thrown means "try again".
   */
  readonly getToken?: GetToken;
  /** Where the refresh token is kept. Default `'local'`; memory whenever storage is denied. */
  readonly storage?: StorageChoice;
  /** Default: the global `WebSocket`, looked up at `connect()`. */
  readonly WebSocket?: WebSocketConstructor;
  /** Default: the global `fetch`, looked up at each request. */
  readonly fetch?: FetchLike;
  /** Default: the system clock and timers. */
  readonly clock?: Clock;
  /** Uniform numbers in `[0, 1)` for retry jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Makes a `client_msg_id`. Default `crypto.randomUUID` (with a fallback for plain http pages). */
  readonly uuid?: () => string;
  /** Default `navigator.locks` where it exists; `null` to exchange refresh tokens unlocked. */
  readonly locks?: LockManagerLike | null;
  /**
   * Default: `online`, `offline`, `visibilitychange` and `pageshow` of the browser page; `null`
   * for none.
   */
  readonly page?: PageSignals | null;
}
