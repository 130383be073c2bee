/**
 * `ready` and resume (SPEC §4 "Resume", §3 "Dialog lifecycle"): what `ready` says about the stored
 * dialog, replay at `auth` and by the in-band `resume` frame, the `gap` hand-over to the history
 * endpoint, live messages held back until `resumed`, and the refusals (4004, `not_found`,
 * `rate_limited`, `dialog_closed`). Real sockets against one server over a gated store, on a clock
 * the tests move by hand.
 */
import { randomUUID } from 'node:crypto';
import { RESUME_MIN_INTERVAL_MS } from '@postern/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { createTestClock } from '../http/api-client.js';
import {
  frameMatching,
  messagesOf,
  readyOperator,
  resumeAtAuth,
  sendMessages,
  shapeOf,
  widgetHistory,
  withoutType,
} from '../support/dialog-traffic.js';
import { type GatedStore, gateStore, type Harness, startHarness } from '../support/harness.js';
import {
  closeOpened,
  type Frame,
  newVisitor,
  readyVisitor,
  SHARED_SERVER_ENV,
  type VisitorSession,
  type WatchedSocket,
  waitFor,
} from '../support/ws-client.js';

/** Small, so that a gap needs only a handful of messages. */
const RESUME_MAX = 5;

const clock = createTestClock();
let h: Harness;
let gate: GatedStore;

beforeAll(async () => {
  gate = gateStore(openSqliteStore({ path: ':memory:' }));
  h = await startHarness({
    env: {
      ...SHARED_SERVER_ENV,
      POSTERN_ASSISTANT: 'none',
      POSTERN_RESUME_MAX: String(RESUME_MAX),
      POSTERN_VISITOR_MSG_RATE: '100000',
      POSTERN_MSG_RATE: '100000',
      POSTERN_LIMITER_MAX_KEYS: '1000',
    },
    now: clock.now,
    store: gate.store,
  });
});
afterEach(async () => {
  gate.release('listMessages');
  await closeOpened(h);
});
afterAll(() => h?.close());

/** A visitor whose dialog holds `count` messages, with the socket that sent them. */
async function visitorWith(count: number): Promise<{
  visitor: VisitorSession;
  socket: WatchedSocket;
  sent: Frame[];
}> {
  const visitor = await newVisitor(h);
  const { socket } = await readyVisitor(h, visitor.visitorToken);
  const sent = count > 0 ? await sendMessages(socket, visitor.dialogId, count) : [];
  return { visitor, socket, sent };
}

/** A socket's frames from `ready` up to and including `resumed`. */
async function untilResumed(socket: WatchedSocket): Promise<Frame[]> {
  await socket.nextOf('resumed');
  const end = socket.frames.findIndex((frame) => frame['type'] === 'resumed');
  return socket.frames.slice(0, end + 1);
}

describe('ready', () => {
  it('names the dialog with its current last_seq and handoff state', async () => {
    const fresh = await newVisitor(h);
    const first = await readyVisitor(h, fresh.visitorToken);
    expect(first.ready).toMatchObject({ dialog_id: fresh.dialogId, last_seq: 0 });
    expect(first.ready['handoff']).toEqual({ state: 'assistant' });

    const { visitor } = await visitorWith(3);
    const again = await readyVisitor(h, visitor.visitorToken);
    expect(again.ready).toMatchObject({
      visitor_id: visitor.visitorId,
      dialog_id: visitor.dialogId,
      last_seq: 3,
    });
    expect(again.ready['handoff']).toEqual({ state: 'assistant' });
  });

  it('carries the requested state, then the holder’s name once an operator took the dialog', async () => {
    const { visitor, socket } = await visitorWith(1);
    socket.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'request' });
    await frameMatching(socket, (f) => f['type'] === 'handoff', 'handoff requested');
    const requested = await readyVisitor(h, visitor.visitorToken);
    expect(requested.ready['last_seq']).toBe(2);
    expect(requested.ready['handoff']).toEqual({ state: 'requested' });

    const operator = await readyOperator(h, await h.operatorToken({ operatorId: 'op_ready' }));
    operator.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'take' });
    await frameMatching(
      socket,
      (f) => f['type'] === 'handoff' && f['state'] === 'operator',
      'handoff operator',
    );
    const taken = await readyVisitor(h, visitor.visitorToken);
    expect(taken.ready['last_seq']).toBe(3);
    expect(taken.ready['handoff']).toEqual({ state: 'operator', operator: { name: 'Ana' } });
  });
});

describe('resume at auth', () => {
  it('replays after_seq+1 … in order, then resumed without a gap', async () => {
    const { visitor, sent } = await visitorWith(4);
    const socket = await resumeAtAuth(h, visitor.visitorToken, visitor.dialogId, 1);
    const frames = await untilResumed(socket);
    expect(shapeOf(frames)).toEqual(['ready', 'message 2', 'message 3', 'message 4', 'resumed']);
    // The replayed frames are the very messages that were sent, not look-alikes.
    expect(frames.slice(1, 4)).toEqual(sent.slice(1));
    expect(frames.at(-1)).toEqual({
      type: 'resumed',
      dialog_id: visitor.dialogId,
      replayed: 3,
      gap: false,
      head_seq: 4,
    });
  });

  it('replays nothing when the client is up to date', async () => {
    const { visitor } = await visitorWith(2);
    const socket = await resumeAtAuth(h, visitor.visitorToken, visitor.dialogId, 2);
    const frames = await untilResumed(socket);
    expect(shapeOf(frames)).toEqual(['ready', 'resumed']);
    expect(frames[1]).toEqual({
      type: 'resumed',
      dialog_id: visitor.dialogId,
      replayed: 0,
      gap: false,
      head_seq: 2,
    });
  });

  it('replays exactly POSTERN_RESUME_MAX without a gap when that is all there is', async () => {
    const { visitor } = await visitorWith(RESUME_MAX + 2);
    const socket = await resumeAtAuth(h, visitor.visitorToken, visitor.dialogId, 2);
    const frames = await untilResumed(socket);
    expect(frames.filter((f) => f['type'] === 'message').map((f) => f['seq'])).toEqual([
      3, 4, 5, 6, 7,
    ]);
    expect(frames.at(-1)).toEqual({
      type: 'resumed',
      dialog_id: visitor.dialogId,
      replayed: RESUME_MAX,
      gap: false,
      head_seq: RESUME_MAX + 2,
    });
  });

  it('stops at POSTERN_RESUME_MAX with gap, and the history pages the rest up to head_seq', async () => {
    const total = RESUME_MAX * 2 + 2;
    const { visitor, sent } = await visitorWith(total);
    const socket = await resumeAtAuth(h, visitor.visitorToken, visitor.dialogId, 0);
    const frames = await untilResumed(socket);
    const replayed = frames.filter((frame) => frame['type'] === 'message');
    expect(replayed).toEqual(sent.slice(0, RESUME_MAX));
    const resumed = frames.at(-1) as Frame;
    expect(resumed).toEqual({
      type: 'resumed',
      dialog_id: visitor.dialogId,
      replayed: RESUME_MAX,
      gap: true,
      next_after_seq: RESUME_MAX,
      head_seq: total,
    });

    // What a client does with the gap: page the history from next_after_seq up to head_seq.
    const paged: Frame[] = [];
    let after = resumed['next_after_seq'] as number | null;
    for (let pages = 0; after !== null && after < total; pages++) {
      expect(pages).toBeLessThan(total);
      const page = await widgetHistory(
        h,
        visitor.visitorToken,
        visitor.dialogId,
        `after_seq=${after}&limit=3`,
      );
      expect(page.status).toBe(200);
      paged.push(...(page.body['messages'] as Frame[]));
      after = page.body['next_after_seq'] as number | null;
    }
    expect(after).toBeNull();
    expect(paged).toEqual(sent.slice(RESUME_MAX).map(withoutType));
  });

  it('replays handoff changes as system messages, in place', async () => {
    const { visitor, socket: live } = await visitorWith(2);
    const operator = await readyOperator(h, await h.operatorToken({ operatorId: 'op_replay' }));
    operator.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'take' });
    await frameMatching(live, (f) => f['type'] === 'handoff' && f['state'] === 'operator', 'take');
    operator.send({
      type: 'send',
      dialog_id: visitor.dialogId,
      client_msg_id: randomUUID(),
      text: 'Hello, I am Ana.',
    });
    operator.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'release' });
    await frameMatching(
      live,
      (f) => f['type'] === 'handoff' && f['state'] === 'assistant',
      'release',
    );

    const socket = await resumeAtAuth(h, visitor.visitorToken, visitor.dialogId, 2);
    const frames = await untilResumed(socket);
    expect(shapeOf(frames)).toEqual(['ready', 'message 3', 'message 4', 'message 5', 'resumed']);
    expect(frames.slice(1, 4).map((f) => f['sender'])).toEqual(['system', 'operator', 'system']);
    expect(frames[1]?.['text']).toContain('Ana');
    expect(frames[2]?.['text']).toBe('Hello, I am Ana.');
    // The replay is what the live socket saw, frame for frame.
    expect(frames.slice(1, 4)).toEqual(messagesOf(live).slice(2));
  });
});

describe('resume > live messages during the replay', () => {
  /** Starts a resume of `dialogId` after `afterSeq` on a new socket, `via` auth or the frame. */
  async function startResume(
    via: 'auth' | 'frame',
    visitor: VisitorSession,
    afterSeq: number,
  ): Promise<WatchedSocket> {
    if (via === 'auth') return resumeAtAuth(h, visitor.visitorToken, visitor.dialogId, afterSeq);
    const { socket } = await readyVisitor(h, visitor.visitorToken);
    socket.send({ type: 'resume', dialog_id: visitor.dialogId, after_seq: afterSeq });
    return socket;
  }

  it.each(['auth', 'frame'] as const)(
    'holds a message committed after the replay was read until resumed (%s)',
    async (via) => {
      const { visitor, socket: other } = await visitorWith(RESUME_MAX);
      // The replay's read waits until the live message is committed and fanned out.
      gate.hold('listMessages', (dialogId) => dialogId === visitor.dialogId);
      const socket = await startResume(via, visitor, 0);
      await waitFor(() => gate.pending('listMessages') === 1, 'the replay read to start');
      const [live] = await sendMessages(other, visitor.dialogId, 1, 'live');
      expect(live?.['seq']).toBe(RESUME_MAX + 1);
      // Held: nothing but `ready` reached the resuming socket while its replay was pending.
      expect(shapeOf(socket.frames)).toEqual(['ready']);
      gate.release('listMessages');

      // The replay is one page (R messages), so the live message comes after `resumed`, once.
      await frameMatching(socket, (f) => f['seq'] === RESUME_MAX + 1, 'the live message');
      expect(shapeOf(socket.frames)).toEqual([
        'ready',
        'message 1',
        'message 2',
        'message 3',
        'message 4',
        'message 5',
        'resumed',
        'message 6',
      ]);
      expect(socket.frames.find((f) => f['type'] === 'resumed')).toMatchObject({
        replayed: RESUME_MAX,
        gap: false,
        head_seq: RESUME_MAX,
      });
      expect(socket.frames.at(-1)).toEqual(live);
    },
  );

  it.each(['auth', 'frame'] as const)(
    'sends a message committed before the replay was read once, in the replay (%s)',
    async (via) => {
      const { visitor, socket: other } = await visitorWith(2);
      gate.hold('listMessages', (dialogId) => dialogId === visitor.dialogId);
      const socket = await startResume(via, visitor, 0);
      await waitFor(() => gate.pending('listMessages') === 1, 'the replay read to start');
      await sendMessages(other, visitor.dialogId, 1, 'live');
      expect(shapeOf(socket.frames)).toEqual(['ready']);
      gate.release('listMessages');

      const frames = await untilResumed(socket);
      expect(shapeOf(frames)).toEqual(['ready', 'message 1', 'message 2', 'message 3', 'resumed']);
      expect(frames.at(-1)).toMatchObject({ replayed: 3, gap: false, head_seq: 3 });
      // A later message proves the held copy of 3 was dropped, not merely late.
      await sendMessages(other, visitor.dialogId, 1, 'later');
      await frameMatching(socket, (f) => f['seq'] === 4, 'message 4');
      expect(messagesOf(socket).map((f) => f['seq'])).toEqual([1, 2, 3, 4]);
    },
  );
});

describe('resume frame', () => {
  it('works once per 5 s per socket; a second is rate_limited with the dialog as ref', async () => {
    const { visitor } = await visitorWith(2);
    const { socket } = await readyVisitor(h, visitor.visitorToken);
    const resume = { type: 'resume', dialog_id: visitor.dialogId, after_seq: 0 };

    socket.send(resume);
    expect(await socket.nextOf('resumed')).toMatchObject({ replayed: 2, head_seq: 2 });
    socket.send(resume);
    expect(await socket.next()).toEqual({
      type: 'error',
      code: 'rate_limited',
      ref: visitor.dialogId,
    });

    clock.advance(RESUME_MIN_INTERVAL_MS - 1);
    socket.send(resume);
    expect(await socket.next()).toMatchObject({ type: 'error', code: 'rate_limited' });

    clock.advance(1);
    socket.send(resume);
    expect(shapeOf([await socket.next(), await socket.next(), await socket.next()])).toEqual([
      'message 1',
      'message 2',
      'resumed',
    ]);
  });

  it('counts a resume at auth: the first frame right after it is rate_limited', async () => {
    const { visitor } = await visitorWith(1);
    const socket = await resumeAtAuth(h, visitor.visitorToken, visitor.dialogId, 0);
    await untilResumed(socket);
    socket.send({ type: 'resume', dialog_id: visitor.dialogId, after_seq: 0 });
    expect(await socket.next()).toEqual({
      type: 'error',
      code: 'rate_limited',
      ref: visitor.dialogId,
    });
  });

  it.each([
    ['another visitor’s dialog', async () => (await newVisitor(h)).dialogId],
    ['a missing dialog', async () => 'dlg_missing_0123456789abcdef'],
  ])('answers not_found for %s, and the socket stays open', async (_what, target) => {
    const { visitor } = await visitorWith(1);
    const dialogId = await target();
    const { socket } = await readyVisitor(h, visitor.visitorToken);
    socket.send({ type: 'resume', dialog_id: dialogId, after_seq: 0 });
    expect(await socket.next()).toEqual({ type: 'error', code: 'not_found', ref: dialogId });
    // Nothing of the other dialog leaked, and the socket still works on its own dialog.
    const [echo] = await sendMessages(socket, visitor.dialogId, 1);
    expect(echo?.['seq']).toBe(2);
    expect(socket.frames.filter((f) => f['dialog_id'] === dialogId)).toEqual([]);
    expect(socket.isClosed).toBe(false);
  });
});

describe('resume frame > closed dialogs', () => {
  it('answers dialog_closed for one’s own earlier dialog, and replays the one the socket saw close', async () => {
    const { visitor, socket: present } = await visitorWith(2);
    const operator = await readyOperator(h, await h.operatorToken({ operatorId: 'op_frame' }));
    operator.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'take' });
    operator.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'close' });
    await frameMatching(present, (f) => f['state'] === 'closed', 'the close');

    // The socket that was in the dialog when it closed can still catch up on it.
    present.send({ type: 'resume', dialog_id: visitor.dialogId, after_seq: 2 });
    expect(await present.nextOf('resumed')).toEqual({
      type: 'resumed',
      dialog_id: visitor.dialogId,
      replayed: 2,
      gap: false,
      head_seq: 4,
    });

    // A later socket lives in the visitor's new dialog; the old one is closed, not missing.
    const { socket, ready } = await readyVisitor(h, visitor.visitorToken);
    expect(ready['dialog_id']).not.toBe(visitor.dialogId);
    socket.send({ type: 'resume', dialog_id: visitor.dialogId, after_seq: 0 });
    expect(await socket.next()).toEqual({
      type: 'error',
      code: 'dialog_closed',
      ref: visitor.dialogId,
    });
    expect(socket.isClosed).toBe(false);
  });
});

describe('resume at auth > refusals', () => {
  it.each([
    ['another visitor’s dialog', async () => (await visitorWith(1)).visitor.dialogId],
    ['a missing dialog', async () => 'dlg_missing_0123456789abcdef'],
  ])('closes 4004 for %s', async (_what, target) => {
    const dialogId = await target();
    const me = await newVisitor(h);
    const socket = await resumeAtAuth(h, me.visitorToken, dialogId, 0);
    expect(await socket.closed()).toMatchObject({ code: 4004, reason: 'not_found' });
    expect(socket.frames).toEqual([]);
  });

  it('answers ready with the current open dialog and error dialog_closed for one’s own closed dialog', async () => {
    const { visitor, socket: live } = await visitorWith(2);
    const operator = await readyOperator(h, await h.operatorToken({ operatorId: 'op_closer' }));
    operator.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'take' });
    operator.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'close' });
    await frameMatching(live, (f) => f['type'] === 'handoff' && f['state'] === 'closed', 'closed');

    const socket = await resumeAtAuth(h, visitor.visitorToken, visitor.dialogId, 2);
    const ready = await socket.next();
    expect(ready).toMatchObject({ type: 'ready', visitor_id: visitor.visitorId, last_seq: 0 });
    expect(ready['handoff']).toEqual({ state: 'assistant' });
    const current = String(ready['dialog_id']);
    expect(current).not.toBe(visitor.dialogId);
    expect(await socket.next()).toMatchObject({ type: 'error', code: 'dialog_closed' });

    // Never a terminal close: the socket chats on in the new dialog, which is the visitor's one.
    const [first] = await sendMessages(socket, current, 1);
    expect(first).toMatchObject({ dialog_id: current, seq: 1, sender: 'visitor' });
    expect(socket.isClosed).toBe(false);
    expect(socket.frames.some((f) => f['type'] === 'resumed')).toBe(false);
    const refreshed = await h.session(visitor.siteToken, undefined, {
      refresh_token: visitor.refreshToken,
    });
    expect(refreshed.body['dialog_id']).toBe(current);
  });
});
