/**
 * Runs responder calls for the chat layer (SPEC §4 "Assistant"): at most `concurrency` (≤ 32) at
 * once, the rest in a bounded queue, a per-site rate in front, and every outcome delivered through
 * one of two callbacks — a reply, or a failure the chat layer turns into a `system` message, so a
 * visitor never waits on silence.
 *
 * Per dialog, at most one call is in flight and at most one is queued. A visitor message arriving
 * while its dialog already has one queued *replaces* the queued one (coalescing): the newer
 * request's history holds the earlier message, so one answer covers both, and a visitor typing in
 * bursts costs one webhook call instead of one per line. A message arriving while its dialog's
 * call is in flight waits for that call, then runs; both answers are posted, in order.
 *
 * Take-over: a reply or a failure settling after `isStillAssistant(dialogId)` turned false is
 * dropped (counted, not delivered); a queued request whose dialog was taken over is dropped
 * before it is sent. `cancel(dialogId)` aborts at once, for the chat layer to call on take-over.
 * An aborted call keeps its slot until the responder has actually stopped, so the cap holds at
 * the receiving end too.
 */
import { WEBHOOK_CONCURRENCY } from '@postern/protocol';
import type { Logger } from '../log.js';
import type { RateTable } from '../security/rate-table.js';
import {
  ASSISTANT_FAILURE_REASONS,
  type AssistantFailureReason,
  failureOf,
  type Outcome,
  outcomeOf,
} from './outcome.js';
import type { AssistantReply, AssistantRequest, Responder } from './types.js';

export { ASSISTANT_FAILURE_REASONS, type AssistantFailureReason } from './outcome.js';

/** Default bound of the queue of requests waiting for a slot. */
export const ASSISTANT_QUEUE_MAX = 256;

export interface AssistantRunnerOptions {
  readonly responder: Responder;
  /** Calls in flight at most; 1..`WEBHOOK_CONCURRENCY`, default `WEBHOOK_CONCURRENCY` (32). */
  readonly concurrency?: number;
  /** Requests waiting for a slot at most (one per dialog); ≥ 0, default {@link ASSISTANT_QUEUE_MAX}. */
  readonly queueMax?: number;
  /** Per-site rate of submissions (e.g. calls per minute), keyed by `siteId`. */
  readonly siteRate: RateTable;
  /** Monotonic clock in ms, for durations in logs. */
  readonly now: () => number;
  /** An answer to post as an `assistant` message; `reply.text` has passed `checkMessageText`. */
  readonly onReply: (request: AssistantRequest, reply: AssistantReply) => void;
  /** No answer is coming; post a `system` message. */
  readonly onFailure: (request: AssistantRequest, reason: AssistantFailureReason) => void;
  /** Whether the assistant still answers the dialog (no operator holds it). */
  readonly isStillAssistant: (dialogId: string) => boolean;
  readonly log: Logger;
}

/** Counters since creation, and the current load. */
export interface AssistantRunnerMetrics {
  readonly inFlight: number;
  readonly queued: number;
  /** `submit` calls accepted for consideration (not counting those after `close`). */
  readonly submitted: number;
  /** Queued requests replaced by a newer message of the same dialog. */
  readonly coalesced: number;
  readonly replied: number;
  /** Calls that resolved to `null` (nothing to say). */
  readonly silent: number;
  /** Replies and failures dropped, or queued requests skipped, because an operator took over. */
  readonly dropped: number;
  /** Requests aborted or unqueued by `cancel` or `close`. */
  readonly cancelled: number;
  readonly failures: Readonly<Record<AssistantFailureReason, number>>;
}

/** @see createAssistantRunner */
export interface AssistantRunner {
  /** Considers one committed visitor message. Never throws; outcomes arrive via the callbacks. */
  submit(request: AssistantRequest): void;
  /** Forgets the dialog's queued request and aborts its call in flight; no callback follows. */
  cancel(dialogId: string): void;
  /** Refuses further work, aborts every call, resolves once all have settled. Idempotent. */
  close(): Promise<void>;
  /** A snapshot of the counters. */
  readonly metrics: AssistantRunnerMetrics;
}

interface Job {
  readonly request: AssistantRequest;
  readonly controller: AbortController;
  readonly startedAt: number;
}

function checkBound(name: string, value: number, min: number, max: number): number {
  if (!(Number.isSafeInteger(value) && value >= min && value <= max)) {
    throw new RangeError(`assistant ${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * Creates an {@link AssistantRunner}. Throws a `RangeError` at creation for a bad bound.
 *
 * @example
 * const runner = createAssistantRunner({
 *   responder, siteRate, now: performance.now.bind(performance), log,
 *   isStillAssistant: (dialogId) => dialogs.handoffState(dialogId) !== 'operator',
 *   onReply: (request, reply) => chat.post(request.dialogId, 'assistant', reply.text),
 *   onFailure: (request) => chat.post(request.dialogId, 'system', 'The assistant is unavailable.'),
 * });
 * runner.submit(request);
 */
export function createAssistantRunner(options: AssistantRunnerOptions): AssistantRunner {
  const concurrency = checkBound(
    'concurrency',
    options.concurrency ?? WEBHOOK_CONCURRENCY,
    1,
    WEBHOOK_CONCURRENCY,
  );
  const queueMax = checkBound(
    'queueMax',
    options.queueMax ?? ASSISTANT_QUEUE_MAX,
    0,
    Number.MAX_SAFE_INTEGER,
  );
  const { responder, siteRate, now, log } = options;

  /** Waiting requests by dialog, in arrival order (a coalesced request keeps its place). */
  const pending = new Map<string, AssistantRequest>();
  /** Calls holding a slot, by dialog; an aborted call stays until it settles. */
  const active = new Map<string, Job>();
  const settling = new Set<Promise<void>>();
  const counts = {
    submitted: 0,
    coalesced: 0,
    replied: 0,
    silent: 0,
    dropped: 0,
    cancelled: 0,
  };
  const failures = Object.fromEntries(
    ASSISTANT_FAILURE_REASONS.map((reason) => [reason, 0]),
  ) as Record<AssistantFailureReason, number>;
  let closing: Promise<void> | undefined;

  /** Runs a callback of the chat layer; its exceptions are its bugs, never the runner's state. */
  function call(event: string, request: AssistantRequest, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      log.error('assistant_callback_failed', {
        callback: event,
        dialog_id: request.dialogId,
        error,
      });
    }
  }

  function stillAssistant(dialogId: string): boolean {
    try {
      return options.isStillAssistant(dialogId);
    } catch (error) {
      // Unsure who holds the dialog: say nothing rather than talk over an operator.
      log.error('assistant_callback_failed', { callback: 'isStillAssistant', error });
      return false;
    }
  }

  function fail(request: AssistantRequest, reason: AssistantFailureReason, fields = {}): void {
    failures[reason] += 1;
    // A flood is what produces these two; one line each would amplify it into the logs.
    const level = reason === 'overload' || reason === 'rate_limited' ? 'debug' : 'warn';
    log[level]('assistant_failed', {
      reason,
      site_id: request.siteId,
      dialog_id: request.dialogId,
      ...fields,
    });
    call('onFailure', request, () => options.onFailure(request, reason));
  }

  function deliver(job: Job, outcome: Outcome): void {
    const { request, controller } = job;
    if (controller.signal.aborted) return; // cancelled or closed: counted there, nobody listens
    if (!stillAssistant(request.dialogId)) {
      counts.dropped += 1;
      log.debug('assistant_dropped', { dialog_id: request.dialogId, outcome: outcome.kind });
      return;
    }
    if (outcome.kind === 'silent') {
      counts.silent += 1;
    } else if (outcome.kind === 'reply') {
      counts.replied += 1;
      call('onReply', request, () => options.onReply(request, outcome.reply));
    } else {
      const duration = Math.round(now() - job.startedAt);
      const fields = {
        duration_ms: duration,
        ...(outcome.status ? { status: outcome.status } : {}),
      };
      fail(request, outcome.reason, fields);
    }
  }

  async function run(job: Job): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = outcomeOf(await responder.respond(job.request, job.controller.signal));
    } catch (error) {
      const failure = failureOf(error);
      outcome = failure;
      if (failure.reason === 'internal' && !job.controller.signal.aborted) {
        log.error('assistant_responder_threw', { dialog_id: job.request.dialogId, error });
      }
    }
    deliver(job, outcome);
  }

  function start(request: AssistantRequest): void {
    const { dialogId } = request;
    if (!stillAssistant(dialogId)) {
      counts.dropped += 1;
      return;
    }
    const job: Job = { request, controller: new AbortController(), startedAt: now() };
    active.set(dialogId, job);
    const settled: Promise<void> = run(job).finally(() => {
      if (active.get(dialogId) === job) active.delete(dialogId);
      settling.delete(settled);
      pump();
    });
    settling.add(settled);
  }

  /** Starts waiting requests, oldest first, while slots are free. */
  function pump(): void {
    if (closing !== undefined) return;
    for (const [dialogId, request] of pending) {
      if (active.size >= concurrency) return;
      if (active.has(dialogId)) continue;
      pending.delete(dialogId);
      start(request);
    }
  }

  function admit(request: AssistantRequest): void {
    const { dialogId } = request;
    if (closing !== undefined) return;
    counts.submitted += 1;
    if (!siteRate.hit(request.siteId).allowed) {
      fail(request, 'rate_limited');
    } else if (pending.has(dialogId)) {
      pending.set(dialogId, request); // same key: keeps its place in the queue
      counts.coalesced += 1;
    } else if (!active.has(dialogId) && active.size < concurrency) {
      start(request);
    } else if (pending.size >= queueMax) {
      fail(request, 'overload');
    } else {
      pending.set(dialogId, request);
    }
  }

  return {
    submit(request) {
      try {
        admit(request);
      } catch (error) {
        log.error('assistant_submit_failed', { dialog_id: request.dialogId, error });
        fail(request, 'internal');
      }
    },
    cancel(dialogId) {
      if (pending.delete(dialogId)) counts.cancelled += 1;
      const job = active.get(dialogId);
      if (job !== undefined && !job.controller.signal.aborted) {
        counts.cancelled += 1;
        job.controller.abort();
      }
    },
    close() {
      if (closing !== undefined) return closing;
      counts.cancelled += pending.size;
      pending.clear();
      for (const job of active.values()) {
        if (job.controller.signal.aborted) continue;
        counts.cancelled += 1;
        job.controller.abort();
      }
      closing = Promise.allSettled([...settling]).then(() => {
        active.clear();
      });
      return closing;
    },
    get metrics() {
      return Object.freeze({
        inFlight: active.size,
        queued: pending.size,
        ...counts,
        failures: Object.freeze({ ...failures }),
      });
    },
  };
}
