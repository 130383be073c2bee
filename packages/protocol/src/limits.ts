/**
 * Limits of the contract. `DEFAULTS` holds the default of every configurable `POSTERN_*` limit
 * (SPEC §3–§6), keyed by its variable name; the rest are fixed by the protocol itself.
 * Durations are in milliseconds (`_MS`) or seconds (`_S`) as the variable names say.
 */

/** Largest `text.trim()` of a message, in UTF-16 code units. */
export const MESSAGE_TEXT_MAX = 4000;
/** Longest id (dialog, message, visitor, site) a server issues or accepts. */
export const ID_MAX_LENGTH = 64;
/** Longest token accepted in a frame or header; real tokens are well under 2 KiB. */
export const TOKEN_MAX_LENGTH = 4096;
/** Largest HTTP request body. */
export const HTTP_BODY_MAX_BYTES = 4096;
/** Longest operator display name carried in `handoff` and `ready`. */
export const OPERATOR_NAME_MAX = 100;
/** `allowed_domains` entries per site token. */
export const ALLOWED_DOMAINS_MAX = 100;

/** History page size: default and bounds of `limit`. */
export const HISTORY_PAGE_DEFAULT = 50;
export const HISTORY_PAGE_MAX = 100;

/** A socket may ask for `resume` at most once per this interval. */
export const RESUME_MIN_INTERVAL_MS = 5_000;
/** `dialog` frames sent in an operator's snapshot before `dialogs_truncated`. */
export const DIALOG_SNAPSHOT_MAX = 500;
/** `GET /v1/app/dialogs`: default and largest `limit`. */
export const DIALOG_LIST_DEFAULT = 100;
export const DIALOG_LIST_MAX = DIALOG_SNAPSHOT_MAX;
/** `refresh_required` is sent about this long before the token expires. */
export const REFRESH_LEAD_MS = 60_000;
/** Clock tolerance for token `exp`/`iat`/`nbf`, at most. */
export const TOKEN_CLOCK_TOLERANCE_S = 30;
/** Operator tokens may live at most this long. */
export const OPERATOR_TOKEN_MAX_TTL_S = 3600;
/** A client treats a silence of ping interval + this as a dead connection. */
export const HEARTBEAT_GRACE_MS = 10_000;
/** A refresh-token family created without messages is purged after this long. */
export const EMPTY_SESSION_PURGE_MS = 86_400_000;

/** Assistant webhook bounds (SPEC §4 "Assistant"). */
export const WEBHOOK_TIMEOUT_MS = 10_000;
export const WEBHOOK_RESPONSE_MAX_BYTES = 65_536;
export const WEBHOOK_CONCURRENCY = 32;

/**
 * Default of `POSTERN_PING_INTERVAL_MS`, on its own so a client that needs only this one does not
 * bundle the whole `DEFAULTS` table.
 */
export const DEFAULT_PING_INTERVAL_MS = 25_000;

/** Defaults of the configurable limits, by environment variable. */
export const DEFAULTS = /* @__PURE__ */ Object.freeze({
  POSTERN_PORT: 8787,
  POSTERN_VISITOR_TTL_S: 900,
  POSTERN_REFRESH_IDLE_S: 604_800,
  POSTERN_REFRESH_MAX_S: 2_592_000,
  POSTERN_REFRESH_GRACE_MS: 30_000,
  POSTERN_DIALOG_IDLE_CLOSE_MS: 86_400_000,
  POSTERN_AUTH_TIMEOUT_MS: 5_000,
  POSTERN_MAX_FRAME_BYTES: 16_384,
  POSTERN_PING_INTERVAL_MS: DEFAULT_PING_INTERVAL_MS,
  POSTERN_PONG_TIMEOUT_MS: 10_000,
  POSTERN_MAX_SESSION_MS: 86_400_000,
  POSTERN_RESUME_MAX: 200,
  POSTERN_MAX_SUBSCRIPTIONS: 200,
  POSTERN_HANDOFF_IDLE_MS: 600_000,
  POSTERN_CONN_RATE: 60,
  POSTERN_MAX_SOCKETS_PER_IP: 50,
  POSTERN_MAX_SOCKETS_PER_DIALOG: 10,
  POSTERN_MAX_SOCKETS_PER_VISITOR: 10,
  POSTERN_MAX_SOCKETS_PER_OPERATOR: 20,
  POSTERN_MAX_SOCKETS: 10_000,
  POSTERN_MSG_RATE: 50,
  POSTERN_VISITOR_MSG_RATE: 20,
  POSTERN_SESSION_RATE: 10,
  POSTERN_SITE_SESSION_RATE: 6_000,
  POSTERN_HTTP_RATE: 120,
  POSTERN_LIMITER_MAX_KEYS: 100_000,
  POSTERN_IPV6_PREFIX: 56,
  /** Outgoing bytes queued for one socket before it is closed as a slow consumer (4014). */
  POSTERN_MAX_BUFFERED_BYTES: 1_048_576,
  /** Assistant calls per site per minute; over it the visitor reads a `system` message. */
  POSTERN_ASSISTANT_SITE_RATE: 600,
} as const);

export type LimitName = keyof typeof DEFAULTS;

/** Default `iss` of every token (`POSTERN_ISSUER`). */
export const DEFAULT_ISSUER = 'postern';
/** Default SQLite database path (`POSTERN_DB`), relative to the working directory. */
export const DEFAULT_DB = './data/postern.db';

/** Window of `POSTERN_MSG_RATE` (frames per socket). */
export const MSG_RATE_WINDOW_MS = 10_000;
/** Window of the per-minute rates (connections, sends, sessions, HTTP). */
export const MINUTE_WINDOW_MS = 60_000;
/** A socket sending more than this multiple of `POSTERN_MSG_RATE` in one window is closed (4008). */
export const MSG_RATE_CLOSE_FACTOR = 2;
