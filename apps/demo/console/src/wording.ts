/**
 * Every sentence the console shows about protocol values: connection states, handoff states,
 * senders and refusals, in plain words. One place, so the UI never shows a raw code.
 */
import type { FrameErrorCode, HandoffState, HttpErrorCode, Sender } from '@postern/protocol';
import type { ConnectionState } from './connection.js';

export const SENDER_LABELS: Readonly<Record<Sender, string>> = {
  visitor: 'Visitor',
  assistant: 'Assistant',
  operator: 'Operator',
  system: 'System',
};

export const HANDOFF_LABELS: Readonly<Record<HandoffState, string>> = {
  assistant: 'With the assistant',
  requested: 'Waiting for a person',
  operator: 'With an operator',
  closed: 'Closed',
};

export const REFUSALS: Readonly<Record<FrameErrorCode, string>> = {
  invalid:
    'Not sent: the message is empty, too long, or has characters that are not allowed. Edit it and try again.',
  rate_limited: 'Too many messages at once. Wait a moment, then try again.',
  not_found: 'This dialog no longer exists, or it is not on your sites.',
  forbidden: 'You are not allowed to do that.',
  conflict: 'Another operator is already handling this dialog.',
  not_holder: 'Only the operator handling this dialog can do that. Take the dialog first.',
  dialog_closed: 'This dialog is closed.',
  limit: 'You are following too many dialogs at once. Close some first.',
};

export function historyErrorText(error: HttpErrorCode | 'network' | 'invalid_response'): string {
  switch (error) {
    case 'network':
      return 'Could not load the history: the server is not reachable.';
    case 'not_found':
      return 'Could not load the history: this dialog no longer exists, or it is not on your sites.';
    case 'token_expired':
    case 'unauthorized':
    case 'token_revoked':
      return 'Could not load the history: your sign-in is no longer valid.';
    case 'rate_limited':
      return 'Could not load the history right now. Try again in a moment.';
    default:
      return 'Could not load the history.';
  }
}

/** The connection line of the header. */
export function connectionText(state: ConnectionState): string {
  switch (state.kind) {
    case 'idle':
      return 'Not connected';
    case 'connecting':
      return state.failures === 0 ? 'Connecting…' : 'Reconnecting…';
    case 'ready':
      return 'Connected';
    case 'waiting': {
      const seconds = Math.max(1, Math.ceil(state.delayMs / 1000));
      return `Connection lost. Retrying in ${seconds} s.`;
    }
    case 'stopped':
      switch (state.why) {
        case 'unauthorized':
          return 'Disconnected: no operator token is available for this page.';
        case 'user':
          return 'Disconnected.';
        case 'client_bug':
          return `Disconnected: the server refused this console (code ${state.code}).`;
        case 'server':
          return stoppedByServerText(state.code);
      }
  }
}

function stoppedByServerText(code: number | null): string {
  switch (code) {
    case 4002:
      return 'Disconnected: the operator token was refused.';
    case 4003:
      return 'Disconnected: this console’s origin is not allowed by the server.';
    case 4005:
      return 'Disconnected: too many open consoles for this operator.';
    case 4006:
      return 'Disconnected: the operator token was revoked.';
    case 4008:
      return 'Disconnected: too many connection attempts.';
    default:
      return `Disconnected (code ${code ?? 'none'}).`;
  }
}
