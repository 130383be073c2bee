/**
 * SPEC §4 "Assistant", end to end: the runner driving the webhook responder against a real HTTP
 * server on 127.0.0.1 port 0, with concurrency counted where it matters — at the receiver.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { WEBHOOK_CONCURRENCY } from '@postern/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createResponder } from '../../src/assistant/index.js';
import { type AssistantFailureReason, createAssistantRunner } from '../../src/assistant/runner.js';
import type { AssistantReply, AssistantRequest, Responder } from '../../src/assistant/types.js';
import { silentLogger } from '../../src/log.js';
import { createRateTable } from '../../src/security/rate-table.js';
import { type LocalServer, makeRequest, startServer, until } from './fixtures.js';

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function webhook(url: string, timeoutMs?: number): Responder {
  const responder = createResponder({
    kind: 'webhook',
    webhookUrl: url,
    webhookSecret: randomBytes(32),
    fetch: globalThis.fetch,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  if (responder === null) throw new Error('webhook responder expected');
  return responder;
}

function runnerFor(responder: Responder, takenOver = new Set<string>()) {
  const replies: { request: AssistantRequest; reply: AssistantReply }[] = [];
  const failures: AssistantFailureReason[] = [];
  const runner = createAssistantRunner({
    responder,
    siteRate: createRateTable({ limit: 10_000, windowMs: 60_000, maxKeys: 100, now: Date.now }),
    now: () => performance.now(),
    onReply: (request, reply) => replies.push({ request, reply }),
    onFailure: (_request, reason) => failures.push(reason),
    isStillAssistant: (dialogId) => !takenOver.has(dialogId),
    log: silentLogger,
  });
  return { runner, replies, failures };
}

/** Timers keeping the process alive (unref'd library timers are not counted). */
const activeTimeouts = () =>
  process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('assistant runner with the webhook responder', () => {
  it('40 submissions never put more than 32 concurrent requests on the server', async () => {
    let current = 0;
    let peak = 0;
    let released = false;
    const held: ServerResponse[] = [];
    const answer = (res: ServerResponse) => {
      current -= 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"ok"}');
    };
    const server = await startServer((req, res) => {
      current += 1;
      peak = Math.max(peak, current);
      req.resume();
      if (released) setTimeout(() => answer(res), 5);
      else held.push(res);
    });
    servers.push(server);
    const { runner, replies, failures } = runnerFor(webhook(server.url));

    for (let i = 0; i < 40; i++) runner.submit(makeRequest());
    await until(() => server.received() === WEBHOOK_CONCURRENCY);
    // Give a 33rd request every chance to arrive before looking.
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(server.received()).toBe(WEBHOOK_CONCURRENCY);
    expect(runner.metrics).toMatchObject({ inFlight: 32, queued: 8 });

    released = true;
    for (const res of held.splice(0)) answer(res);
    await until(() => replies.length === 40);
    expect(peak).toBe(WEBHOOK_CONCURRENCY);
    expect(server.received()).toBe(40);
    expect(failures).toEqual([]);
    expect(runner.metrics).toMatchObject({ inFlight: 0, queued: 0, replied: 40 });
    await runner.close();
  });

  it('reports a webhook that never answers as a timeout failure', async () => {
    const server = await startServer((req) => req.resume());
    servers.push(server);
    const { runner, replies, failures } = runnerFor(webhook(server.url, 200));
    runner.submit(makeRequest());
    await until(() => failures.length === 1);
    expect(failures).toEqual(['timeout']);
    expect(replies).toEqual([]);
    await runner.close();
  });

  it('drops a webhook reply that arrives after an operator took over', async () => {
    const waiting: ServerResponse[] = [];
    const server = await startServer((req, res) => {
      req.resume();
      waiting.push(res);
    });
    servers.push(server);
    const takenOver = new Set<string>();
    const { runner, replies, failures } = runnerFor(webhook(server.url), takenOver);
    runner.submit(makeRequest({ dialogId: 'held' }));
    await until(() => waiting.length === 1);
    takenOver.add('held');
    waiting[0]?.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"late"}');
    await until(() => runner.metrics.inFlight === 0);
    expect(replies).toEqual([]);
    expect(failures).toEqual([]);
    expect(runner.metrics.dropped).toBe(1);
    await runner.close();
  });

  it('close() aborts in-flight calls at the server and leaves no timers behind', async () => {
    let disconnected = 0;
    const server = await startServer((req) => {
      req.resume();
      req.socket.on('close', () => {
        disconnected += 1;
      });
    });
    servers.push(server);
    const before = activeTimeouts();
    const { runner, replies, failures } = runnerFor(webhook(server.url));
    for (let i = 0; i < 5; i++) runner.submit(makeRequest());
    await until(() => server.received() === 5);
    expect(activeTimeouts()).toBeGreaterThanOrEqual(before + 5); // one 10 s deadline per call

    await runner.close();
    expect(runner.metrics).toMatchObject({ inFlight: 0, queued: 0, cancelled: 5 });
    expect(activeTimeouts()).toBeLessThanOrEqual(before);
    await until(() => disconnected === 5);
    expect(replies).toEqual([]);
    expect(failures).toEqual([]);
  });
});
