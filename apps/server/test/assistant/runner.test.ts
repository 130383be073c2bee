/**
 * SPEC §4 "Assistant": calls run within a concurrency cap and a bounded queue, are limited per
 * site, a reply after take-over is dropped, and failure or overload is reported, never silent.
 * These tests drive the runner with a hand-resolved responder; `runner-webhook.test.ts` runs it
 * against a real webhook server.
 */
import { describe, expect, it, vi } from 'vitest';
import { ResponderError } from '../../src/assistant/errors.js';
import {
  type AssistantFailureReason,
  type AssistantRunnerOptions,
  createAssistantRunner,
} from '../../src/assistant/runner.js';
import type { AssistantReply, AssistantRequest } from '../../src/assistant/types.js';
import { createLogger } from '../../src/log.js';
import { createRateTable, type RateTable } from '../../src/security/rate-table.js';
import { controlledResponder, flush, makeRequest } from './fixtures.js';

interface Setup extends Partial<Omit<AssistantRunnerOptions, 'log'>> {
  readonly siteLimit?: number;
}

/** A runner over a controlled responder, recording every callback and log line. */
function setup(overrides: Setup = {}) {
  const responder = controlledResponder();
  let clock = 0;
  const replies: { request: AssistantRequest; reply: AssistantReply }[] = [];
  const failures: { request: AssistantRequest; reason: AssistantFailureReason }[] = [];
  const takenOver = new Set<string>();
  const logs: Record<string, unknown>[] = [];
  const siteRate: RateTable = createRateTable({
    limit: overrides.siteLimit ?? 1000,
    windowMs: 60_000,
    maxKeys: 100,
    now: () => clock,
  });
  const runner = createAssistantRunner({
    responder,
    siteRate,
    now: () => clock,
    onReply: (request, reply) => replies.push({ request, reply }),
    onFailure: (request, reason) => failures.push({ request, reason }),
    isStillAssistant: (dialogId) => !takenOver.has(dialogId),
    log: createLogger((line) => logs.push(JSON.parse(line)), 'debug'),
    ...overrides,
  });
  return {
    runner,
    responder,
    replies,
    failures,
    takenOver,
    logs,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

describe('assistant runner', () => {
  it('delivers a reply through onReply, trimmed, and nothing for null', async () => {
    const { runner, responder, replies, failures } = setup();
    const first = makeRequest();
    const second = makeRequest();
    runner.submit(first);
    runner.submit(second);
    expect(responder.calls.map((call) => call.request)).toEqual([first, second]);
    responder.calls[0]?.resolve({ text: '  Hi!  ', offerHuman: true });
    responder.calls[1]?.resolve(null);
    await flush();
    expect(replies).toEqual([{ request: first, reply: { text: 'Hi!', offerHuman: true } }]);
    expect(failures).toEqual([]);
    expect(runner.metrics).toMatchObject({ replied: 1, silent: 1, inFlight: 0, queued: 0 });
  });

  it.each([
    ['timeout', new ResponderError('timeout')],
    ['too_large', new ResponderError('too_large')],
    ['bad_status', new ResponderError('bad_status', { status: 500 })],
    ['bad_body', new ResponderError('bad_body')],
    ['network', new ResponderError('network')],
    ['internal', new Error('responder bug')],
    ['internal', 'a thrown string'],
  ] as const)('reports a %s failure through onFailure', async (reason, error) => {
    const { runner, responder, replies, failures } = setup();
    const request = makeRequest();
    runner.submit(request);
    responder.calls[0]?.reject(error);
    await flush();
    expect(failures).toEqual([{ request, reason }]);
    expect(replies).toEqual([]);
    expect(runner.metrics.failures[reason]).toBe(1);
  });

  it.each([
    ['an empty text', { text: '  ' }],
    ['a text over 4000 code units', { text: 'x'.repeat(4001) }],
    ['a control character', { text: 'a\u0000b' }],
    ['no text', { offerHuman: true }],
    ['a non-object', 'just a string'],
    ['undefined', undefined],
  ])(
    'refuses a reply with %s (bad_body), so only valid messages reach visitors',
    async (_label, value) => {
      const { runner, responder, replies, failures } = setup();
      runner.submit(makeRequest());
      responder.calls[0]?.resolve(value);
      await flush();
      expect(replies).toEqual([]);
      expect(failures.map((f) => f.reason)).toEqual(['bad_body']);
    },
  );

  it('runs at most `concurrency` calls and starts queued ones in arrival order', async () => {
    const { runner, responder, replies } = setup({ concurrency: 3 });
    const requests = Array.from({ length: 7 }, () => makeRequest());
    for (const request of requests) runner.submit(request);
    expect(responder.calls).toHaveLength(3);
    expect(runner.metrics).toMatchObject({ inFlight: 3, queued: 4 });
    for (let done = 0; done < 7; done++) {
      responder.calls[done]?.resolve({ text: `answer ${done}` });
      await flush();
      expect(runner.metrics.inFlight).toBeLessThanOrEqual(3);
    }
    expect(responder.calls.map((call) => call.request)).toEqual(requests);
    expect(replies.map((r) => r.reply.text)).toEqual(requests.map((_, i) => `answer ${i}`));
    expect(runner.metrics).toMatchObject({ inFlight: 0, queued: 0, replied: 7 });
  });

  it('refuses with overload at once when the queue is full, and recovers when it drains', async () => {
    const { runner, responder, failures, logs } = setup({ concurrency: 2, queueMax: 3 });
    for (let i = 0; i < 5; i++) runner.submit(makeRequest());
    expect(runner.metrics).toMatchObject({ inFlight: 2, queued: 3 });
    const refused = makeRequest();
    runner.submit(refused);
    // Synchronously: the chat layer can post its system message right after submit returns.
    expect(failures).toEqual([{ request: refused, reason: 'overload' }]);
    expect(runner.metrics.failures.overload).toBe(1);
    expect(logs.filter((l) => l['event'] === 'assistant_failed')[0]).toMatchObject({
      level: 'debug', // a flood must not become a log flood
      reason: 'overload',
    });
    responder.calls[0]?.resolve(null);
    await flush();
    runner.submit(makeRequest());
    expect(failures).toHaveLength(1);
    expect(runner.metrics.queued).toBe(3);
  });

  it('with queueMax 0, refuses whatever cannot start at once', () => {
    const { runner, failures } = setup({ concurrency: 1, queueMax: 0 });
    runner.submit(makeRequest());
    runner.submit(makeRequest());
    expect(failures.map((f) => f.reason)).toEqual(['overload']);
  });

  it('limits each site on its own: rate_limited for the busy site, another site unaffected', async () => {
    const { runner, responder, failures, advance } = setup({ siteLimit: 3 });
    const a = (i: number) => makeRequest({ siteId: 'site_a', dialogId: `a${i}` });
    const b = (i: number) => makeRequest({ siteId: 'site_b', dialogId: `b${i}` });
    for (let i = 0; i < 3; i++) runner.submit(a(i));
    const limited = a(3);
    runner.submit(limited);
    expect(failures).toEqual([{ request: limited, reason: 'rate_limited' }]);
    for (let i = 0; i < 3; i++) runner.submit(b(i));
    expect(failures).toHaveLength(1);
    expect(responder.calls.map((c) => c.request.siteId)).toEqual([
      'site_a',
      'site_a',
      'site_a',
      'site_b',
      'site_b',
      'site_b',
    ]);
    advance(120_000); // two windows later the site is welcome again
    runner.submit(a(4));
    expect(failures).toHaveLength(1);
    expect(runner.metrics.failures.rate_limited).toBe(1);
  });

  it('coalesces messages of a dialog that is already waiting: the newest replaces the queued one', async () => {
    const { runner, responder, replies } = setup();
    const first = makeRequest({ dialogId: 'd1', text: 'one' });
    runner.submit(first); // in flight
    const second = makeRequest({ dialogId: 'd1', text: 'two' });
    const third = makeRequest({ dialogId: 'd1', text: 'three' });
    runner.submit(second); // queued behind the call in flight
    runner.submit(third); // replaces `second`
    expect(responder.calls).toHaveLength(1); // one call per dialog at a time
    expect(runner.metrics).toMatchObject({ inFlight: 1, queued: 1, coalesced: 1 });
    responder.calls[0]?.resolve({ text: 'answer one' });
    await flush();
    expect(responder.calls.map((c) => c.request)).toEqual([first, third]);
    responder.calls[1]?.resolve({ text: 'answer three' });
    await flush();
    expect(replies.map((r) => [r.request.message.text, r.reply.text])).toEqual([
      ['one', 'answer one'],
      ['three', 'answer three'],
    ]);
  });

  it('lets a waiting dialog keep its place while others run past its busy call', async () => {
    const { runner, responder } = setup({ concurrency: 2 });
    runner.submit(makeRequest({ dialogId: 'd1' }));
    runner.submit(makeRequest({ dialogId: 'd1' })); // waits for d1's call
    runner.submit(makeRequest({ dialogId: 'd2' })); // a free slot: starts now
    expect(responder.calls.map((c) => c.request.dialogId)).toEqual(['d1', 'd2']);
    expect(runner.metrics).toMatchObject({ inFlight: 2, queued: 1 });
  });

  it('drops a reply that arrives after an operator took over', async () => {
    const { runner, responder, replies, failures, takenOver } = setup();
    const request = makeRequest({ dialogId: 'd1' });
    runner.submit(request);
    takenOver.add('d1');
    responder.calls[0]?.resolve({ text: 'too late' });
    await flush();
    expect(replies).toEqual([]);
    expect(failures).toEqual([]);
    expect(runner.metrics).toMatchObject({ dropped: 1, replied: 0 });
  });

  it('drops a failure too after take-over: the operator is talking now', async () => {
    const { runner, responder, failures, takenOver } = setup();
    runner.submit(makeRequest({ dialogId: 'd1' }));
    takenOver.add('d1');
    responder.calls[0]?.reject(new ResponderError('timeout'));
    await flush();
    expect(failures).toEqual([]);
    expect(runner.metrics.dropped).toBe(1);
  });

  it('skips a queued request whose dialog was taken over before its turn', async () => {
    const { runner, responder, takenOver } = setup({ concurrency: 1 });
    runner.submit(makeRequest({ dialogId: 'd1' }));
    runner.submit(makeRequest({ dialogId: 'd2' }));
    takenOver.add('d2');
    responder.calls[0]?.resolve(null);
    await flush();
    expect(responder.calls).toHaveLength(1); // d2's call was never made
    expect(runner.metrics).toMatchObject({ dropped: 1, queued: 0, inFlight: 0 });
  });

  it('treats a throwing isStillAssistant as "not any more" and says nothing', async () => {
    const { runner, responder, replies } = setup({
      isStillAssistant: () => {
        throw new Error('store down');
      },
    });
    runner.submit(makeRequest());
    expect(responder.calls).toHaveLength(0);
    expect(replies).toEqual([]);
    expect(runner.metrics.dropped).toBe(1);
  });

  it('cancel() aborts the call in flight and forgets the queued one, with no callback', async () => {
    const { runner, responder, replies, failures } = setup({ concurrency: 1 });
    runner.submit(makeRequest({ dialogId: 'd1' }));
    runner.submit(makeRequest({ dialogId: 'd1' }));
    runner.submit(makeRequest({ dialogId: 'd2' }));
    runner.cancel('d1');
    expect(responder.calls[0]?.signal.aborted).toBe(true);
    expect(runner.metrics).toMatchObject({ inFlight: 1, queued: 1, cancelled: 2 }); // slot held…
    await flush();
    // …until the aborted call settled; then d2 starts.
    expect(responder.calls.map((c) => c.request.dialogId)).toEqual(['d1', 'd2']);
    expect(replies).toEqual([]);
    expect(failures).toEqual([]);
  });

  it('close() aborts every call, clears the queue, resolves once all settled, and is final', async () => {
    const { runner, responder, replies, failures } = setup({ concurrency: 2 });
    for (let i = 0; i < 5; i++) runner.submit(makeRequest());
    const closing = runner.close();
    expect(runner.close()).toBe(closing);
    expect(responder.calls.every((call) => call.signal.aborted)).toBe(true);
    expect(runner.metrics.queued).toBe(0);
    await closing;
    expect(runner.metrics).toMatchObject({ inFlight: 0, queued: 0, cancelled: 5 });
    runner.submit(makeRequest());
    await flush();
    expect(responder.calls).toHaveLength(2);
    expect(replies).toEqual([]);
    expect(failures).toEqual([]);
  });

  it('close() waits for a responder that takes a moment to stop', async () => {
    let stopped = false;
    const slow = {
      respond: (_request: AssistantRequest, signal: AbortSignal) =>
        new Promise<null>((resolve) => {
          signal.addEventListener('abort', () =>
            setTimeout(() => {
              stopped = true;
              resolve(null);
            }, 20),
          );
        }),
    };
    const { runner } = setup({ responder: slow });
    runner.submit(makeRequest());
    expect(runner.metrics.inFlight).toBe(1);
    await runner.close();
    expect(stopped).toBe(true);
    expect(runner.metrics.inFlight).toBe(0);
  });

  it('survives callbacks that throw, and logs them', async () => {
    const { runner, responder, logs } = setup({
      onReply: () => {
        throw new Error('chat layer bug');
      },
      onFailure: () => {
        throw new Error('chat layer bug');
      },
    });
    runner.submit(makeRequest());
    runner.submit(makeRequest());
    responder.calls[0]?.resolve({ text: 'hi' });
    responder.calls[1]?.reject(new ResponderError('network'));
    await flush();
    expect(runner.metrics).toMatchObject({ replied: 1, inFlight: 0 });
    expect(runner.metrics.failures.network).toBe(1);
    expect(logs.filter((l) => l['event'] === 'assistant_callback_failed')).toHaveLength(2);
  });

  it('never throws from submit, even when the rate table does', () => {
    const broken: RateTable = {
      ...createRateTable({ limit: 1, windowMs: 1, maxKeys: 1, now: () => 0 }),
      hit: () => {
        throw new Error('boom');
      },
    };
    const { runner, failures } = setup({ siteRate: broken });
    const request = makeRequest();
    expect(() => runner.submit(request)).not.toThrow();
    expect(failures).toEqual([{ request, reason: 'internal' }]);
  });

  it('logs failures by reason and ids, never message text', async () => {
    const { runner, responder, logs } = setup();
    runner.submit(makeRequest({ text: 'my card number is 4111' }));
    responder.calls[0]?.reject(new ResponderError('bad_status', { status: 503 }));
    await flush();
    const line = logs.find((l) => l['event'] === 'assistant_failed');
    expect(line).toMatchObject({ level: 'warn', reason: 'bad_status', status: 503 });
    expect(JSON.stringify(logs)).not.toContain('4111');
  });

  it('refuses bad bounds at creation', () => {
    for (const concurrency of [0, 33, 1.5, Number.NaN]) {
      expect(() => setup({ concurrency })).toThrow(RangeError);
    }
    expect(() => setup({ queueMax: -1 })).toThrow(RangeError);
    expect(() => setup({ concurrency: 32, queueMax: 0 })).not.toThrow();
  });

  it('keeps no timers of its own', async () => {
    vi.useFakeTimers();
    try {
      const { runner, responder } = setup();
      for (let i = 0; i < 3; i++) runner.submit(makeRequest());
      responder.calls[0]?.resolve(null);
      expect(vi.getTimerCount()).toBe(0);
      await runner.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
