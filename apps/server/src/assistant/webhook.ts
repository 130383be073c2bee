/**
 * The webhook responder (`POSTERN_ASSISTANT=webhook`): POSTs each visitor message to the site
 * owner's endpoint and reads an answer back. The endpoint is a foreign service, so every part of
 * the exchange is bounded (SPEC §4 "Assistant"): a deadline for the whole exchange, body included;
 * a byte cap enforced while streaming (a `Content-Length` is not trusted, and a missing one does
 * not help); no redirects (a 3xx to an internal address would turn the server into an SSRF
 * proxy); and a strict answer shape.
 *
 * Signing: `X-Postern-Signature: sha256=<hex HMAC-SHA256(secret, body bytes)>` over the exact
 * bytes sent, as SPEC words it. Replay protection rides inside the signed bytes instead of in the
 * signature base: the body carries `sent_at` (ms, also sent as `X-Postern-Timestamp` for
 * convenience) and the message `id`, so a receiver verifies the signature on the raw body, refuses
 * a `sent_at` outside its window and de-duplicates on `message.id`.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import {
  checkMessageText,
  isRawObject,
  WEBHOOK_RESPONSE_MAX_BYTES,
  WEBHOOK_TIMEOUT_MS,
} from '@postern/protocol';
import { ResponderError } from './errors.js';
import {
  ASSISTANT_HISTORY_MAX,
  type AssistantReply,
  type AssistantRequest,
  type FetchLike,
  type Responder,
} from './types.js';

export interface WebhookResponderOptions {
  /** Endpoint, `http:` or `https:`, without credentials (`POSTERN_ASSISTANT_WEBHOOK_URL`). */
  readonly url: string;
  /** HMAC key; copied at creation, never logged or echoed. */
  readonly secret: Uint8Array;
  readonly fetch: FetchLike;
  /** Wall clock in ms for `sent_at`; default `Date.now`. */
  readonly now?: () => number;
  /** Deadline for the whole exchange, answer body included; default `WEBHOOK_TIMEOUT_MS` (10 s). */
  readonly timeoutMs?: number;
  /** Largest answer body read; default `WEBHOOK_RESPONSE_MAX_BYTES` (64 KB). */
  readonly maxResponseBytes?: number;
}

/** The JSON body POSTed to the webhook (snake_case, like every Postern wire format). */
export interface WebhookPayload {
  readonly site_id: string;
  readonly assistant_id: string;
  readonly dialog_id: string;
  readonly visitor_id: string;
  readonly message: {
    readonly id: string;
    readonly seq: number;
    readonly text: string;
    readonly ts: number;
  };
  readonly history: readonly {
    readonly sender: string;
    readonly text: string;
    readonly ts: number;
  }[];
  /** When Postern sent this call, ms since the epoch; signed with the rest of the body. */
  readonly sent_at: number;
}

export const WEBHOOK_USER_AGENT = 'postern-webhook';

/** Builds the payload of one call; history keeps its newest {@link ASSISTANT_HISTORY_MAX} entries. */
export function webhookPayload(request: AssistantRequest, sentAt: number): WebhookPayload {
  const { message } = request;
  return {
    site_id: request.siteId,
    assistant_id: request.assistantId,
    dialog_id: request.dialogId,
    visitor_id: request.visitorId,
    message: { id: message.id, seq: message.seq, text: message.text, ts: message.ts },
    history: request.history
      .slice(-ASSISTANT_HISTORY_MAX)
      .map(({ sender, text, ts }) => ({ sender, text, ts })),
    sent_at: sentAt,
  };
}

/** `sha256=<hex>` of HMAC-SHA256 over `body`: the `X-Postern-Signature` value. */
export function webhookSignature(secret: Uint8Array | KeyObject, body: Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function assertPositiveInteger(name: string, value: number): void {
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new RangeError(`webhook ${name} must be a positive integer`);
  }
}

/** Refuses a bad endpoint at start-up rather than on every call; the URL is never echoed. */
function checkUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError('webhook URL is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError('webhook URL must use http: or https:');
  }
  // fetch refuses them anyway; saying so at start names the problem.
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('webhook URL must not contain credentials');
  }
  return url;
}

/** Reads at most `max` bytes of `response`'s body; over it, cancels the stream (`too_large`). */
async function readCapped(response: Response, max: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > max) throw new ResponderError('too_large');
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new ResponderError('too_large');
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** `{ text: string, offer_human?: boolean }`, text a valid message; anything else is `bad_body`. */
export function parseWebhookAnswer(bytes: Uint8Array): AssistantReply {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (cause) {
    throw new ResponderError('bad_body', { cause });
  }
  if (!isRawObject(value)) throw new ResponderError('bad_body');
  const text = Object.hasOwn(value, 'text') ? value['text'] : undefined;
  const offerHuman = Object.hasOwn(value, 'offer_human') ? value['offer_human'] : undefined;
  if (typeof text !== 'string') throw new ResponderError('bad_body');
  if (offerHuman !== undefined && typeof offerHuman !== 'boolean') {
    throw new ResponderError('bad_body');
  }
  const checked = checkMessageText(text);
  if (!checked.ok) throw new ResponderError('bad_body');
  return offerHuman === undefined ? { text: checked.text } : { text: checked.text, offerHuman };
}

/**
 * Creates the webhook {@link Responder}. Throws a `TypeError`/`RangeError` at creation for a bad
 * URL, an empty secret or a non-positive bound; each call then resolves to a reply (200), `null`
 * (204), or rejects with a {@link ResponderError} (`timeout`, `too_large`, `bad_status`,
 * `bad_body`, `network`). When the caller's signal aborts, it rejects with the signal's reason.
 *
 * @example
 * const responder = createWebhookResponder({ url, secret, fetch: globalThis.fetch });
 * const reply = await responder.respond(request, controller.signal);
 */
export function createWebhookResponder(options: WebhookResponderOptions): Responder {
  const url = checkUrl(options.url).href;
  if (options.secret.byteLength === 0) throw new TypeError('webhook secret must not be empty');
  const key = createSecretKey(Uint8Array.from(options.secret));
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? WEBHOOK_RESPONSE_MAX_BYTES;
  assertPositiveInteger('timeoutMs', timeoutMs);
  assertPositiveInteger('maxResponseBytes', maxBytes);
  const { fetch } = options;
  const now = options.now ?? Date.now;
  const encoder = new TextEncoder();

  return {
    async respond(request, signal) {
      signal.throwIfAborted();
      const sentAt = now();
      const body = encoder.encode(JSON.stringify(webhookPayload(request, sentAt)));
      const init = {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': WEBHOOK_USER_AGENT,
          'X-Postern-Signature': webhookSignature(key, body),
          'X-Postern-Timestamp': String(sentAt),
        },
        body,
        redirect: 'manual',
      } satisfies RequestInit;

      // One controller for fetch and body: aborted by the deadline or by the caller. A listener
      // rather than AbortSignal.any, whose derived signals leaked on Node 20 until late patches.
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeoutMs);
      const forward = () => controller.abort(signal.reason);
      signal.addEventListener('abort', forward, { once: true });
      let response: Response | undefined;
      try {
        response = await fetch(url, { ...init, signal: controller.signal });
        if (response.status === 204) return null;
        if (response.status !== 200) {
          throw new ResponderError('bad_status', { status: response.status });
        }
        return parseWebhookAnswer(await readCapped(response, maxBytes));
      } catch (error) {
        if (timedOut) throw new ResponderError('timeout');
        if (signal.aborted) throw signal.reason;
        if (error instanceof ResponderError) throw error;
        throw new ResponderError('network', { cause: error });
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', forward);
        // Whatever was not read (an error status's body, a refused answer) is released so the
        // connection does not linger; aborting an exchange that completed is a no-op.
        controller.abort();
        if (response?.bodyUsed === false) response.body?.cancel().catch(() => {});
      }
    },
  };
}
