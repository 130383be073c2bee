/**
 * The assistant module: which responder answers visitors (`POSTERN_ASSISTANT`), and the runner
 * that calls it within bounds. `main.ts` builds the config from the parsed environment and wires
 * the runner's callbacks to the chat layer; nothing here reads the environment.
 */
import { createDemoResponder } from './demo.js';
import type { FetchLike, Responder } from './types.js';
import { createWebhookResponder } from './webhook.js';

export {
  createDemoResponder,
  DEMO_OFFER_HUMAN,
  type DemoTopic,
  demoReply,
  demoTopic,
} from './demo.js';
export {
  RESPONDER_FAILURE_REASONS,
  ResponderError,
  type ResponderErrorCode,
  type ResponderFailureReason,
} from './errors.js';
export {
  ASSISTANT_FAILURE_REASONS,
  ASSISTANT_QUEUE_MAX,
  type AssistantFailureReason,
  type AssistantRunner,
  type AssistantRunnerMetrics,
  type AssistantRunnerOptions,
  createAssistantRunner,
} from './runner.js';
export * from './types.js';
export {
  createWebhookResponder,
  parseWebhookAnswer,
  WEBHOOK_USER_AGENT,
  type WebhookPayload,
  type WebhookResponderOptions,
  webhookPayload,
  webhookSignature,
} from './webhook.js';

/** `POSTERN_ASSISTANT`: who answers visitors while no operator holds the dialog. */
export type AssistantKind = 'demo' | 'webhook' | 'none';

export const ASSISTANT_KINDS: readonly AssistantKind[] = Object.freeze(['demo', 'webhook', 'none']);

/**
 * The kind when `POSTERN_ASSISTANT` is unset (SPEC §4): `webhook` when a webhook URL is
 * configured, else `demo`.
 */
export function defaultAssistantKind(webhookUrl: string | undefined): AssistantKind {
  return webhookUrl === undefined || webhookUrl === '' ? 'demo' : 'webhook';
}

export interface ResponderConfig {
  readonly kind: AssistantKind;
  /** `POSTERN_ASSISTANT_WEBHOOK_URL`; required for `webhook`. */
  readonly webhookUrl?: string;
  /** `POSTERN_ASSISTANT_WEBHOOK_SECRET` (or `_FILE`); required for `webhook`. */
  readonly webhookSecret?: Uint8Array;
  readonly fetch: FetchLike;
  /** Wall clock for the webhook's `sent_at`; default `Date.now`. */
  readonly now?: () => number;
  /** Webhook deadline; default `WEBHOOK_TIMEOUT_MS`. */
  readonly timeoutMs?: number;
}

/**
 * The responder for `config.kind`, or `null` for `none` (visitor messages then wait for an
 * operator). Throws a `TypeError` at start-up for a `webhook` without URL or secret, or with a
 * bad URL, so a misconfigured server never starts.
 *
 * @example
 * const responder = createResponder({ kind: 'webhook', webhookUrl, webhookSecret, fetch });
 */
export function createResponder(config: ResponderConfig): Responder | null {
  switch (config.kind) {
    case 'none':
      return null;
    case 'demo':
      return createDemoResponder();
    case 'webhook': {
      const { webhookUrl: url, webhookSecret: secret } = config;
      if (url === undefined) throw new TypeError('the webhook assistant needs a webhook URL');
      if (secret === undefined) throw new TypeError('the webhook assistant needs a webhook secret');
      return createWebhookResponder({
        url,
        secret,
        fetch: config.fetch,
        ...(config.now === undefined ? {} : { now: config.now }),
        ...(config.timeoutMs === undefined ? {} : { timeoutMs: config.timeoutMs }),
      });
    }
    default:
      throw new TypeError('unknown assistant kind');
  }
}
