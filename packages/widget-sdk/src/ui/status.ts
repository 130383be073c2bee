/**
 * The connection line of the panel: what a visitor is told for each client state. A stopped
 * client gets a human-readable reason per terminal outcome of the close policy (SPEC §4).
 */
import { CloseCode, closeRule } from '@postern/protocol';
import type { ConnectionState, DisconnectInfo } from '../client/types.js';
import type { TextKey } from './strings.js';

export type Status =
  /** Nothing to say: connected, or not started. */
  | null
  | { readonly kind: 'busy'; readonly text: TextKey }
  /** Offline with `pending` messages waiting to go out. */
  | { readonly kind: 'offline'; readonly pending: number }
  /** Stopped; `retry` when a user action may restart it. */
  | { readonly kind: 'stopped'; readonly text: TextKey; readonly retry: boolean };

const STOP_REASONS: Readonly<Record<number, TextKey>> = {
  [CloseCode.NORMAL]: 'ended',
  [CloseCode.AUTH_FAILED]: 'signInFailed',
  [CloseCode.FORBIDDEN_ORIGIN]: 'notAvailable',
  [CloseCode.NOT_FOUND]: 'conversationEnded',
  [CloseCode.CONNECTION_LIMIT]: 'tooManyTabs',
  [CloseCode.TOKEN_REVOKED]: 'revoked',
  [CloseCode.RATE_LIMITED]: 'tooManyAttempts',
};

/** Why a client stopped, in words. */
export function stopReason(disconnect: DisconnectInfo | undefined): TextKey {
  if (!disconnect) return 'unavailable';
  // The session endpoint refuses a foreign page with 403 `origin_not_allowed` before any socket.
  if (disconnect.reason === 'origin_not_allowed') return 'notAvailable';
  if (closeRule(disconnect.code).clientBug) return 'broken';
  return STOP_REASONS[disconnect.code] ?? 'unavailable';
}

/**
 * The status for a state change. `connecting` without a disconnect is the first attempt; with one
 * the chat was interrupted and is offline until the next `ready`.
 */
export function statusOf(
  state: ConnectionState,
  disconnect: DisconnectInfo | undefined,
  pending: number,
): Status {
  switch (state) {
    case 'connecting':
      if (!disconnect) return { kind: 'busy', text: 'connecting' };
      return pending > 0 ? { kind: 'offline', pending } : { kind: 'busy', text: 'reconnecting' };
    case 'stopped':
      return {
        kind: 'stopped',
        text: stopReason(disconnect),
        retry: (disconnect?.revival ?? 'never') !== 'never',
      };
    default:
      return null;
  }
}
