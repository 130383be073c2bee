/**
 * The assistant end to end (SPEC §4 "Assistant"): real visitor and operator sockets against the
 * real server, and a real local webhook standing in for the site owner's endpoint. The responders
 * and the runner have unit tests of their own (test/assistant); these prove the wiring: who
 * answers, what reaches the webhook, what reaches every socket of the dialog, and that every
 * failure or refusal becomes one `system` message, never silence.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { demoReply, demoTopic } from '../../src/assistant/index.js';
import type { AssistantRunner } from '../../src/assistant/runner.js';
import { type Harness, startHarness } from '../support/harness.js';
import {
  appAuth,
  claimsOf,
  closeOpened,
  type Frame,
  newVisitor,
  readyVisitor,
  SHARED_SERVER_ENV,
  type VisitorSession,
  type WatchedSocket,
  waitFor,
} from '../support/ws-client.js';
import {
  answer,
  type Behaviour,
  closedPort,
  type HookCall,
  hold,
  json,
  signatureValid,
  startWebhook,
  type WebhookServer,
} from './webhook-server.js';

const SECRET = 'webhook-secret-for-tests-0123456789abcdef';

/**
 * How long a test listens for something that must not happen. Local replies arrive within a few
 * milliseconds, so a message that was going to come would come well inside this.
 */
const QUIET_MS = 300;

const quiet = () => new Promise((resolve) => setTimeout(resolve, QUIET_MS));

function webhookEnv(url: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...SHARED_SERVER_ENV,
    POSTERN_ASSISTANT_WEBHOOK_URL: url,
    POSTERN_ASSISTANT_WEBHOOK_SECRET: SECRET,
    ...extra,
  };
}

function runnerOf(h: Harness): AssistantRunner {
  const runner = h.server.chat.runner;
  if (runner === null) throw new Error('expected an assistant runner');
  return runner;
}

/** Every call submitted so far has settled (answered, failed, dropped or cancelled). */
function idle(h: Harness): Promise<void> {
  const runner = runnerOf(h);
  return waitFor(
    () => runner.metrics.inFlight === 0 && runner.metrics.queued === 0,
    'an idle assistant runner',
  );
}

async function visitorTab(
  h: Harness,
  site?: { token: string; jti: string; siteId: string },
): Promise<{ v: VisitorSession; socket: WatchedSocket }> {
  const v = await newVisitor(h, site);
  const { socket } = await readyVisitor(h, v.visitorToken);
  return { v, socket };
}

/** Sends `text` and returns the visitor's own copy of it, after its `ack`. */
async function say(socket: WatchedSocket, dialogId: string, text: string): Promise<Frame> {
  const clientMsgId = randomUUID();
  socket.send({ type: 'send', dialog_id: dialogId, client_msg_id: clientMsgId, text });
  const ack = await socket.nextOf('ack');
  expect(ack['client_msg_id']).toBe(clientMsgId);
  const own = await socket.nextOf('message');
  expect(own).toMatchObject({ sender: 'visitor', seq: ack['seq'], id: ack['id'], text });
  return own;
}

/** The senders of a dialog's stored messages, in seq order. */
async function storedSenders(h: Harness, dialogId: string): Promise<string[]> {
  const messages = await h.store.listMessages(dialogId, { afterSeq: 0, limit: 100 });
  return messages.map((message) => message.sender);
}

function failuresOf(h: Harness, dialogId: string): unknown[] {
  return h.logs
    .filter((line) => line['event'] === 'assistant_failed' && line['dialog_id'] === dialogId)
    .map((line) => line['reason']);
}

function onlyCall(hook: WebhookServer, dialogId: string): HookCall {
  const calls = hook.callsFor(dialogId);
  expect(calls).toHaveLength(1);
  return calls[0] as HookCall;
}

describe('assistant kind (POSTERN_ASSISTANT)', () => {
  let h: Harness | undefined;
  let hook: WebhookServer | undefined;
  afterEach(async () => {
    await h?.close();
    await hook?.close();
    h = undefined;
    hook = undefined;
  });

  it('defaults to the demo without a webhook URL, which offers a person when asked', async () => {
    h = await startHarness({ env: { ...SHARED_SERVER_ENV } });
    const { v, socket } = await visitorTab(h);

    await say(socket, v.dialogId, 'hello there');
    expect(await socket.nextOf('message')).toMatchObject({
      sender: 'assistant',
      seq: 2,
      text: demoReply('hello there').text,
    });

    const ask = 'can I talk to a person';
    expect(demoTopic(ask)).toBe('human');
    await say(socket, v.dialogId, ask);
    const offer = await socket.nextOf('message');
    expect(offer).toMatchObject({ sender: 'assistant', seq: 4, text: demoReply(ask).text });
    expect(offer['text']).toMatch(/person/);
  });

  it('uses the webhook once a webhook URL is set', async () => {
    hook = await startWebhook(json({ text: 'Answered by the site owner.' }));
    h = await startHarness({ env: webhookEnv(hook.url) });
    const { v, socket } = await visitorTab(h);

    await say(socket, v.dialogId, 'hello there');
    expect(await socket.nextOf('message')).toMatchObject({
      sender: 'assistant',
      text: 'Answered by the site owner.',
    });
    expect(hook.callsFor(v.dialogId)).toHaveLength(1);
  });

  it('with none, never answers, and never calls a configured webhook', async () => {
    hook = await startWebhook(json({ text: 'must never be shown' }));
    h = await startHarness({ env: webhookEnv(hook.url, { POSTERN_ASSISTANT: 'none' }) });
    expect(h.server.chat.runner).toBeNull();
    const { v, socket } = await visitorTab(h);

    await say(socket, v.dialogId, 'hello there');
    await quiet();
    // Nothing took seq 2 meanwhile: the next visitor message gets it.
    expect((await say(socket, v.dialogId, 'anyone?'))['seq']).toBe(2);
    await quiet();
    const messages = socket.frames.filter((frame) => frame['type'] === 'message');
    expect(messages.map((frame) => frame['sender'])).toEqual(['visitor', 'visitor']);
    expect(hook.calls).toHaveLength(0);
    expect(await storedSenders(h, v.dialogId)).toEqual(['visitor', 'visitor']);
  });
});

describe('assistant webhook', () => {
  let h: Harness;
  let hook: WebhookServer;
  beforeAll(async () => {
    hook = await startWebhook();
    h = await startHarness({ env: webhookEnv(hook.url) });
  });
  afterEach(() => closeOpened(h));
  afterAll(async () => {
    await h.close();
    await hook.close();
  });

  it('POSTs each visitor message once, signed over the exact body, and the reply reaches every socket of the dialog', async () => {
    hook.behave(hold);
    const site = await h.siteToken({ siteId: 'site_signed' });
    const v = await newVisitor(h, site);
    const { socket: tab1 } = await readyVisitor(h, v.visitorToken);
    const { socket: tab2 } = await readyVisitor(h, v.visitorToken);
    const op = await appAuth(h, await h.operatorToken({ operatorId: 'op_watch' }));
    expect((await op.next())['type']).toBe('ready');

    const first = await say(tab1, v.dialogId, 'Where is my parcel?');
    expect(await tab2.nextOf('message')).toMatchObject({ id: first['id'], sender: 'visitor' });
    await waitFor(() => hook.callsFor(v.dialogId).length === 1, 'the webhook call');
    // The operator watches the dialog; a refused second subscribe marks the first as done.
    op.send({ type: 'subscribe', dialog_id: v.dialogId });
    op.send({ type: 'subscribe', dialog_id: 'no-such-dialog' });
    expect(await op.nextOf('error')).toMatchObject({ code: 'not_found', ref: 'no-such-dialog' });

    const call = onlyCall(hook, v.dialogId);
    expect(call.method).toBe('POST');
    expect(call.path).toBe('/hook');
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers['x-postern-timestamp']).toBe(String(call.body?.sent_at));
    expect(signatureValid(call, SECRET)).toBe(true);
    expect(signatureValid(call, `${SECRET}-other`)).toBe(false);
    expect(call.body).toMatchObject({
      site_id: site.siteId,
      assistant_id: claimsOf(site.token)['assistant_id'],
      dialog_id: v.dialogId,
      visitor_id: v.visitorId,
      message: { id: first['id'], seq: 1, text: 'Where is my parcel?' },
      history: [],
    });

    // A retried send (same client_msg_id) is the same message: acknowledged again, never re-asked.
    tab1.send({
      type: 'send',
      dialog_id: v.dialogId,
      client_msg_id: first['client_msg_id'],
      text: 'Where is my parcel?',
    });
    expect(await tab1.nextOf('ack')).toMatchObject({ id: first['id'], seq: 1 });

    answer(call, 'It left the warehouse today.');
    const copies = await Promise.all([tab1, tab2, op].map((socket) => socket.nextOf('message')));
    for (const copy of copies) {
      expect(copy).toMatchObject({
        type: 'message',
        dialog_id: v.dialogId,
        sender: 'assistant',
        seq: 2,
        text: 'It left the warehouse today.',
      });
      expect(copy['id']).toBe(copies[0]?.['id']);
    }

    // The next call carries what came before — and not the message it asks about.
    hook.behave(json({ text: 'Returns are free.' }));
    const second = await say(tab1, v.dialogId, 'And returns?');
    expect(await tab2.nextOf('message')).toMatchObject({ sender: 'visitor', seq: 3 });
    expect(await tab2.nextOf('message')).toMatchObject({ sender: 'assistant', seq: 4 });
    await idle(h);
    const calls = hook.callsFor(v.dialogId);
    expect(calls).toHaveLength(2);
    expect(signatureValid(calls[1] as HookCall, SECRET)).toBe(true);
    expect(calls[1]?.body).toMatchObject({
      message: { id: second['id'], seq: 3, text: 'And returns?' },
      history: [
        { sender: 'visitor', text: 'Where is my parcel?' },
        { sender: 'assistant', text: 'It left the warehouse today.' },
      ],
    });
  });

  it('sends the ten newest earlier messages as history, oldest first', async () => {
    hook.behave((call) => answer(call, `re: ${call.body?.message.text}`));
    const { v, socket } = await visitorTab(h);
    for (let i = 1; i <= 6; i++) {
      await say(socket, v.dialogId, `question ${i}`);
      expect(await socket.nextOf('message')).toMatchObject({ sender: 'assistant', seq: 2 * i });
    }
    await say(socket, v.dialogId, 'question 7');
    await socket.nextOf('message');

    const earlier = socket.frames
      .filter((frame) => frame['type'] === 'message' && Number(frame['seq']) < 13)
      .map((frame) => ({ sender: frame['sender'], text: frame['text'] }));
    expect(earlier).toHaveLength(12);
    const last = hook.callsFor(v.dialogId).at(-1);
    expect(last?.body?.message.seq).toBe(13);
    expect(last?.body?.history.map(({ sender, text }) => ({ sender, text }))).toEqual(
      earlier.slice(-10),
    );
  });

  it('answers a burst sent during a running call with one more call: the newest message, the rest as history', async () => {
    hook.behave(hold);
    const runner = runnerOf(h);
    const coalescedBefore = runner.metrics.coalesced;
    const { v, socket } = await visitorTab(h);
    await say(socket, v.dialogId, 'one');
    await waitFor(() => hook.callsFor(v.dialogId).length === 1, 'the first call');
    await say(socket, v.dialogId, 'two');
    await say(socket, v.dialogId, 'three');
    await waitFor(() => runner.metrics.coalesced === coalescedBefore + 1, 'the burst to coalesce');

    hook.behave((call) => answer(call, `re: ${call.body?.message.text}`));
    answer(onlyCall(hook, v.dialogId), 're: one');
    expect(await socket.nextOf('message')).toMatchObject({ sender: 'assistant', seq: 4 });
    expect(await socket.nextOf('message')).toMatchObject({
      sender: 'assistant',
      seq: 5,
      text: 're: three',
    });
    await idle(h);
    const calls = hook.callsFor(v.dialogId);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.body).toMatchObject({
      message: { seq: 3, text: 'three' },
      history: [
        { sender: 'visitor', text: 'one' },
        { sender: 'visitor', text: 'two' },
      ],
    });
  });

  it('posts nothing for a 204', async () => {
    const runner = runnerOf(h);
    const silentBefore = runner.metrics.silent;
    hook.behave(({ res }) => {
      res.writeHead(204);
      res.end();
    });
    const { v, socket } = await visitorTab(h);
    await say(socket, v.dialogId, 'Just saying hi');
    await waitFor(() => runner.metrics.silent === silentBefore + 1, 'the 204 to be handled');
    await idle(h);

    hook.behave(json({ text: 'Now I have something to say.' }));
    // Seq 2 is still free, so nothing was posted for the 204.
    expect((await say(socket, v.dialogId, 'Still there?'))['seq']).toBe(2);
    expect(await socket.nextOf('message')).toMatchObject({ sender: 'assistant', seq: 3 });
    expect(await storedSenders(h, v.dialogId)).toEqual(['visitor', 'visitor', 'assistant']);
    expect(hook.callsFor(v.dialogId)).toHaveLength(2);
  });

  it('delivers a reply that looks like HTML as the same plain text, unchanged', async () => {
    const html = '<img src=x onerror="alert(1)"><b>Bold</b> &amp; <script>steal()</script>';
    hook.behave(json({ text: html }));
    const { v, socket } = await visitorTab(h);
    await say(socket, v.dialogId, 'Show me something');
    expect(await socket.nextOf('message')).toMatchObject({ sender: 'assistant', text: html });
    const stored = await h.store.listMessages(v.dialogId, { afterSeq: 1, limit: 10 });
    expect(stored.map((message) => message.text)).toEqual([html]);
  });

  describe('failures become one system message', () => {
    const failures: [string, Behaviour, string][] = [
      ['a 500 status', json({ text: 'an error page must not be shown' }, 500), 'bad_status'],
      [
        'a body over 64 KB (streamed, no Content-Length)',
        ({ res }) => {
          // A valid reply, only too large: without the cap it would be delivered.
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.write('{"text":"Fine.","pad":"');
          res.write('a'.repeat(70_000));
          res.end('"}');
        },
        'too_large',
      ],
      [
        'a reply text that is not a valid message (over 4000 characters)',
        json({ text: 'x'.repeat(4001) }),
        'bad_body',
      ],
      [
        'malformed JSON',
        ({ res }) => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end('{"text": "unterminated');
        },
        'bad_body',
      ],
      ...[302, 307].map((status): [string, Behaviour, string] => [
        `a ${status} redirect (never followed)`,
        ({ res, headers }) => {
          res.writeHead(status, { Location: `http://${headers.host}/elsewhere` });
          res.end();
        },
        'bad_status',
      ]),
    ];

    it.each(failures)('%s', async (_name, behaviour, reason) => {
      hook.behave(behaviour);
      const { v, socket } = await visitorTab(h);
      await say(socket, v.dialogId, 'Is this in stock?');
      const notice = await socket.nextOf('message');
      expect(notice).toMatchObject({ sender: 'system', seq: 2 });
      // Plain words for the visitor: no status, reason code or endpoint.
      for (const leak of ['500', '302', '307', 'ERR_', reason, String(hook.port), 'http']) {
        expect(notice['text']).not.toContain(leak);
      }
      await idle(h);
      expect(failuresOf(h, v.dialogId)).toEqual([reason]);

      // Exactly one notice: the next exchange takes seqs 3 and 4.
      hook.behave(json({ text: 'Yes, it is.' }));
      expect((await say(socket, v.dialogId, 'Hello?'))['seq']).toBe(3);
      expect(await socket.nextOf('message')).toMatchObject({ sender: 'assistant', seq: 4 });
      expect(await storedSenders(h, v.dialogId)).toEqual([
        'visitor',
        'system',
        'visitor',
        'assistant',
      ]);
      expect(hook.callsFor(v.dialogId)).toHaveLength(2);
      expect(hook.calls.filter((call) => call.path !== '/hook')).toEqual([]);
    });
  });

  it('drops the call of a dialog an operator takes, stays quiet while held, and answers again after release', async () => {
    hook.behave(hold);
    const runner = runnerOf(h);
    const cancelledBefore = runner.metrics.cancelled;
    const { v, socket } = await visitorTab(h);
    const op = await appAuth(h, await h.operatorToken({ operatorId: 'op_taker' }));
    expect((await op.next())['type']).toBe('ready');

    await say(socket, v.dialogId, 'Can you check my order?');
    await waitFor(() => hook.callsFor(v.dialogId).length === 1, 'the webhook call');
    const held = onlyCall(hook, v.dialogId);

    op.send({ type: 'handoff', dialog_id: v.dialogId, action: 'take' });
    expect(await socket.nextOf('handoff')).toMatchObject({ state: 'operator' });
    // The call is aborted at the receiving end, not merely ignored.
    await waitFor(held.aborted, 'the held webhook call to be aborted');
    expect(runner.metrics.cancelled).toBe(cancelledBefore + 1);
    answer(held, 'A late answer nobody should see.');

    // While held, visitor messages reach the operator, never the assistant.
    await say(socket, v.dialogId, 'Hello? Anyone?');
    const clientMsgId = randomUUID();
    op.send({ type: 'send', dialog_id: v.dialogId, client_msg_id: clientMsgId, text: 'Ana here.' });
    expect(await op.nextOf('ack')).toMatchObject({ client_msg_id: clientMsgId });
    expect(await socket.nextOf('message')).toMatchObject({ sender: 'operator', text: 'Ana here.' });
    await quiet();
    expect(hook.callsFor(v.dialogId)).toHaveLength(1);

    op.send({ type: 'handoff', dialog_id: v.dialogId, action: 'release' });
    expect(await socket.nextOf('handoff')).toMatchObject({ state: 'assistant' });
    hook.behave(json({ text: 'I am back.' }));
    const after = await say(socket, v.dialogId, 'Thanks!');
    expect(await socket.nextOf('message')).toMatchObject({
      sender: 'assistant',
      seq: Number(after['seq']) + 1,
      text: 'I am back.',
    });

    const assistantTexts = socket.frames
      .filter((frame) => frame['type'] === 'message' && frame['sender'] === 'assistant')
      .map((frame) => frame['text']);
    expect(assistantTexts).toEqual(['I am back.']);
    const stored = await h.store.listMessages(v.dialogId, { afterSeq: 0, limit: 100 });
    expect(stored.filter((m) => m.sender === 'assistant').map((m) => m.text)).toEqual([
      'I am back.',
    ]);
    // The call after the release sees what happened while the operator held the dialog.
    const texts = hook.callsFor(v.dialogId)[1]?.body?.history.map((entry) => entry.text);
    expect(texts).toEqual(expect.arrayContaining(['Hello? Anyone?', 'Ana here.']));
  });
});

describe('assistant webhook: connection refused', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('turns an endpoint nobody listens on into one system message', async () => {
    h = await startHarness({
      env: webhookEnv(`http://127.0.0.1:${await closedPort()}/hook`),
    });
    const { v, socket } = await visitorTab(h);
    await say(socket, v.dialogId, 'Is anyone there?');
    expect(await socket.nextOf('message')).toMatchObject({ sender: 'system', seq: 2 });
    await idle(h);
    expect(failuresOf(h, v.dialogId)).toEqual(['network']);
    await quiet();
    expect(await storedSenders(h, v.dialogId)).toEqual(['visitor', 'system']);
  });
});

describe('assistant webhook: per-site rate (POSTERN_ASSISTANT_SITE_RATE)', () => {
  let h: Harness | undefined;
  let hook: WebhookServer | undefined;
  afterEach(async () => {
    await h?.close();
    await hook?.close();
    h = undefined;
    hook = undefined;
  });

  it('answers a busy site’s next dialog with a busy notice and no call; another site is unaffected', async () => {
    hook = await startWebhook((call) => answer(call, `Hello from ${call.body?.site_id}`));
    h = await startHarness({ env: webhookEnv(hook.url, { POSTERN_ASSISTANT_SITE_RATE: '1' }) });
    const busy = await h.siteToken({ siteId: 'site_busy' });
    const calm = await h.siteToken({ siteId: 'site_calm' });

    const a1 = await visitorTab(h, busy);
    await say(a1.socket, a1.v.dialogId, 'First!');
    expect(await a1.socket.nextOf('message')).toMatchObject({
      sender: 'assistant',
      text: 'Hello from site_busy',
    });

    const a2 = await visitorTab(h, busy);
    await say(a2.socket, a2.v.dialogId, 'Second, same minute');
    const notice = await a2.socket.nextOf('message');
    expect(notice).toMatchObject({ sender: 'system', seq: 2 });
    expect(notice['text']).toMatch(/busy/i);
    await idle(h);
    expect(hook.callsFor(a2.v.dialogId)).toHaveLength(0);
    expect(failuresOf(h, a2.v.dialogId)).toEqual(['rate_limited']);

    const b = await visitorTab(h, calm);
    await say(b.socket, b.v.dialogId, 'Hello');
    expect(await b.socket.nextOf('message')).toMatchObject({
      sender: 'assistant',
      text: 'Hello from site_calm',
    });
    expect(hook.callsFor(b.v.dialogId)).toHaveLength(1);
    expect(hook.calls).toHaveLength(2);
  });
});

describe('assistant webhook: concurrency cap', () => {
  let h: Harness | undefined;
  let hook: WebhookServer | undefined;
  afterEach(async () => {
    await h?.close();
    await hook?.close();
    h = undefined;
    hook = undefined;
  });

  it('keeps at most 32 calls open at the webhook when 40 dialogs ask at once, and answers all 40', async () => {
    const DIALOGS = 40;
    const CAP = 32;
    hook = await startWebhook(hold);
    h = await startHarness({
      env: webhookEnv(hook.url, { POSTERN_MAX_SOCKETS_PER_IP: String(DIALOGS * 2) }),
    });
    const runner = runnerOf(h);
    const site = await h.siteToken();
    const tabs = await Promise.all(
      Array.from({ length: DIALOGS }, () => visitorTab(h as Harness, site)),
    );

    for (const { v, socket } of tabs) {
      socket.send({
        type: 'send',
        dialog_id: v.dialogId,
        client_msg_id: randomUUID(),
        text: `Question from ${v.dialogId}`,
      });
    }
    await Promise.all(tabs.map(({ socket }) => socket.nextOf('ack', 10_000)));
    await waitFor(
      () => hook?.open() === CAP && runner.metrics.queued === DIALOGS - CAP,
      `${CAP} open calls and ${DIALOGS - CAP} queued`,
      10_000,
    );
    await quiet();
    expect(hook.calls).toHaveLength(CAP);
    expect(hook.maxOpen()).toBe(CAP);

    const reply = (call: HookCall) => answer(call, `Answer for ${call.body?.dialog_id}`);
    hook.behave(reply);
    for (const call of [...hook.calls]) reply(call);

    for (const { v, socket } of tabs) {
      expect(await socket.nextOf('message')).toMatchObject({ sender: 'visitor', seq: 1 });
      expect(await socket.nextOf('message', 5000)).toMatchObject({
        sender: 'assistant',
        seq: 2,
        text: `Answer for ${v.dialogId}`,
      });
    }
    expect(hook.calls).toHaveLength(DIALOGS);
    expect(hook.maxOpen()).toBe(CAP);
  });
});
