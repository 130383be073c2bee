/**
 * How the protocol's close policy (`closePolicy`, `reconnectPlan`) applies to this client: which
 * events count as what close code, and which page events may revive a stopped client.
 */
import { CloseCode, closeRule, formatRetryHint, type Revival } from '@postern/protocol';
import { TokenError } from './errors.js';

/** Who ended a connection (or an attempt at one). */
export type DisconnectSource =
  /** The server closed the socket with this code. */
  | 'server'
  /** The network or the browser ended it (1005, 1006, 1015, a connect timeout). */
  | 'transport'
  /** No token: the token source's outcome, mapped onto the close code with the same policy. */
  | 'token'
  /** The socket went silent for longer than the ping interval plus grace (treated as 4010). */
  | 'heartbeat'
  /** The application called `disconnect()`. */
  | 'client';

export interface DisconnectCause {
  readonly code: number;
  readonly reason: string;
  readonly source: DisconnectSource;
}

// Codes no server sends: the browser reports them for trouble below the WebSocket protocol.
const TRANSPORT_CODES: readonly number[] = [1005, 1006, 1015];

/** A close the socket reported; `synthetic` is a close the transport made up after an error. */
export function closeCause(code: number, reason: string, synthetic: boolean): DisconnectCause {
  if (synthetic) return { code: 1006, reason, source: 'transport' };
  return { code, reason, source: TRANSPORT_CODES.includes(code) ? 'transport' : 'server' };
}

/**
 * A token failure as a close code, so one policy table decides: refused for good is AUTH_FAILED
 * (or FORBIDDEN_ORIGIN), anything passing is TRY_AGAIN_LATER with the server's `Retry-After`
 * rounded up to a retry hint.
 */
export function tokenFailureCause(error: unknown): DisconnectCause {
  if (error instanceof TokenError && error.stop) {
    if (error.code === 'ERR_TOKEN_ORIGIN_NOT_ALLOWED') {
      return { code: CloseCode.FORBIDDEN_ORIGIN, reason: 'origin_not_allowed', source: 'token' };
    }
    // A revoked site token (or visitor) refused at the session endpoint is the same stop as a
    // 4006 on the socket, and the visitor is told the same thing: the chat was turned off.
    return error.detail === 'token_revoked'
      ? { code: CloseCode.TOKEN_REVOKED, reason: 'token_revoked', source: 'token' }
      : { code: CloseCode.AUTH_FAILED, reason: 'unauthorized', source: 'token' };
  }
  const wait = error instanceof TokenError ? error.retryAfterMs : undefined;
  return {
    code: CloseCode.TRY_AGAIN_LATER,
    reason: wait === undefined ? '' : formatRetryHint(wait),
    source: 'token',
  };
}

/** Whether the page event or user action may restart a client stopped with `revival`. */
export function mayRevive(revival: Revival, trigger: 'user_action' | 'visible'): boolean {
  return (
    revival === 'user_action_or_visible' || (revival === 'user_action' && trigger === 'user_action')
  );
}

/**
 * Whether a wait after this cause may be cut short when the network returns or the page shows:
 * plain backoff only. A server hint (1013, 4008) or a spread (1001) exists to keep a crowd of
 * clients apart and is always waited out.
 */
export function isWakeable(cause: DisconnectCause): boolean {
  const policy = closeRule(cause.code);
  return policy.action === 'backoff' && !policy.honoursRetryHint;
}
