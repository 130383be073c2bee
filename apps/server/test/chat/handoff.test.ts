/**
 * Handoff (SPEC §4 `handoff`, "Operators", "Assistant"): take, release and close with their
 * refusals; the visitor's request; a held dialog returning to `requested` once its holder has
 * had no socket for POSTERN_HANDOFF_IDLE_MS (also across a restart); and the assistant falling
 * silent while an operator holds the dialog. Every change is a stored `system` message.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { type Harness, startHarness } from '../support/harness.js';
import {
  closeOpened,
  type Frame,
  readyVisitor,
  type WatchedSocket,
  waitFor,
} from '../support/ws-client.js';
import {
  barrier,
  CHAT_TEST_ENV,
  dialogFrames,
  frameWhere,
  history,
  readyOperator,
  refusal,
  say,
  since,
  type Visitor,
  visitorOn,
} from './operator-clients.js';

const IDLE_MS = 1000;

/** One server for the take/release/close tests, without an assistant (its replies move seqs). */
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { ...CHAT_TEST_ENV, POSTERN_ASSISTANT: 'none' } });
});
afterEach(() => closeOpened(h));
afterAll(() => h?.close());

let sites = 0;
const freshSite = () => `site_handoff_${++sites}_${randomUUID().slice(0, 8)}`;

/** The next `message` then `handoff` a socket of the dialog gets after `mark`. */
async function changeSeen(
  socket: WatchedSocket,
  dialogId: string,
  mark: number,
  timeoutMs = 3000,
): Promise<{ message: Frame; handoff: Frame }> {
  const handoff = await frameWhere(
    socket,
    (f) => f['type'] === 'handoff' && f['dialog_id'] === dialogId,
    'a handoff frame',
    mark,
    timeoutMs,
  );
  const frames = since(socket, mark);
  const messages = frames.filter((f) => f['type'] === 'message' && f['dialog_id'] === dialogId);
  expect(messages).toHaveLength(1);
  const [message] = messages as [Frame];
  // The stored system message comes first, so a client shows why the state changed.
  expect(frames.indexOf(message)).toBeLessThan(frames.indexOf(handoff));
  expect(message).toMatchObject({ sender: 'system' });
  expect(Object.keys(message)).not.toContain('client_msg_id');
  return { message, handoff };
}

/** A `message` frame as a history page lists it: the same fields but the frame's `type`. */
function asListed(frame: Frame | undefined): Frame {
  const { type: _type, ...fields } = frame ?? {};
  return fields;
}

/** Sends an operator's handoff action. */
function act(socket: WatchedSocket, dialogId: string, action: string): void {
  socket.send({ type: 'handoff', dialog_id: dialogId, action });
}

/** A visitor with one message, and two operators of its site subscribed to its dialog. */
async function scene() {
  const site = freshSite();
  const visitor = await visitorOn(h, site);
  await say(visitor.socket, visitor.dialogId, 'hello');
  const ana = await readyOperator(h, { operatorId: `op_ana_${site}`, sites: [site] });
  const ben = await readyOperator(h, { operatorId: `op_ben_${site}`, sites: [site] });
  for (const operator of [ana, ben]) {
    operator.send({ type: 'subscribe', dialog_id: visitor.dialogId });
    await barrier(operator);
  }
  return { site, visitor, ana, ben, dialogId: visitor.dialogId };
}

describe('handoff take', () => {
  it('from assistant: every socket of the dialog gets the system message and the new state', async () => {
    const { site, visitor, ana, ben, dialogId } = await scene();
    const secondTab = (await readyVisitor(h, visitor.visitorToken)).socket;
    const feedOnly = await readyOperator(h, { operatorId: 'op_feed', sites: [site] });
    await barrier(feedOnly);
    const sockets = [visitor.socket, secondTab, ana, ben];
    const marks = sockets.map((s) => s.frames.length);
    const feedMark = feedOnly.frames.length;

    act(ana, dialogId, 'take');
    const seen = await Promise.all(sockets.map((s, i) => changeSeen(s, dialogId, marks[i] ?? 0)));
    for (const { message, handoff } of seen) {
      expect(handoff).toEqual({
        type: 'handoff',
        dialog_id: dialogId,
        state: 'operator',
        operator: { name: 'Ana' },
      });
      expect(message).toEqual(seen[0]?.message);
      expect(message['seq']).toBe(2);
    }
    const change = await frameWhere(
      feedOnly,
      (f) => f['type'] === 'dialog' && f['dialog_id'] === dialogId,
      'the feed change',
      feedMark,
    );
    expect(change).toMatchObject({
      state: 'open',
      handoff: { state: 'operator', operator: { name: 'Ana' } },
      last_seq: 2,
    });
    // The holder's name is all that leaves the server: never the operator id.
    expect(JSON.stringify(since(visitor.socket, marks[0] ?? 0))).not.toContain('op_ana');

    const stored = await history(h, dialogId);
    expect(stored.map((m) => m['sender'])).toEqual(['visitor', 'system']);
    expect(stored[1]).toEqual(asListed(seen[0]?.message));
  });

  it("refuses another operator's take with conflict; the holder's second take is a no-op", async () => {
    const { site, visitor, ana, ben, dialogId } = await scene();
    act(ana, dialogId, 'take');
    await visitor.socket.nextOf('handoff');

    expect(
      await refusal(ben, { type: 'handoff', dialog_id: dialogId, action: 'take' }, dialogId),
    ).toEqual({ type: 'error', code: 'conflict', ref: dialogId });

    const mark = ana.frames.length;
    act(ana, dialogId, 'take');
    await barrier(ana);
    // Nothing but the barrier's own answer: no error, no message, no handoff.
    expect(since(ana, mark)).toHaveLength(1);
    expect(await history(h, dialogId)).toHaveLength(2);
    expect((await h.store.findDialog(dialogId))?.holder?.id).toBe(`op_ana_${site}`);
  });

  it('refuses release, close, send and typing from a non-holder with not_holder', async () => {
    const { visitor, ana, ben, dialogId } = await scene();
    // Not held at all yet: nobody is the holder.
    expect(
      await refusal(ana, { type: 'handoff', dialog_id: dialogId, action: 'release' }, dialogId),
    ).toEqual({ type: 'error', code: 'not_holder', ref: dialogId });

    act(ana, dialogId, 'take');
    await visitor.socket.nextOf('handoff');
    for (const action of ['release', 'close']) {
      expect(
        await refusal(ben, { type: 'handoff', dialog_id: dialogId, action }, dialogId),
      ).toEqual({ type: 'error', code: 'not_holder', ref: dialogId });
    }
    const clientMsgId = randomUUID();
    expect(
      await refusal(
        ben,
        { type: 'send', dialog_id: dialogId, client_msg_id: clientMsgId, text: 'not mine' },
        clientMsgId,
      ),
    ).toEqual({ type: 'error', code: 'not_holder', ref: clientMsgId });
    expect(
      await refusal(ben, { type: 'typing', dialog_id: dialogId, state: 'start' }, dialogId),
    ).toEqual({ type: 'error', code: 'not_holder', ref: dialogId });

    // The holder may speak; the visitor sees an operator message.
    const mark = visitor.socket.frames.length;
    const seq = await say(ana, dialogId, 'Hi, Ana here');
    expect(
      await frameWhere(visitor.socket, (f) => f['type'] === 'message', 'the reply', mark),
    ).toMatchObject({ seq, sender: 'operator', text: 'Hi, Ana here' });
    const stored = await history(h, dialogId);
    expect(stored.map((m) => m['sender'])).toEqual(['visitor', 'system', 'operator']);
    expect(JSON.stringify(stored)).not.toContain('not mine');
  });
});

describe('handoff take subscribes the taker', () => {
  it('the taking socket sees the take, the visitor and its own messages without subscribing', async () => {
    const site = freshSite();
    const visitor = await visitorOn(h, site);
    await say(visitor.socket, visitor.dialogId, 'hello?');
    const op = await readyOperator(h, { operatorId: 'op_autosub', sites: [site] });
    const mark = op.frames.length;
    op.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'take' });
    const handoff = await frameWhere(
      op,
      (f) => f['type'] === 'handoff' && f['dialog_id'] === visitor.dialogId,
      'the handoff of the take',
      mark,
    );
    expect(handoff).toMatchObject({ state: 'operator' });
    expect(since(op, mark).some((f) => f['type'] === 'message' && f['sender'] === 'system')).toBe(
      true,
    );

    // The visitor's next message and the operator's own reply both reach the taker.
    const visitorSeq = await say(visitor.socket, visitor.dialogId, 'are you there?');
    await frameWhere(op, (f) => f['type'] === 'message' && f['seq'] === visitorSeq, 'visitor msg');
    const replySeq = await say(op, visitor.dialogId, 'yes, I am here');
    await barrier(op);
    const copies = since(op, mark).filter((f) => f['type'] === 'message' && f['seq'] === replySeq);
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatchObject({ sender: 'operator', text: 'yes, I am here' });
  });

  it('a refused take leaves the socket unsubscribed', async () => {
    const site = freshSite();
    const visitor = await visitorOn(h, site);
    await say(visitor.socket, visitor.dialogId, 'hi');
    const holder = await readyOperator(h, { operatorId: 'op_first', sites: [site] });
    holder.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'take' });
    await frameWhere(holder, (f) => f['type'] === 'handoff', 'the take');
    const late = await readyOperator(h, { operatorId: 'op_late', sites: [site] });
    const refused = await refusal(
      late,
      { type: 'handoff', dialog_id: visitor.dialogId, action: 'take' },
      visitor.dialogId,
    );
    expect(refused['code']).toBe('conflict');
    const mark = late.frames.length;
    await say(visitor.socket, visitor.dialogId, 'anyone?');
    await barrier(holder);
    await barrier(late);
    expect(since(late, mark).filter((f) => f['type'] === 'message')).toEqual([]);
  });
});

describe('handoff release and close', () => {
  it('release hands the dialog back to the assistant; close ends it for good', async () => {
    const { site, visitor, ana, ben, dialogId } = await scene();
    const feed = await readyOperator(h, { operatorId: 'op_feed', sites: [site] });
    await barrier(feed);
    const changes: Frame[] = [];
    const step = async (operator: WatchedSocket, action: string) => {
      const mark = visitor.socket.frames.length;
      act(operator, dialogId, action);
      const seen = await changeSeen(visitor.socket, dialogId, mark);
      changes.push(seen.message);
      return seen.handoff;
    };

    await step(ana, 'take');
    expect(await step(ana, 'release')).toEqual({
      type: 'handoff',
      dialog_id: dialogId,
      state: 'assistant',
    });
    expect(await frameWhere(feed, (f) => f['last_seq'] === 3, 'the release')).toMatchObject({
      type: 'dialog',
      state: 'open',
      handoff: { state: 'assistant' },
    });
    // Released: the former holder is no holder any more.
    expect(
      await refusal(ana, { type: 'handoff', dialog_id: dialogId, action: 'close' }, dialogId),
    ).toMatchObject({ code: 'not_holder' });

    await step(ben, 'take');
    expect(await step(ben, 'close')).toEqual({
      type: 'handoff',
      dialog_id: dialogId,
      state: 'closed',
    });
    const closed = await frameWhere(feed, (f) => f['last_seq'] === 5, 'the close');
    expect(closed).toMatchObject({ type: 'dialog', state: 'closed', handoff: { state: 'closed' } });
    // The snapshot, then exactly one change per step.
    expect(dialogFrames(feed, dialogId).map((f) => f['last_seq'])).toEqual([1, 2, 3, 4, 5]);

    const clientMsgId = randomUUID();
    expect(
      await refusal(
        visitor.socket,
        { type: 'send', dialog_id: dialogId, client_msg_id: clientMsgId, text: 'anyone?' },
        clientMsgId,
      ),
    ).toEqual({ type: 'error', code: 'dialog_closed', ref: clientMsgId });
    for (const [socket, action] of [
      [ben, 'take'],
      [visitor.socket, 'request'],
    ] as const) {
      expect(
        await refusal(socket, { type: 'handoff', dialog_id: dialogId, action }, dialogId),
      ).toMatchObject({ code: 'dialog_closed' });
    }
    expect((await h.store.findDialog(dialogId))?.state).toBe('closed');

    // History: the visitor's message, then one system message per change, as delivered live.
    const stored = await history(h, dialogId);
    expect(stored[0]).toMatchObject({ seq: 1, sender: 'visitor' });
    expect(stored.slice(1)).toEqual(changes.map(asListed));
    expect(stored.map((m) => m['seq'])).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(changes.map((m) => m['text'])).size).toBe(3);
  });
});

describe('handoff request', () => {
  it('moves the dialog to requested with a system message; an operator takes it from there', async () => {
    const { site, visitor, ana, dialogId } = await scene();
    const feed = await readyOperator(h, { operatorId: 'op_feed', sites: [site] });
    await barrier(feed);
    let mark = visitor.socket.frames.length;
    visitor.socket.send({ type: 'handoff', dialog_id: dialogId, action: 'request' });
    const requested = await changeSeen(visitor.socket, dialogId, mark);
    expect(requested.handoff).toEqual({ type: 'handoff', dialog_id: dialogId, state: 'requested' });
    expect(await frameWhere(feed, (f) => f['last_seq'] === 2, 'the request')).toMatchObject({
      handoff: { state: 'requested' },
    });

    // Asking again while asked changes nothing.
    visitor.socket.send({ type: 'handoff', dialog_id: dialogId, action: 'request' });
    await barrier(visitor.socket);
    expect(await history(h, dialogId)).toHaveLength(2);

    mark = visitor.socket.frames.length;
    act(ana, dialogId, 'take');
    const taken = await changeSeen(visitor.socket, dialogId, mark);
    expect(taken.handoff).toMatchObject({ state: 'operator', operator: { name: 'Ana' } });
    const stored = await history(h, dialogId);
    expect(stored.slice(1)).toEqual([requested.message, taken.message].map(asListed));
  });

  it('refuses take, release and close from a visitor, and request from an operator', async () => {
    const { visitor, ana, dialogId } = await scene();
    for (const action of ['take', 'release', 'close']) {
      expect(
        await refusal(visitor.socket, { type: 'handoff', dialog_id: dialogId, action }, dialogId),
      ).toEqual({ type: 'error', code: 'forbidden', ref: dialogId });
    }
    expect(
      await refusal(ana, { type: 'handoff', dialog_id: dialogId, action: 'request' }, dialogId),
    ).toEqual({ type: 'error', code: 'forbidden', ref: dialogId });
    expect(await history(h, dialogId)).toHaveLength(1);
    expect((await h.store.findDialog(dialogId))?.handoff).toBe('assistant');
  });
});

/** Resolves after `ms`: only to let something that must NOT happen have its chance to. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** A visitor of `site` with one message, whose dialog `operatorId` has taken (on `operator`). */
async function held(
  server: Harness,
  site: string,
  operatorId: string,
): Promise<{ visitor: Visitor; operator: WatchedSocket }> {
  const visitor = await visitorOn(server, site);
  await say(visitor.socket, visitor.dialogId, 'hello');
  const operator = await readyOperator(server, { operatorId, sites: [site] });
  act(operator, visitor.dialogId, 'take');
  expect(await visitor.socket.nextOf('handoff')).toMatchObject({ state: 'operator' });
  return { visitor, operator };
}

/** Closes a socket from the client side and waits until the server has let it go. */
async function hangUp(server: Harness, socket: WatchedSocket): Promise<void> {
  const before = server.server.registry.size;
  socket.ws.close();
  await socket.closed();
  await waitFor(() => server.server.registry.size === before - 1, 'the server to see the close');
}

async function handoffOf(server: Harness, dialogId: string) {
  const dialog = await server.store.findDialog(dialogId);
  return { state: dialog?.handoff, holder: dialog?.holder?.id };
}

describe('handoff idle return', () => {
  it('returns a dialog to requested once its holder has had no socket for the idle time', async () => {
    const own = await startHarness({
      env: {
        ...CHAT_TEST_ENV,
        POSTERN_ASSISTANT: 'none',
        POSTERN_HANDOFF_IDLE_MS: String(IDLE_MS),
      },
    });
    try {
      const site = 'site_idle';
      const presence = own.server.chat.presence;
      // Three holders: one keeps a second socket, one comes back at once, one stays away.
      const twoTabs = await held(own, site, 'op_two_tabs');
      const otherTab = await readyOperator(own, { operatorId: 'op_two_tabs', sites: [site] });
      const returning = await held(own, site, 'op_returning');
      const gone = await held(own, site, 'op_gone');
      const marks = [twoTabs, returning, gone].map(({ visitor }) => visitor.socket.frames.length);

      await hangUp(own, twoTabs.operator);
      await hangUp(own, returning.operator);
      const back = await readyOperator(own, { operatorId: 'op_returning', sites: [site] });
      const quietSince = performance.now();
      await hangUp(own, gone.operator);
      // Two operators online, one absent: an entry each, nothing more.
      expect(presence.tracked).toBe(3);
      expect(await handoffOf(own, gone.visitor.dialogId)).toEqual({
        state: 'operator',
        holder: 'op_gone',
      });

      const seen = await changeSeen(
        gone.visitor.socket,
        gone.visitor.dialogId,
        marks[2] ?? 0,
        IDLE_MS * 4,
      );
      expect(seen.handoff).toEqual({
        type: 'handoff',
        dialog_id: gone.visitor.dialogId,
        state: 'requested',
      });
      expect(await handoffOf(own, gone.visitor.dialogId)).toEqual({
        state: 'requested',
        holder: undefined,
      });
      expect((await history(own, gone.visitor.dialogId)).at(-1)).toEqual(asListed(seen.message));
      await waitFor(() => presence.tracked === 2, 'the absent holder to be forgotten');

      // The other two were never without a socket: twice the idle time later, still held.
      await pause(quietSince + 2 * IDLE_MS - performance.now());
      for (const [i, { visitor }] of [twoTabs, returning].entries()) {
        const handoffs = since(visitor.socket, marks[i] ?? 0).filter(
          (f) => f['type'] === 'handoff',
        );
        expect(handoffs).toEqual([]);
      }
      expect((await handoffOf(own, twoTabs.visitor.dialogId)).holder).toBe('op_two_tabs');
      expect((await handoffOf(own, returning.visitor.dialogId)).holder).toBe('op_returning');

      // Once they leave too, their dialogs return and presence forgets everyone.
      await hangUp(own, otherTab);
      await hangUp(own, back);
      await waitFor(() => presence.tracked === 0, 'presence to be empty', IDLE_MS * 4);
      for (const { visitor } of [twoTabs, returning]) {
        expect((await handoffOf(own, visitor.dialogId)).state).toBe('requested');
      }
    } finally {
      await own.close();
    }
  });

  it('after a restart, returns a held dialog whose holder does not come back', async () => {
    // Longer than above: the test reconnects a holder and a visitor before it runs out.
    const idleMs = 2 * IDLE_MS;
    const env = {
      ...CHAT_TEST_ENV,
      POSTERN_ASSISTANT: 'none',
      POSTERN_HANDOFF_IDLE_MS: String(idleMs),
    };
    const dir = mkdtempSync(join(tmpdir(), 'postern-handoff-'));
    const path = join(dir, 'postern.db');
    const site = 'site_restart';
    let second: Harness | undefined;
    try {
      const first = await startHarness({ env, store: openSqliteStore({ path }) });
      let kept: Visitor;
      let left: Visitor;
      try {
        kept = (await held(first, site, 'op_stays')).visitor;
        left = (await held(first, site, 'op_leaves')).visitor;
      } finally {
        await first.close();
      }

      second = await startHarness({ env, store: openSqliteStore({ path }) });
      const restartedAt = performance.now();
      await readyOperator(second, { operatorId: 'op_stays', sites: [site] });
      const { socket, ready } = await readyVisitor(second, left.visitorToken);
      expect(ready['handoff']).toEqual({ state: 'operator', operator: { name: 'Ana' } });

      const seen = await changeSeen(socket, left.dialogId, 1, idleMs * 3);
      expect(seen.handoff).toEqual({
        type: 'handoff',
        dialog_id: left.dialogId,
        state: 'requested',
      });
      expect((await history(second, left.dialogId)).at(-1)).toEqual(asListed(seen.message));
      // Only the holder who is back is tracked: the absent one's entry left with its timer.
      await waitFor(() => second?.server.chat.presence.tracked === 1, 'one tracked holder');

      await pause(restartedAt + 2 * idleMs - performance.now());
      expect(await handoffOf(second, kept.dialogId)).toEqual({
        state: 'operator',
        holder: 'op_stays',
      });
    } finally {
      await second?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('assistant and handoff', () => {
  it('answers visitor messages unless an operator holds the dialog', async () => {
    // The default assistant (demo) answers at once, so silence while held means something.
    const own = await startHarness({ env: CHAT_TEST_ENV });
    try {
      const site = 'site_assistant';
      const visitor = await visitorOn(own, site);
      const operator = await readyOperator(own, { sites: [site] });
      const { dialogId } = visitor;
      const replyTo = async (text: string) => {
        const seq = await say(visitor.socket, dialogId, text);
        return frameWhere(
          visitor.socket,
          (f) => f['type'] === 'message' && f['sender'] === 'assistant' && Number(f['seq']) > seq,
          `the assistant's reply to "${text}"`,
        );
      };
      await replyTo('hello');
      // Asking for a person is not being served by one: the assistant keeps answering.
      visitor.socket.send({ type: 'handoff', dialog_id: dialogId, action: 'request' });
      await visitor.socket.nextOf('handoff');
      await replyTo('where is my parcel?');

      act(operator, dialogId, 'take');
      const takenMark = visitor.socket.frames.length;
      await frameWhere(visitor.socket, (f) => f['type'] === 'handoff', 'the take', takenMark);
      const heldMark = visitor.socket.frames.length;
      for (const text of ['hello?', 'what are your opening hours?', 'thanks']) {
        await say(visitor.socket, dialogId, text);
      }
      await say(operator, dialogId, 'Ana here, let me check.');
      await pause(500);
      const unwanted = since(visitor.socket, heldMark).filter(
        (f) => f['type'] === 'message' && (f['sender'] === 'assistant' || f['sender'] === 'system'),
      );
      expect(unwanted).toEqual([]);

      act(operator, dialogId, 'release');
      await frameWhere(visitor.socket, (f) => f['state'] === 'assistant', 'the release', heldMark);
      await replyTo('hello again');
      const senders = (await history(own, dialogId)).map((m) => m['sender']);
      expect(senders.filter((s) => s === 'assistant')).toHaveLength(3);
      expect(senders).toEqual([
        'visitor',
        'assistant',
        'system',
        'visitor',
        'assistant',
        'system',
        'visitor',
        'visitor',
        'visitor',
        'operator',
        'system',
        'visitor',
        'assistant',
      ]);
    } finally {
      await own.close();
    }
  });
});
