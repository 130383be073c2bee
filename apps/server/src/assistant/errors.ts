/**
 * Responder failures as values with stable codes (`ERR_ASSISTANT_<REASON>`), so the runner, logs
 * and tests can narrow on them. Messages are fixed strings: they never carry the webhook URL (its
 * query may hold a key), the secret, or any message text.
 */

/** Why a responder call failed. */
export type ResponderFailureReason =
  /** No complete answer within the time limit (10 s for the webhook). */
  | 'timeout'
  /** The answer was larger than allowed (64 KB for the webhook). */
  | 'too_large'
  /** The webhook answered with a status other than 200 or 204 (redirects included). */
  | 'bad_status'
  /** The answer was not the expected JSON, or its text is not a valid message. */
  | 'bad_body'
  /** The request could not be sent or the answer not read (DNS, refused, reset). */
  | 'network';

export const RESPONDER_FAILURE_REASONS: readonly ResponderFailureReason[] = Object.freeze([
  'timeout',
  'too_large',
  'bad_status',
  'bad_body',
  'network',
]);

export type ResponderErrorCode = `ERR_ASSISTANT_${Uppercase<ResponderFailureReason>}`;

const MESSAGES: { readonly [R in ResponderFailureReason]: string } = {
  timeout: 'assistant did not answer in time',
  too_large: 'assistant answer too large',
  bad_status: 'assistant answered with an unexpected status',
  bad_body: 'assistant answer is not a valid reply',
  network: 'assistant could not be reached',
};

/** A responder call that failed for a known {@link ResponderFailureReason}. */
export class ResponderError extends Error {
  readonly code: ResponderErrorCode;
  readonly reason: ResponderFailureReason;
  /** The HTTP status, for `bad_status` (for logs; never shown to visitors). */
  readonly status: number | undefined;

  constructor(reason: ResponderFailureReason, options?: { cause?: unknown; status?: number }) {
    super(MESSAGES[reason], options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ResponderError';
    this.reason = reason;
    this.code = `ERR_ASSISTANT_${reason.toUpperCase() as Uppercase<ResponderFailureReason>}`;
    this.status = options?.status;
  }
}
