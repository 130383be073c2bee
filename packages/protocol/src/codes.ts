/**
 * WebSocket close codes and the client policy for each (SPEC §4 "Close codes and the SDK's policy").
 *
 * One table, imported by the server (to close with the right code) and by the SDK (to react to it).
 * The README of this package documents the same table; a test keeps the two in step.
 */

/** Every close code the server sends, by name. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013,
  BAD_REQUEST: 4000,
  AUTH_EXPIRED: 4001,
  AUTH_FAILED: 4002,
  FORBIDDEN_ORIGIN: 4003,
  NOT_FOUND: 4004,
  CONNECTION_LIMIT: 4005,
  TOKEN_REVOKED: 4006,
  AUTH_TIMEOUT: 4007,
  RATE_LIMITED: 4008,
  HEARTBEAT_TIMEOUT: 4010,
  SESSION_EXPIRED: 4011,
  SLOW_CONSUMER: 4014,
} as const;

export type CloseCodeName = keyof typeof CloseCode;
export type ServerCloseCode = (typeof CloseCode)[CloseCodeName];

/**
 * What a client does after a close.
 * - `stop`: never reconnect by itself; `online`, `visibilitychange` and `pageshow` do not revive it.
 * - `backoff`: reconnect after a full-jitter delay (see {@link backoffDelay}).
 * - `spread`: reconnect once after a delay drawn uniformly from `[0, spreadMs]` (or the retry
 *   hint, when the server gave one), then back off as usual if that attempt fails.
 * - `refresh`: fetch a new token, then reconnect at once.
 * - `reset`: drop stored session state; start a new session on the next user action.
 * - `retry_once`: stop; retry once on a user action or when the page becomes visible.
 */
export type CloseAction = 'stop' | 'backoff' | 'spread' | 'refresh' | 'reset' | 'retry_once';

export interface ClosePolicy {
  /** The close code, or `null` for the catch-all row (unknown codes). */
  readonly code: number | null;
  /** Upper-case name (`NORMAL`, …); protocol-level rows use the RFC 6455 name. */
  readonly name: string;
  readonly action: CloseAction;
  /** The close means the client itself is broken (log loudly, never retry). */
  readonly clientBug: boolean;
  /** A `retry=<seconds>` reason is honoured: the next delay is at least the hint. */
  readonly honoursRetryHint: boolean;
  /** For `spread`: the window the first attempt is drawn from, in ms. */
  readonly spreadMs?: number;
  /** For `backoff` with a cap: after this many failed attempts, stop until a user action. */
  readonly maxAttempts?: number;
}

/** Window over which the first reconnect after 1001 is spread (thundering-herd guard). */
export const GOING_AWAY_SPREAD_MS = 10_000;
/** Reconnect attempts after 4008 before the client waits for a user action. */
export const RATE_LIMITED_MAX_ATTEMPTS = 8;

function row(
  code: number | null,
  name: string,
  action: CloseAction,
  extra: Partial<Omit<ClosePolicy, 'code' | 'name' | 'action'>> = {},
): ClosePolicy {
  return Object.freeze({ code, name, action, clientBug: false, honoursRetryHint: false, ...extra });
}

const bug = { clientBug: true } as const;

/**
 * The policy table, row by row as in SPEC §4. Codes a Postern server never sends but a browser or
 * proxy may report (1002, 1003, 1006, 1007, 1012, 1015) have rows too; anything else falls to
 * {@link UNKNOWN_CLOSE_POLICY}.
 */
export const CLOSE_POLICIES: readonly ClosePolicy[] = Object.freeze([
  row(CloseCode.NORMAL, 'NORMAL', 'stop'),
  row(CloseCode.GOING_AWAY, 'GOING_AWAY', 'spread', {
    spreadMs: GOING_AWAY_SPREAD_MS,
    honoursRetryHint: true,
  }),
  row(1002, 'PROTOCOL_ERROR', 'stop', bug),
  row(1003, 'UNSUPPORTED_DATA', 'stop', bug),
  row(1006, 'ABNORMAL_CLOSURE', 'backoff'),
  row(1007, 'INVALID_PAYLOAD', 'stop', bug),
  row(CloseCode.MESSAGE_TOO_BIG, 'MESSAGE_TOO_BIG', 'stop', bug),
  row(CloseCode.INTERNAL_ERROR, 'INTERNAL_ERROR', 'backoff'),
  row(1012, 'SERVICE_RESTART', 'backoff'),
  row(CloseCode.TRY_AGAIN_LATER, 'TRY_AGAIN_LATER', 'backoff', { honoursRetryHint: true }),
  row(1015, 'TLS_HANDSHAKE', 'backoff'),
  row(CloseCode.BAD_REQUEST, 'BAD_REQUEST', 'stop', bug),
  row(CloseCode.AUTH_EXPIRED, 'AUTH_EXPIRED', 'refresh'),
  row(CloseCode.AUTH_FAILED, 'AUTH_FAILED', 'stop'),
  row(CloseCode.FORBIDDEN_ORIGIN, 'FORBIDDEN_ORIGIN', 'stop'),
  row(CloseCode.NOT_FOUND, 'NOT_FOUND', 'reset'),
  row(CloseCode.CONNECTION_LIMIT, 'CONNECTION_LIMIT', 'retry_once'),
  row(CloseCode.TOKEN_REVOKED, 'TOKEN_REVOKED', 'stop'),
  row(CloseCode.AUTH_TIMEOUT, 'AUTH_TIMEOUT', 'backoff'),
  row(CloseCode.RATE_LIMITED, 'RATE_LIMITED', 'backoff', {
    honoursRetryHint: true,
    maxAttempts: RATE_LIMITED_MAX_ATTEMPTS,
  }),
  row(CloseCode.HEARTBEAT_TIMEOUT, 'HEARTBEAT_TIMEOUT', 'backoff'),
  row(CloseCode.SESSION_EXPIRED, 'SESSION_EXPIRED', 'refresh'),
  row(CloseCode.SLOW_CONSUMER, 'SLOW_CONSUMER', 'backoff'),
]);

/** Any code without a row of its own is treated as transport trouble. */
export const UNKNOWN_CLOSE_POLICY: ClosePolicy = row(null, 'UNKNOWN', 'backoff');

const byCode = new Map<number, ClosePolicy>(
  CLOSE_POLICIES.map((policy) => [policy.code as number, policy]),
);

/** The client policy for a close code (the catch-all row for codes without one). */
export function closePolicy(code: number): ClosePolicy {
  return byCode.get(code) ?? UNKNOWN_CLOSE_POLICY;
}

/** Short fixed ASCII reasons the server puts in close frames that need one. */
export const CloseReason = {
  TOKEN_REVOKED: 'token_revoked',
  VISITOR_REVOKED: 'visitor_revoked',
  SITE_REVOKED: 'site_revoked',
} as const;

export type CloseReasonValue = (typeof CloseReason)[keyof typeof CloseReason];

/** The only retry hints a server may give, in seconds: coarse, so limits are not revealed. */
export const RETRY_HINT_SECONDS = Object.freeze([5, 15, 30, 60, 300] as const);
export type RetryHintSeconds = (typeof RETRY_HINT_SECONDS)[number];

/** Close codes whose reason may carry a `retry=<seconds>` hint. */
export const RETRY_HINT_CODES: ReadonlySet<number> = /* @__PURE__ */ retryHintCodes();

// One annotated call, so a bundle that never reads the set drops the whole computation.
function retryHintCodes(): ReadonlySet<number> {
  return new Set(
    CLOSE_POLICIES.filter((policy) => policy.honoursRetryHint).map(
      (policy) => policy.code as number,
    ),
  );
}

const RETRY_HINT = /^retry=([1-9]\d{0,2})$/;

/**
 * The close reason for a retry hint: the smallest allowed hint at or above `ms`, so a client never
 * comes back before the server asked (capped at the largest hint).
 */
export function formatRetryHint(ms: number): `retry=${RetryHintSeconds}` {
  const seconds = Math.max(0, ms) / 1000;
  const hint =
    RETRY_HINT_SECONDS.find((allowed) => allowed >= seconds) ??
    RETRY_HINT_SECONDS[RETRY_HINT_SECONDS.length - 1];
  return `retry=${hint as RetryHintSeconds}`;
}

/**
 * The hint in a close reason, in milliseconds, or `null` when the reason is not exactly
 * `retry=<seconds>` with one of the allowed values (anything else is ignored, not trusted).
 */
export function parseRetryHint(reason: string): number | null {
  const match = RETRY_HINT.exec(reason);
  if (!match) return null;
  const seconds = Number(match[1]);
  return (RETRY_HINT_SECONDS as readonly number[]).includes(seconds) ? seconds * 1000 : null;
}
