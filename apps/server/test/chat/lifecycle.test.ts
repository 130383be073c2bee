/**
 * The dialog lifecycle (SPEC §3 "Dialog lifecycle"): one open dialog per visitor, shown to
 * operators only from its first message, closed after POSTERN_DIALOG_IDLE_CLOSE_MS without
 * messages (sockets and operators told), a new dialog for the next session, and the 24 h purge of
 * visitors and dialogs that never held a message. Each test runs its own server on a clock it
 * moves by hand, and calls the sweeper itself rather than waiting for its timer.
 */
import { EMPTY_SESSION_PURGE_MS } from '@postern/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestClock } from '../http/api-client.js';
import {
  appDialogs,
  appHistory,
  frameMatching,
  readyOperator,
  sendMessages,
  shapeOf,
} from '../support/dialog-traffic.js';
import { type Harness, SHOP, startHarness } from '../support/harness.js';
import {
  closeOpened,
  type Frame,
  newVisitor,
  readyVisitor,
  SHARED_SERVER_ENV,
  type VisitorSession,
  type WatchedSocket,
} from '../support/ws-client.js';

const MISSING = 'dlg_missing_0123456789abcdef';

let h: Harness | undefined;
afterEach(async () => {
  if (h) {
    await closeOpened(h);
    await h.close();
  }
  h = undefined;
});

async function start(env: Record<string, string> = {}) {
  const clock = createTestClock();
  const harness = await startHarness({
    env: {
      ...SHARED_SERVER_ENV,
      POSTERN_ASSISTANT: 'none',
      POSTERN_LIMITER_MAX_KEYS: '1000',
      ...env,
    },
    now: clock.now,
  });
  h = harness;
  return { h: harness, clock };
}

/**
 * Waits until every frame the server sent `socket` before this call has arrived: frames queued
 * behind an operator's `auth` (its snapshot) or sent before a sweep returned come first, and a
 * subscribe to a missing dialog is answered after them.
 */
async function settled(socket: WatchedSocket): Promise<void> {
  const before = socket.frames.length;
  socket.send({ type: 'subscribe', dialog_id: MISSING });
  const answer = (f: Frame) => f['type'] === 'error' && f['ref'] === MISSING;
  await frameMatching(socket, (f) => socket.frames.indexOf(f) >= before && answer(f), 'answer');
}

/** A widget socket's round trip: a replay of nothing, answered after everything sent before. */
async function settledVisitor(socket: WatchedSocket, visitor: VisitorSession, afterSeq: number) {
  const before = socket.frames.length;
  socket.send({ type: 'resume', dialog_id: visitor.dialogId, after_seq: afterSeq });
  await frameMatching(
    socket,
    (f) => socket.frames.indexOf(f) >= before && f['type'] === 'resumed',
    'resumed',
  );
}

function about(socket: WatchedSocket, dialogId: string): Frame[] {
  return socket.frames.filter((frame) => frame['dialog_id'] === dialogId);
}

function listed(res: { body: Record<string, unknown> }): unknown[] {
  return (res.body['dialogs'] as Frame[]).map((dialog) => dialog['dialog_id']);
}

describe('dialog lifecycle > one open dialog per visitor', () => {
  it('gives a refresh and every socket of the visitor the same open dialog', async () => {
    const { h } = await start();
    const visitor = await newVisitor(h);
    const refreshed = await h.session(visitor.siteToken, SHOP, {
      refresh_token: visitor.refreshToken,
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toMatchObject({
      visitor_id: visitor.visitorId,
      dialog_id: visitor.dialogId,
    });

    const first = await readyVisitor(h, visitor.visitorToken);
    const second = await readyVisitor(h, String(refreshed.body['visitor_token']));
    expect(first.ready['dialog_id']).toBe(visitor.dialogId);
    expect(second.ready['dialog_id']).toBe(visitor.dialogId);
    // One dialog, so both tabs see what either says.
    const [sent] = await sendMessages(first.socket, visitor.dialogId, 1);
    expect(await second.socket.nextOf('message')).toEqual(sent);

    const again = await h.session(visitor.siteToken, SHOP, {
      refresh_token: refreshed.body['refresh_token'],
    });
    expect(again.body['dialog_id']).toBe(visitor.dialogId);
  });
});

describe('dialog lifecycle > operators', () => {
  it('see a dialog only from its first message, in the feed and in the list', async () => {
    const { h } = await start();
    const token = await h.operatorToken();
    const watching = await readyOperator(h, token);
    await settled(watching);

    const visitor = await newVisitor(h);
    const { socket } = await readyVisitor(h, visitor.visitorToken);
    expect(listed(await appDialogs(h, token))).not.toContain(visitor.dialogId);
    const late = await readyOperator(h, token);
    await settled(late);
    expect(about(late, visitor.dialogId)).toEqual([]);

    await sendMessages(socket, visitor.dialogId, 1);
    for (const operator of [watching, late]) {
      await frameMatching(operator, (f) => f['dialog_id'] === visitor.dialogId, 'the dialog');
      // The first word about the dialog is its first message: nothing came before it.
      expect(about(operator, visitor.dialogId)[0]).toMatchObject({
        type: 'dialog',
        state: 'open',
        last_seq: 1,
      });
    }
    expect(listed(await appDialogs(h, token))).toContain(visitor.dialogId);
  });
});

describe('dialog lifecycle > idle close', () => {
  const IDLE_MS = 1000;

  it('closes a dialog idle for POSTERN_DIALOG_IDLE_CLOSE_MS, telling its sockets and operators', async () => {
    const { h, clock } = await start({ POSTERN_DIALOG_IDLE_CLOSE_MS: String(IDLE_MS) });
    const visitor = await newVisitor(h);
    const { socket } = await readyVisitor(h, visitor.visitorToken);
    await sendMessages(socket, visitor.dialogId, 1);
    const token = await h.operatorToken();
    const operator = await readyOperator(h, token);
    await settled(operator);

    clock.advance(IDLE_MS - 1);
    await h.server.chat.sweep();
    await settledVisitor(socket, visitor, 1);
    expect(listed(await appDialogs(h, token))).toContain(visitor.dialogId);
    expect(shapeOf(socket.frames)).toEqual(['ready', 'ack', 'message 1', 'resumed']);

    clock.advance(2);
    await h.server.chat.sweep();
    await frameMatching(socket, (f) => f['type'] === 'handoff', 'the closing handoff');
    const closing = socket.frames.slice(4);
    expect(shapeOf(closing)).toEqual(['message 2', 'handoff']);
    expect(closing[0]).toMatchObject({ dialog_id: visitor.dialogId, sender: 'system' });
    expect(closing[1]).toEqual({ type: 'handoff', dialog_id: visitor.dialogId, state: 'closed' });
    const change = await frameMatching(
      operator,
      (f) => f['dialog_id'] === visitor.dialogId && f['state'] === 'closed',
      'the closed dialog',
    );
    expect(change).toMatchObject({
      type: 'dialog',
      handoff: { state: 'closed' },
      last_seq: 2,
    });
    expect(listed(await appDialogs(h, token))).not.toContain(visitor.dialogId);

    // The closed dialog takes no more messages; the next session opens a new one.
    socket.send({
      type: 'send',
      dialog_id: visitor.dialogId,
      client_msg_id: '00000000-0000-4000-8000-000000000001',
      text: 'anyone?',
    });
    expect(await socket.nextOf('error')).toEqual({
      type: 'error',
      code: 'dialog_closed',
      ref: '00000000-0000-4000-8000-000000000001',
    });
    const next = await h.session(visitor.siteToken, SHOP, { refresh_token: visitor.refreshToken });
    expect(next.body['visitor_id']).toBe(visitor.visitorId);
    const dialogId = String(next.body['dialog_id']);
    expect(dialogId).not.toBe(visitor.dialogId);
    const fresh = await readyVisitor(h, String(next.body['visitor_token']));
    expect(fresh.ready).toMatchObject({ dialog_id: dialogId, last_seq: 0 });
    expect(fresh.ready['handoff']).toEqual({ state: 'assistant' });
  });

  it('closes an empty dialog without a message, and never shows it to operators', async () => {
    const { h, clock } = await start({ POSTERN_DIALOG_IDLE_CLOSE_MS: String(IDLE_MS) });
    const empty = await newVisitor(h);
    const emptySocket = (await readyVisitor(h, empty.visitorToken)).socket;
    const spoken = await newVisitor(h);
    const spokenSocket = (await readyVisitor(h, spoken.visitorToken)).socket;
    await sendMessages(spokenSocket, spoken.dialogId, 1);
    const operator = await readyOperator(h, await h.operatorToken());
    await settled(operator);

    clock.advance(IDLE_MS + 1);
    await h.server.chat.sweep();
    expect(await emptySocket.nextOf('handoff')).toEqual({
      type: 'handoff',
      dialog_id: empty.dialogId,
      state: 'closed',
    });
    expect(shapeOf(emptySocket.frames)).toEqual(['ready', 'handoff']);
    await frameMatching(
      operator,
      (f) => f['dialog_id'] === spoken.dialogId && f['state'] === 'closed',
      'the closed dialog with a message',
    );
    await settled(operator);
    expect(about(operator, empty.dialogId)).toEqual([]);
  });
});

describe('dialog lifecycle > purge', () => {
  it('deletes visitors and dialogs without messages after 24 h, keeps those with messages', async () => {
    const { h, clock } = await start();
    const site = await h.siteToken();
    const silent = await newVisitor(h, site);
    const talker = await newVisitor(h, site);
    const { socket } = await readyVisitor(h, talker.visitorToken);
    const [said] = await sendMessages(socket, talker.dialogId, 1);
    await closeOpened(h);

    clock.advance(EMPTY_SESSION_PURGE_MS - 1000);
    await h.server.chat.sweep();
    // Not yet: the silent visitor still refreshes into its (still empty) dialog.
    const early = await h.session(site.token, SHOP, { refresh_token: silent.refreshToken });
    expect(early.status).toBe(200);
    expect(early.body).toMatchObject({ visitor_id: silent.visitorId, dialog_id: silent.dialogId });

    clock.advance(2000);
    await h.server.chat.sweep();
    const gone = await h.session(site.token, SHOP, { refresh_token: early.body['refresh_token'] });
    expect({ status: gone.status, body: gone.body }).toEqual({
      status: 401,
      body: { error: 'refresh_invalid' },
    });
    // Minted now: an operator token lives an hour at most, and the clock moved a day.
    const operator = await h.operatorToken();
    const dialog = await appHistory(h, operator, silent.dialogId);
    expect(dialog.status).toBe(404);

    const kept = await h.session(site.token, SHOP, { refresh_token: talker.refreshToken });
    expect(kept.status).toBe(200);
    expect(kept.body['visitor_id']).toBe(talker.visitorId);
    const history = await appHistory(h, operator, talker.dialogId);
    expect(history.status).toBe(200);
    expect((history.body['messages'] as Frame[])[0]).toMatchObject({
      seq: 1,
      text: said?.['text'],
    });
  });
});
