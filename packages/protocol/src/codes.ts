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

/**
 * What a client does on one close code: the policy without the code's name. Kept apart from the
 * names (see {@link ClosePolicy}) so a client that only acts on closes bundles the actions, not
 * the table written for people.
 */
export interface CloseRule {
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

export interface ClosePolicy extends CloseRule {
  /** The close code, or `null` for the catch-all row (unknown codes). */
  readonly code: number | null;
  /** Upper-case name (`NORMAL`, …); protocol-level rows use the RFC 6455 name. */
  readonly name: string;
}

/** Window over which the first reconnect after 1001 is spread (thundering-herd guard). */
export const GOING_AWAY_SPREAD_MS = 10_000;
/** Reconnect attempts after 4008 before the client waits for a user action. */
export const RATE_LIMITED_MAX_ATTEMPTS = 8;

function rule(action: CloseAction, extra: Partial<Omit<CloseRule, 'action'>> = {}): CloseRule {
  return Object.freeze({ action, clientBug: false, honoursRetryHint: false, ...extra });
}

const bug = { clientBug: true } as const;
const hint = { honoursRetryHint: true } as const;

/**
 * The rules that differ from plain backoff, as in SPEC §4. Every other code — the backoff rows of
 * the table and any code without a row — follows {@link UNKNOWN_CLOSE_RULE}, so a client carries
 * only these.
 */
const RULES: Readonly<Record<number, CloseRule>> = {
  1000: rule('stop'), // NORMAL
  1001: rule('spread', { ...hint, spreadMs: GOING_AWAY_SPREAD_MS }), // GOING_AWAY
  1002: rule('stop', bug),
  1003: rule('stop', bug),
  1007: rule('stop', bug),
  1009: rule('stop', bug), // MESSAGE_TOO_BIG
  1013: rule('backoff', hint), // TRY_AGAIN_LATER
  4000: rule('stop', bug), // BAD_REQUEST
  4001: rule('refresh'), // AUTH_EXPIRED
  4002: rule('stop'), // AUTH_FAILED
  4003: rule('stop'), // FORBIDDEN_ORIGIN
  4004: rule('reset'), // NOT_FOUND
  4005: rule('retry_once'), // CONNECTION_LIMIT
  4006: rule('stop'), // TOKEN_REVOKED
  4008: rule('backoff', { ...hint, maxAttempts: RATE_LIMITED_MAX_ATTEMPTS }), // RATE_LIMITED
  4011: rule('refresh'), // SESSION_EXPIRED
};

/** The rule of every code without one of its own: transport trouble, back off. */
export const UNKNOWN_CLOSE_RULE: CloseRule = rule('backoff');

/**
 * What a client does on `code` (the catch-all rule for codes without a row). The same table as
 * {@link closePolicy}, without the names.
 */
export function closeRule(code: number): CloseRule {
  return Object.hasOwn(RULES, code) ? (RULES[code] as CloseRule) : UNKNOWN_CLOSE_RULE;
}

/**
 * Codes with a row of their own beyond {@link CloseCode}, by their RFC 6455 names: a Postern
 * server never sends them, but a browser or proxy may report them.
 */
const PROTOCOL_CODES: Readonly<Record<string, number>> = {
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  ABNORMAL_CLOSURE: 1006,
  INVALID_PAYLOAD: 1007,
  SERVICE_RESTART: 1012,
  TLS_HANDSHAKE: 1015,
};

function named(code: number | null, name: string, policy: CloseRule): ClosePolicy {
  return Object.freeze({ code, name, ...policy });
}

// One annotated call, so a bundle that never reads the named table drops it whole.
function namedPolicies(): readonly ClosePolicy[] {
  return Object.freeze(
    Object.entries({ ...CloseCode, ...PROTOCOL_CODES })
      .sort(([, a], [, b]) => a - b)
      .map(([name, code]) => named(code, name, closeRule(code))),
  );
}

/** The policy table with names, row by row as in SPEC §4 (for servers, docs and tests). */
export const CLOSE_POLICIES: readonly ClosePolicy[] = /* @__PURE__ */ namedPolicies();

/** Any code without a row of its own is treated as transport trouble. */
export const UNKNOWN_CLOSE_POLICY: ClosePolicy = /* @__PURE__ */ named(
  null,
  'UNKNOWN',
  UNKNOWN_CLOSE_RULE,
);

const byCode: ReadonlyMap<number, ClosePolicy> = /* @__PURE__ */ new Map(
  /* @__PURE__ */ CLOSE_POLICIES.map((policy) => [policy.code as number, policy]),
);

/** The client policy for a close code, with its name (the catch-all row for codes without one). */
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
