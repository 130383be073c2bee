/**
 * Operators (SPEC §4 "Operators", `dialog`, `subscribe`): the snapshot after `ready` and the live
 * feed of dialog changes, both limited to the operator's `sites`; subscriptions to one dialog's
 * traffic, their limit and their end; and an in-band refresh that narrows the scope.
 */
import { createHash, randomUUID } from 'node:crypto';
import { DIALOG_SNAPSHOT_MAX } from '@postern/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { closeOpened, type Frame, type WatchedSocket } from '../support/ws-client.js';
import {
  barrier,
  CHAT_TEST_ENV,
  DIALOG_FRAME_KEYS,
  dialogFrames,
  frameWhere,
  readyOperator,
  refusal,
  say,
  since,
  visitorOn,
} from './operator-clients.js';

const MAX_SUBSCRIPTIONS = 2;

/** One server for the file; every test works on sites of its own, so tests never see each other. */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    env: {
      ...CHAT_TEST_ENV,
      // No assistant here: its replies would move `last_seq` at moments the tests do not control.
      POSTERN_ASSISTANT: 'none',
      POSTERN_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS),
    },
  });
});
afterEach(() => closeOpened(h));
afterAll(() => h?.close());

let sites = 0;
/** A site id no other test uses. */
const freshSite = () => `site_ops_${++sites}_${randomUUID().slice(0, 8)}`;

/** The snapshot: the frames between `ready` and the answer to a barrier sent right after it. */
async function snapshotOf(operator: WatchedSocket): Promise<Frame[]> {
  await barrier(operator);
  const frames = since(operator, 1);
  return frames.slice(0, -1);
}

function expectDialogShape(frame: Frame | undefined): void {
  expect(Object.keys(frame ?? {}).sort()).toEqual(DIALOG_FRAME_KEYS);
}

/** Waits for the `dialog` change of `dialogId` whose `last_seq` is `seq`. */
function changeAt(operator: WatchedSocket, dialogId: string, seq: number, mark = 0) {
  return frameWhere(
    operator,
    (f) => f['type'] === 'dialog' && f['dialog_id'] === dialogId && f['last_seq'] === seq,
    `the dialog change of ${dialogId} at seq ${seq}`,
    mark,
  );
}

describe('operator snapshot', () => {
  it('sends one dialog frame per open dialog with messages in scope, metadata only', async () => {
    const site = freshSite();
    const other = freshSite();
    const talkative = await visitorOn(h, site);
    await say(talkative.socket, talkative.dialogId, 'first');
    await say(talkative.socket, talkative.dialogId, 'second');
    const brief = await visitorOn(h, site);
    await say(brief.socket, brief.dialogId, 'only one');
    const silent = await visitorOn(h, site);
    const closing = await visitorOn(h, site);
    await say(closing.socket, closing.dialogId, 'about to be closed');
    const elsewhere = await visitorOn(h, other);
    await say(elsewhere.socket, elsewhere.dialogId, 'another site');
    const holder = await readyOperator(h, { operatorId: 'op_closer', sites: [site] });
    holder.send({ type: 'handoff', dialog_id: closing.dialogId, action: 'take' });
    holder.send({ type: 'handoff', dialog_id: closing.dialogId, action: 'close' });
    await closing.socket.nextOf('handoff');
    expect(await closing.socket.nextOf('handoff')).toMatchObject({ state: 'closed' });

    const scoped = await readyOperator(h, { sites: [site] });
    const snapshot = await snapshotOf(scoped);
    expect(snapshot.every((f) => f['type'] === 'dialog')).toBe(true);
    expect(snapshot.map((f) => f['dialog_id']).sort()).toEqual(
      [talkative.dialogId, brief.dialogId].sort(),
    );
    for (const frame of snapshot) expectDialogShape(frame);
    const first = snapshot.find((f) => f['dialog_id'] === talkative.dialogId);
    expect(first).toMatchObject({
      site_id: site,
      state: 'open',
      handoff: { state: 'assistant' },
      last_seq: 2,
    });
    expect(first?.['created_at']).toEqual(expect.any(Number));
    expect(first?.['last_message_at']).toBeGreaterThanOrEqual(Number(first?.['created_at']));
    expect(snapshot.find((f) => f['dialog_id'] === brief.dialogId)).toMatchObject({
      last_seq: 1,
    });
    expect(JSON.stringify(snapshot)).not.toMatch(/first|second|only one/);

    // All sites: the other site's dialog too; never an empty or a closed one.
    const everywhere = await readyOperator(h, { sites: '*' });
    const all = (await snapshotOf(everywhere)).map((f) => f['dialog_id']);
    expect(all).toEqual(
      expect.arrayContaining([talkative.dialogId, brief.dialogId, elsewhere.dialogId]),
    );
    expect(all).not.toContain(silent.dialogId);
    expect(all).not.toContain(closing.dialogId);
    expect(new Set(all).size).toBe(all.length);
  });

  it('stops at 500 dialog frames and then sends dialogs_truncated', async () => {
    // A server of its own, filled through the store: 501 sessions over the API would be slow.
    const own = await startHarness({ env: { ...CHAT_TEST_ENV, POSTERN_ASSISTANT: 'none' } });
    try {
      const site = 'site_bulk';
      const t0 = Date.now() - 60_000;
      const fill = async (from: number, to: number) => {
        for (let i = from; i < to; i++) {
          await own.store.createSession({
            visitorId: `bulk-visitor-${i}`,
            siteId: site,
            origin: 'http://shop.example:8080',
            familyId: `bulk-family-${i}`,
            tokenHash: new Uint8Array(createHash('sha256').update(`bulk-${i}`).digest()),
            dialogId: `bulk-dialog-${i}`,
            now: t0,
          });
        }
        await own.store.appendMessages(
          Array.from({ length: to - from }, (_, k) => ({
            dialogId: `bulk-dialog-${from + k}`,
            id: `bulk-message-${from + k}`,
            clientMsgId: randomUUID(),
            sender: 'visitor' as const,
            senderId: `bulk-visitor-${from + k}`,
            text: 'bulk',
            ts: t0 + from + k,
          })),
        );
      };
      await fill(0, DIALOG_SNAPSHOT_MAX);

      // Exactly the cap: every dialog, and no truncation notice.
      const atCap = await snapshotOf(await readyOperator(own, { sites: [site] }));
      expect(atCap).toHaveLength(DIALOG_SNAPSHOT_MAX);
      expect(atCap.every((f) => f['type'] === 'dialog')).toBe(true);

      await fill(DIALOG_SNAPSHOT_MAX, DIALOG_SNAPSHOT_MAX + 1);
      const over = await snapshotOf(await readyOperator(own, { sites: [site] }));
      expect(over).toHaveLength(DIALOG_SNAPSHOT_MAX + 1);
      const dialogs = over.slice(0, DIALOG_SNAPSHOT_MAX);
      expect(dialogs.every((f) => f['type'] === 'dialog' && f['site_id'] === site)).toBe(true);
      expect(new Set(dialogs.map((f) => f['dialog_id'])).size).toBe(DIALOG_SNAPSHOT_MAX);
      expect(over[DIALOG_SNAPSHOT_MAX]).toEqual({ type: 'dialogs_truncated' });
    } finally {
      await own.close();
    }
  });
});

describe('operator feed', () => {
  it('announces a dialog at its first message, then every change, close included', async () => {
    const site = freshSite();
    const operator = await readyOperator(h, { sites: [site] });
    await barrier(operator);
    const mark = operator.frames.length;
    const visitor = await visitorOn(h, site);
    await say(visitor.socket, visitor.dialogId, 'hello');
    const first = await changeAt(operator, visitor.dialogId, 1, mark);
    // Nothing at session creation or socket connect: the first frame is the first message's.
    expect(dialogFrames(operator, visitor.dialogId, mark)[0]).toBe(first);
    expectDialogShape(first);
    expect(first).toMatchObject({
      site_id: site,
      state: 'open',
      handoff: { state: 'assistant' },
    });

    await say(visitor.socket, visitor.dialogId, 'again');
    const second = await changeAt(operator, visitor.dialogId, 2, mark);
    expect(second['last_message_at']).toBeGreaterThanOrEqual(Number(first['last_message_at']));
    expect(second['created_at']).toBe(first['created_at']);

    visitor.socket.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'request' });
    expect(await changeAt(operator, visitor.dialogId, 3, mark)).toMatchObject({
      handoff: { state: 'requested' },
      state: 'open',
    });
    operator.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'take' });
    expect(await changeAt(operator, visitor.dialogId, 4, mark)).toMatchObject({
      handoff: { state: 'operator', operator: { name: 'Ana' } },
    });
    operator.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'close' });
    const closed = await changeAt(operator, visitor.dialogId, 5, mark);
    expect(closed).toMatchObject({ state: 'closed', handoff: { state: 'closed' } });
    for (const frame of dialogFrames(operator, visitor.dialogId, mark)) expectDialogShape(frame);
    expect(JSON.stringify(since(operator, mark))).not.toMatch(/hello|again/);
  });

  it('never sends an operator the dialogs of a site outside its scope', async () => {
    const mine = freshSite();
    const theirs = freshSite();
    const scoped = await readyOperator(h, { sites: [mine] });
    const everywhere = await readyOperator(h, { operatorId: 'op_all', sites: '*' });
    await barrier(scoped);
    const mark = scoped.frames.length;

    const outsider = await visitorOn(h, theirs);
    await say(outsider.socket, outsider.dialogId, 'not for you');
    outsider.socket.send({ type: 'handoff', dialog_id: outsider.dialogId, action: 'request' });
    // The all-sites operator saw both changes, so the feed was offered them.
    await changeAt(everywhere, outsider.dialogId, 2);
    const insider = await visitorOn(h, mine);
    await say(insider.socket, insider.dialogId, 'for you');
    await changeAt(scoped, insider.dialogId, 1, mark);
    await barrier(scoped);
    expect(dialogFrames(scoped, outsider.dialogId)).toEqual([]);
    expect(JSON.stringify(scoped.frames)).not.toContain(outsider.dialogId);
  });
});

describe('subscribe', () => {
  it("delivers the dialog's messages, typing and handoff changes", async () => {
    const site = freshSite();
    const visitor = await visitorOn(h, site);
    await say(visitor.socket, visitor.dialogId, 'before');
    const operator = await readyOperator(h, { sites: [site] });
    operator.send({ type: 'subscribe', dialog_id: visitor.dialogId });
    await barrier(operator);
    const mark = operator.frames.length;

    const seq = await say(visitor.socket, visitor.dialogId, 'after');
    const message = await frameWhere(operator, (f) => f['type'] === 'message', 'message', mark);
    expect(message).toMatchObject({
      dialog_id: visitor.dialogId,
      seq,
      sender: 'visitor',
      text: 'after',
    });
    visitor.socket.send({ type: 'typing', dialog_id: visitor.dialogId, state: 'start' });
    expect(await frameWhere(operator, (f) => f['type'] === 'typing', 'typing', mark)).toEqual({
      type: 'typing',
      dialog_id: visitor.dialogId,
      sender: 'visitor',
      state: 'start',
    });
    visitor.socket.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'request' });
    expect(await frameWhere(operator, (f) => f['type'] === 'handoff', 'handoff', mark)).toEqual({
      type: 'handoff',
      dialog_id: visitor.dialogId,
      state: 'requested',
    });
    const messages = since(operator, mark).filter((f) => f['type'] === 'message');
    expect(messages.map((f) => [f['seq'], f['sender']])).toEqual([
      [seq, 'visitor'],
      [seq + 1, 'system'],
    ]);
  });

  it('answers not_found, with the dialog id as ref, for a dialog out of scope or missing', async () => {
    const mine = freshSite();
    const outsider = await visitorOn(h, freshSite());
    await say(outsider.socket, outsider.dialogId, 'hidden');
    const operator = await readyOperator(h, { sites: [mine] });
    const subscribe = (dialogId: string) =>
      refusal(operator, { type: 'subscribe', dialog_id: dialogId }, dialogId);

    expect(await subscribe(outsider.dialogId)).toEqual({
      type: 'error',
      code: 'not_found',
      ref: outsider.dialogId,
    });
    const missing = randomUUID();
    expect(await subscribe(missing)).toEqual({ type: 'error', code: 'not_found', ref: missing });

    // The refused subscription delivers nothing.
    await say(outsider.socket, outsider.dialogId, 'still hidden');
    await barrier(operator);
    expect(JSON.stringify(operator.frames)).not.toMatch(/hidden/);
  });

  it('refuses a subscription beyond POSTERN_MAX_SUBSCRIPTIONS with limit', async () => {
    const site = freshSite();
    const visitors = [];
    for (let i = 0; i < MAX_SUBSCRIPTIONS + 1; i++) {
      const visitor = await visitorOn(h, site);
      await say(visitor.socket, visitor.dialogId, `visitor ${i}`);
      visitors.push(visitor);
    }
    const [first, second, third] = visitors;
    if (!first || !second || !third) throw new Error('three visitors expected');
    const operator = await readyOperator(h, { sites: [site] });
    operator.send({ type: 'subscribe', dialog_id: first.dialogId });
    operator.send({ type: 'subscribe', dialog_id: second.dialogId });
    expect(
      await refusal(operator, { type: 'subscribe', dialog_id: third.dialogId }, third.dialogId),
    ).toEqual({ type: 'error', code: 'limit', ref: third.dialogId });
    expect(since(operator, 1).filter((f) => f['type'] === 'error')).toHaveLength(1);

    // Unsubscribing frees the slot.
    operator.send({ type: 'unsubscribe', dialog_id: first.dialogId });
    operator.send({ type: 'subscribe', dialog_id: third.dialogId });
    await barrier(operator);
    const mark = operator.frames.length;
    const seq = await say(third.socket, third.dialogId, 'now you hear me');
    expect(
      await frameWhere(operator, (f) => f['type'] === 'message', 'a message', mark),
    ).toMatchObject({ dialog_id: third.dialogId, seq });
  });

  it('stops delivery after unsubscribe', async () => {
    const site = freshSite();
    const visitor = await visitorOn(h, site);
    await say(visitor.socket, visitor.dialogId, 'hello');
    const operator = await readyOperator(h, { sites: [site] });
    operator.send({ type: 'subscribe', dialog_id: visitor.dialogId });
    await barrier(operator);
    await say(visitor.socket, visitor.dialogId, 'heard');
    await frameWhere(operator, (f) => f['text'] === 'heard', 'the subscribed message');

    operator.send({ type: 'unsubscribe', dialog_id: visitor.dialogId });
    await barrier(operator);
    const mark = operator.frames.length;
    await say(visitor.socket, visitor.dialogId, 'unheard');
    visitor.socket.send({ type: 'typing', dialog_id: visitor.dialogId, state: 'start' });
    // The visitor's own copy proves the dialog's fan-out ran; the barrier flushes the operator.
    await frameWhere(visitor.socket, (f) => f['text'] === 'unheard', 'its own copy');
    await barrier(operator);
    expect(
      since(operator, mark).filter((f) => f['type'] === 'message' || f['type'] === 'typing'),
    ).toEqual([]);
  });

  it('refuses subscribe and unsubscribe from a visitor with forbidden', async () => {
    const visitor = await visitorOn(h, freshSite());
    for (const type of ['subscribe', 'unsubscribe']) {
      expect(
        await refusal(visitor.socket, { type, dialog_id: visitor.dialogId }, visitor.dialogId),
      ).toEqual({ type: 'error', code: 'forbidden', ref: visitor.dialogId });
    }
    expect(visitor.socket.isClosed).toBe(false);
  });
});

describe('operator token refresh', () => {
  it('narrowed sites end subscriptions and feed changes outside the new scope', async () => {
    const kept = freshSite();
    const dropped = freshSite();
    const stays = await visitorOn(h, kept);
    const goes = await visitorOn(h, dropped);
    await say(stays.socket, stays.dialogId, 'kept 1');
    await say(goes.socket, goes.dialogId, 'dropped 1');
    const operatorId = `op_refresh_${randomUUID().slice(0, 8)}`;
    const operator = await readyOperator(h, {
      operatorId,
      sites: [kept, dropped],
      expiresInS: 600,
    });
    operator.send({ type: 'subscribe', dialog_id: stays.dialogId });
    operator.send({ type: 'subscribe', dialog_id: goes.dialogId });
    await barrier(operator);
    // Both are delivered before the refresh.
    await say(goes.socket, goes.dialogId, 'dropped 2');
    await frameWhere(operator, (f) => f['text'] === 'dropped 2', 'the message before refresh');
    await changeAt(operator, goes.dialogId, 2);

    operator.send({
      type: 'refresh',
      token: await h.operatorToken({ operatorId, sites: [kept], expiresInS: 1200 }),
    });
    await operator.nextOf('refreshed');
    const mark = operator.frames.length;
    const watcher = await readyOperator(h, { operatorId: 'op_watcher', sites: '*' });

    await say(goes.socket, goes.dialogId, 'dropped 3');
    goes.socket.send({ type: 'typing', dialog_id: goes.dialogId, state: 'start' });
    await changeAt(watcher, goes.dialogId, 3);
    // The kept dialog still flows, message and feed change alike.
    await say(stays.socket, stays.dialogId, 'kept 2');
    await frameWhere(operator, (f) => f['text'] === 'kept 2', 'the kept message', mark);
    await changeAt(operator, stays.dialogId, 2, mark);
    await barrier(operator);
    expect(
      since(operator, mark).filter(
        (f) => f['dialog_id'] === goes.dialogId && f['type'] !== 'error',
      ),
    ).toEqual([]);
    expect(
      await refusal(operator, { type: 'subscribe', dialog_id: goes.dialogId }, goes.dialogId),
    ).toMatchObject({ code: 'not_found' });
  });
});
