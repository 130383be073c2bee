/**
 * Reconnect timing: full-jitter backoff and the per-close plan derived from the policy table.
 * Pure functions; the caller passes `random` so tests are deterministic.
 */
import { type CloseRule, closeRule, parseRetryHint } from './codes.js';

/** First backoff window, in ms. */
export const BACKOFF_BASE_MS = 500;
/** Largest backoff window, in ms. */
export const BACKOFF_CAP_MS = 30_000;
/** A connection must stay up this long before the attempt counter resets. */
export const STABLE_CONNECTION_MS = 5_000;

/** A source of uniform numbers in `[0, 1)`, like `Math.random`. */
export type RandomSource = () => number;

/**
 * Full-jitter backoff ("Exponential Backoff and Jitter"): uniform in
 * `[0, min(cap, base * 2^attempt))`. `attempt` counts failures since the last stable connection,
 * starting at 0.
 */
export function backoffDelay(attempt: number, random: RandomSource): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30);
  const window = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** exponent);
  return Math.floor(random() * window);
}

/** When a stopped client may try again by itself. */
export type Revival =
  /** Never: only a new client (or an explicit `connect()`) starts again. */
  | 'never'
  /** On the next user action (opening the widget, sending). */
  | 'user_action'
  /** Once, on a user action or when the page becomes visible. */
  | 'user_action_or_visible';

export type ReconnectPlan =
  | {
      readonly kind: 'reconnect';
      readonly delayMs: number;
      /** Fetch a fresh token before reconnecting. */
      readonly refreshToken: boolean;
    }
  | {
      readonly kind: 'stop';
      readonly revival: Revival;
      /** Forget stored session state (dialog, refresh token) before any new session. */
      readonly resetState: boolean;
      readonly clientBug: boolean;
    };

/**
 * What to do after the server (or the transport) closed with `code` and `reason`, given how many
 * attempts have failed since the last stable connection.
 *
 * @example
 * const plan = reconnectPlan(4008, 'retry=30', 0, Math.random);
 * // { kind: 'reconnect', delayMs: 30000..60000, refreshToken: false }
 */
export function reconnectPlan(
  code: number,
  reason: string,
  attempt: number,
  random: RandomSource,
): ReconnectPlan {
  const policy = closeRule(code);
  const hint = policy.honoursRetryHint ? parseRetryHint(reason) : null;
  switch (policy.action) {
    case 'stop':
      return stop(policy, 'never', false);
    case 'reset':
      return stop(policy, 'user_action', true);
    case 'retry_once':
      return stop(policy, 'user_action_or_visible', false);
    case 'refresh':
      // At once the first time; a token that keeps failing (clock skew) must not spin.
      return reconnect(attempt === 0 ? 0 : backoffDelay(attempt, random), true);
    case 'spread': {
      const window = hint ?? policy.spreadMs ?? BACKOFF_CAP_MS;
      return reconnect(Math.floor(random() * window), false);
    }
    case 'backoff': {
      if (policy.maxAttempts !== undefined && attempt >= policy.maxAttempts) {
        return stop(policy, 'user_action', false);
      }
      const jittered = backoffDelay(attempt, random);
      // At least the hint, spread over one more hint so a crowd does not return in step.
      const hinted = hint === null ? 0 : hint + Math.floor(random() * hint);
      return reconnect(Math.max(jittered, hinted), false);
    }
  }
}

function stop(policy: CloseRule, revival: Revival, resetState: boolean): ReconnectPlan {
  return { kind: 'stop', revival, resetState, clientBug: policy.clientBug };
}

function reconnect(delayMs: number, refreshToken: boolean): ReconnectPlan {
  return { kind: 'reconnect', delayMs, refreshToken };
}
