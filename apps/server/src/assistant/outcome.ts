/**
 * What one responder call came to, checked: a reply fit to post, nothing to say, or a failure with
 * a stable reason. The responder is code the server calls, but its text reaches visitors, so a
 * reply is held to the same rules as a visitor's `send` (SPEC §4 "Frame handling").
 */
import { checkMessageText } from '@postern/protocol';
import {
  RESPONDER_FAILURE_REASONS,
  ResponderError,
  type ResponderFailureReason,
} from './errors.js';
import type { AssistantReply } from './types.js';

/**
 * Why a visitor message got no answer:
 * - `overload`: the queue is full (refused at `submit`, synchronously);
 * - `rate_limited`: the site is over its rate (refused at `submit`, synchronously);
 * - a {@link ResponderFailureReason} (`timeout`, `too_large`, `bad_status`, `bad_body`, `network`);
 *   `bad_body` also covers a reply whose text is not a valid message;
 * - `internal`: the responder threw something unexpected (a bug).
 */
export type AssistantFailureReason =
  | 'overload'
  | 'rate_limited'
  | ResponderFailureReason
  | 'internal';

export const ASSISTANT_FAILURE_REASONS: readonly AssistantFailureReason[] = Object.freeze([
  'overload',
  'rate_limited',
  ...RESPONDER_FAILURE_REASONS,
  'internal',
]);

export interface Failure {
  readonly kind: 'failure';
  readonly reason: AssistantFailureReason;
  readonly status?: number;
}

export type Outcome =
  | { readonly kind: 'reply'; readonly reply: AssistantReply }
  | { readonly kind: 'silent' }
  | Failure;

/** Checks what a responder resolved to; an invalid reply is `bad_body`. */
export function outcomeOf(value: unknown): Outcome {
  if (value === null) return { kind: 'silent' };
  if (typeof value !== 'object') return { kind: 'failure', reason: 'bad_body' };
  const { text, offerHuman } = value as { text?: unknown; offerHuman?: unknown };
  if (typeof text !== 'string') return { kind: 'failure', reason: 'bad_body' };
  const checked = checkMessageText(text);
  if (!checked.ok) return { kind: 'failure', reason: 'bad_body' };
  const reply: AssistantReply =
    offerHuman === true ? { text: checked.text, offerHuman: true } : { text: checked.text };
  return { kind: 'reply', reply };
}

/** The failure a rejected call stands for; anything but a `ResponderError` is `internal`. */
export function failureOf(error: unknown): Failure {
  if (error instanceof ResponderError) {
    return error.status === undefined
      ? { kind: 'failure', reason: error.reason }
      : { kind: 'failure', reason: error.reason, status: error.status };
  }
  return { kind: 'failure', reason: 'internal' };
}
