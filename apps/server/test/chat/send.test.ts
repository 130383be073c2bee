/**
 * Sending and typing over real sockets (SPEC §4): `send` → committed → `ack` to the sender before
 * its own copy → one `message` to every socket of the dialog; per-dialog, gapless, server-assigned
 * `seq`, also under concurrent tabs; idempotent resends; the sender taken from the token, never
 * from the frame; refusals with their `ref`; invalid texts; typing relayed but never stored.
 * One server for the file, without an assistant (its replies would take seqs) and with a visitor
 * send rate the tests never reach (send-limits.test.ts tests that limit on servers of its own).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import {
  closeOpened,
  type Frame,
  newVisitor,
  refreshVisitor,
  SHARED_SERVER_ENV,
  type WatchedSocket,
  waitFor,
} from '../support/ws-client.js';
import {
  framesOf,
  MESSAGE_FIELDS,
  messages,
  operatorSocket,
  SLOW_MS,
  sendFrame,
  subscribe,
  tab,
  take,
  upTo,
  waitForFrame,
} from './send-support.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    env: { ...SHARED_SERVER_ENV, POSTERN_ASSISTANT: 'none', POSTERN_VISITOR_MSG_RATE: '100000' },
  });
});
afterEach(() => closeOpened(h));
afterAll(() => h.close());

/** A well-formed dialog id that belongs to nobody. */
const missingDialogId = () => randomBytes(16).toString('base64url');

/** Everything stored in a dialog, oldest first. */
const stored = (dialogId: string) => h.store.listMessages(dialogId, { limit: 100 });

/** The message frame a socket got for `seq` (waits for it). */
const messageWithSeq = (socket: WatchedSocket, dialogId: string, seq: number) =>
  waitForFrame(
    socket,
    (f) => f['type'] === 'message' && f['dialog_id'] === dialogId && f['seq'] === seq,
    `message ${seq}`,
  );

describe('chat send > delivery', () => {
  it('acks the sender before its own copy, and gives every socket of the dialog one identical message', async () => {
    const v = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    const sameToken = await tab(h, v.visitorToken);
    const refreshed = await tab(h, (await refreshVisitor(h, v)).visitorToken);
    const op = await operatorSocket(h, { sites: [v.siteId] });
    await subscribe(h, op, v.dialogId);
    const outsider = await operatorSocket(h, { operatorId: 'op_outside', sites: ['site_other'] });

    const before = Date.now();
    const frame = sendFrame(v.dialogId, 'Hello, is anyone there?');
    a.send(frame);
    const ack = await a.next();
    expect(ack).toEqual({
      type: 'ack',
      client_msg_id: frame.client_msg_id,
      id: expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      seq: 1,
    });
    const own = await a.next();
    expect(Object.keys(own).sort()).toEqual(MESSAGE_FIELDS);
    expect(own).toEqual({
      type: 'message',
      dialog_id: v.dialogId,
      seq: 1,
      id: ack['id'],
      client_msg_id: frame.client_msg_id,
      sender: 'visitor',
      text: 'Hello, is anyone there?',
      ts: expect.any(Number),
    });
    expect(Number.isInteger(own['ts'])).toBe(true);
    expect(own['ts']).toBeGreaterThanOrEqual(before);
    expect(own['ts']).toBeLessThanOrEqual(Date.now());

    for (const other of [sameToken, refreshed, op])
      expect(await other.nextOf('message')).toEqual(own);
    // Only the sender is acked; the other tabs get the message and nothing else.
    expect(a.frames.map((f) => f['type'])).toEqual(['ready', 'ack', 'message']);
    expect(sameToken.frames.map((f) => f['type'])).toEqual(['ready', 'message']);
    expect(refreshed.frames.map((f) => f['type'])).toEqual(['ready', 'message']);
    expect(framesOf(op, 'ack')).toEqual([]);
    // An operator whose sites do not cover the dialog sees nothing of it. Its reply to a frame
    // sent after the message went out comes after anything fanned out to it before.
    outsider.send({ type: 'subscribe', dialog_id: v.dialogId });
    expect(await outsider.nextOf('error')).toEqual({
      type: 'error',
      code: 'not_found',
      ref: v.dialogId,
    });
    expect(messages(outsider)).toEqual([]);
  });

  it("delivers the holder's send as sender operator, with the ack to the holder first", async () => {
    const v = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    const op = await operatorSocket(h, { operatorId: 'op_holder', sites: [v.siteId] });
    await subscribe(h, op, v.dialogId);
    await take(op, v.dialogId);
    const joined = await a.nextOf('message'); // the stored `system` line of the take
    expect(joined).toMatchObject({ seq: 1, sender: 'system' });

    const frame = sendFrame(v.dialogId, 'Hi, I am Ana. How can I help?');
    op.send(frame);
    const ack = await op.nextOf('ack');
    expect(ack).toEqual({
      type: 'ack',
      client_msg_id: frame.client_msg_id,
      id: expect.any(String),
      seq: 2,
    });
    const own = await op.next();
    expect(own).toMatchObject({ type: 'message', seq: 2, id: ack['id'], sender: 'operator' });
    expect(await a.nextOf('message')).toEqual(own);
    const [, record] = await stored(v.dialogId);
    expect(record).toMatchObject({ sender: 'operator', senderId: 'op_holder', seq: 2 });
  });
});

describe('chat send > seq', () => {
  it('numbers pipelined sends of three tabs 1..60 without gaps, and every socket sees them in seq order', async () => {
    const v = await newVisitor(h);
    const w = await newVisitor(h);
    const tabs = [
      await tab(h, v.visitorToken),
      await tab(h, v.visitorToken),
      await tab(h, (await refreshVisitor(h, v)).visitorToken),
    ];
    const otherTabs = [await tab(h, w.visitorToken), await tab(h, w.visitorToken)];
    const op = await operatorSocket(h);
    await subscribe(h, op, v.dialogId);
    await subscribe(h, op, w.dialogId);

    // Every frame is written before any answer is read; the other dialog's sends interleave,
    // so both dialogs share commit batches.
    const sent: string[][] = tabs.map(() => []);
    const sentOther: string[][] = otherTabs.map(() => []);
    for (let i = 0; i < 20; i++) {
      for (const [k, socket] of tabs.entries()) {
        const frame = sendFrame(v.dialogId, `tab ${k}, message ${i}`);
        sent[k]?.push(frame.client_msg_id);
        socket.send(frame);
      }
      if (i >= 10) continue;
      for (const [k, socket] of otherTabs.entries()) {
        const frame = sendFrame(w.dialogId, `other tab ${k}, message ${i}`);
        sentOther[k]?.push(frame.client_msg_id);
        socket.send(frame);
      }
    }
    await waitFor(
      () =>
        [...tabs, op].every((s) => messages(s, v.dialogId).length >= 60) &&
        [...otherTabs, op].every((s) => messages(s, w.dialogId).length >= 20),
      'every message on every socket',
      SLOW_MS,
    );

    expectGaplessAcks(tabs, sent, v.dialogId, 60);
    expectGaplessAcks(otherTabs, sentOther, w.dialogId, 20);
    expect(messages(op, v.dialogId)).toEqual(messages(tabs[0] as WatchedSocket));
    expect(messages(op, w.dialogId)).toEqual(messages(otherTabs[0] as WatchedSocket));
    // Each tab saw only its own dialog.
    for (const socket of tabs) expect(messages(socket)).toHaveLength(60);
    for (const socket of otherTabs) expect(messages(socket)).toHaveLength(20);
    expect((await stored(v.dialogId)).map((m) => m.seq)).toEqual(upTo(60));
    expect((await stored(w.dialogId)).map((m) => m.seq)).toEqual(upTo(20));
  });
});

describe('chat send > one socket pipelining', () => {
  it("commits a socket's sends together, in frame order, and answers its next other frame after them", async () => {
    const v = await newVisitor(h);
    const socket = await tab(h, v.visitorToken);
    // What each commit transaction held of this dialog.
    const batches: number[] = [];
    const append = h.store.appendMessages.bind(h.store);
    h.store.appendMessages = (batch) => {
      const ours = batch.filter((input) => input.dialogId === v.dialogId).length;
      if (ours > 0) batches.push(ours);
      return append(batch);
    };
    try {
      const sent: string[] = [];
      for (let i = 0; i < 12; i++) {
        const frame = sendFrame(v.dialogId, `message ${i}`);
        sent.push(frame.client_msg_id);
        socket.send(frame);
      }
      // Not a send: handled only once the twelve before it are committed.
      socket.send({ type: 'handoff', dialog_id: v.dialogId, action: 'request' });
      await waitFor(() => messages(socket, v.dialogId).length >= 13, 'all messages', SLOW_MS);
      const acks = framesOf(socket, 'ack');
      expect(acks.map((ack) => ack['client_msg_id'])).toEqual(sent);
      expect(acks.map((ack) => ack['seq'])).toEqual(upTo(12));
      expect(messages(socket, v.dialogId).map((m) => m['client_msg_id'] ?? null)).toEqual([
        ...sent,
        null,
      ]);
      // A socket waiting for each commit before reading its next frame would commit one by one.
      expect(Math.max(...batches)).toBeGreaterThan(1);
      expect(batches.reduce((sum, n) => sum + n, 0)).toBe(12);
      const last = messages(socket, v.dialogId).at(-1);
      expect(last).toMatchObject({ seq: 13, sender: 'system' });
    } finally {
      h.store.appendMessages = append;
    }
  });
});

/**
 * The tabs' acks together number the dialog 1..total; each tab is acked in its send order and
 * before its own copy; every tab sees the same messages in seq order, each matching its ack.
 */
function expectGaplessAcks(
  tabs: readonly WatchedSocket[],
  sent: readonly string[][],
  dialogId: string,
  total: number,
): void {
  const acks = new Map<string, Frame>();
  for (const [k, socket] of tabs.entries()) {
    const own = framesOf(socket, 'ack');
    expect(own.map((ack) => ack['client_msg_id'])).toEqual(sent[k]);
    const seqs = own.map((ack) => Number(ack['seq']));
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    for (const ack of own) {
      acks.set(String(ack['client_msg_id']), ack);
      const ackAt = socket.frames.indexOf(ack);
      const copyAt = socket.frames.findIndex(
        (f) => f['type'] === 'message' && f['client_msg_id'] === ack['client_msg_id'],
      );
      expect(copyAt).toBeGreaterThan(ackAt);
    }
  }
  expect([...acks.values()].map((ack) => Number(ack['seq'])).sort((x, y) => x - y)).toEqual(
    upTo(total),
  );
  const seen = messages(tabs[0] as WatchedSocket, dialogId);
  expect(seen.map((m) => m['seq'])).toEqual(upTo(total));
  for (const socket of tabs) expect(messages(socket, dialogId)).toEqual(seen);
  for (const message of seen) {
    const ack = acks.get(String(message['client_msg_id']));
    expect(ack).toMatchObject({ id: message['id'], seq: message['seq'] });
  }
}

describe('chat send > idempotency', () => {
  it('answers a resend on the same socket with the original ack and never broadcasts it twice', async () => {
    const v = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    const b = await tab(h, v.visitorToken);
    const op = await operatorSocket(h);
    await subscribe(h, op, v.dialogId);

    const first = sendFrame(v.dialogId, 'only once, please');
    a.send(first);
    const ack = await a.nextOf('ack');
    a.send(first);
    // Same id, another text: still the original, whose text stays.
    a.send({ ...first, text: 'an edited retry' });
    expect(await a.nextOf('ack')).toEqual(ack);
    expect(await a.nextOf('ack')).toEqual(ack);
    // A socket handles its frames in order, so whatever the resends fanned out went out before
    // this next message: once everyone has it, nobody got a second copy.
    const next = sendFrame(v.dialogId, 'and then this');
    a.send(next);
    expect(await a.nextOf('ack')).toMatchObject({ seq: Number(ack['seq']) + 1 });
    for (const socket of [a, b, op]) {
      await messageWithSeq(socket, v.dialogId, 2);
      expect(messages(socket).map((m) => [m['seq'], m['client_msg_id'], m['text']])).toEqual([
        [1, first.client_msg_id, 'only once, please'],
        [2, next.client_msg_id, 'and then this'],
      ]);
    }
    expect((await stored(v.dialogId)).map((m) => m.clientMsgId)).toEqual([
      first.client_msg_id,
      next.client_msg_id,
    ]);
  });

  it('answers a resend from a new socket after a reconnect with the original ack', async () => {
    const v = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    const b = await tab(h, v.visitorToken);
    const first = sendFrame(v.dialogId, 'sent just before the network dropped');
    a.send(first);
    const ack = await a.nextOf('ack');
    await messageWithSeq(b, v.dialogId, 1);
    a.ws.close();
    await a.closed();

    // The SDK reconnects with a refreshed token and retries what it has no ack for.
    const again = await tab(h, (await refreshVisitor(h, v)).visitorToken);
    again.send(first);
    expect(await again.next()).toEqual(ack);
    const next = sendFrame(v.dialogId, 'after the reconnect');
    again.send(next);
    expect(await again.next()).toMatchObject({ type: 'ack', seq: 2 });
    await messageWithSeq(b, v.dialogId, 2);
    expect(messages(b).map((m) => m['client_msg_id'])).toEqual([
      first.client_msg_id,
      next.client_msg_id,
    ]);
    // The new socket gets only the new message: the resend is not broadcast, not even to it.
    expect(messages(again).map((m) => m['seq'])).toEqual([2]);
    expect(await stored(v.dialogId)).toHaveLength(2);
  });

  it('stores a client_msg_id sent by two tabs at once only once, and acks both with it', async () => {
    const v = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    const b = await tab(h, v.visitorToken);
    const op = await operatorSocket(h);
    await subscribe(h, op, v.dialogId);
    // A retry from a new tab while the first attempt may still be in the commit queue.
    const frame = sendFrame(v.dialogId, 'sent twice at once');
    a.send(frame);
    b.send(frame);
    const [ackA, ackB] = [await a.nextOf('ack'), await b.nextOf('ack')];
    expect(ackA).toEqual(ackB);
    expect(ackA).toMatchObject({ client_msg_id: frame.client_msg_id, seq: 1 });
    const next = sendFrame(v.dialogId, 'the one after');
    a.send(next);
    for (const socket of [a, b, op]) {
      await messageWithSeq(socket, v.dialogId, 2);
      expect(messages(socket).map((m) => m['client_msg_id'])).toEqual([
        frame.client_msg_id,
        next.client_msg_id,
      ]);
    }
    expect(await stored(v.dialogId)).toHaveLength(2);
  });

  it('still answers a resend with its original ack once the dialog is closed', async () => {
    const v = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    const first = sendFrame(v.dialogId, 'did this arrive?');
    a.send(first);
    const ack = await a.nextOf('ack');
    const op = await operatorSocket(h, { operatorId: 'op_closer' });
    await subscribe(h, op, v.dialogId);
    await take(op, v.dialogId);
    op.send({ type: 'handoff', dialog_id: v.dialogId, action: 'close' });
    await waitForFrame(a, (f) => f['type'] === 'handoff' && f['state'] === 'closed', 'the close');

    // The message was committed before the close: the retry learns that, not `dialog_closed`.
    a.send(first);
    expect(await a.nextOf('ack')).toEqual(ack);
    const late = sendFrame(v.dialogId, 'a new message after the close');
    a.send(late);
    expect(await a.nextOf('error')).toEqual({
      type: 'error',
      code: 'dialog_closed',
      ref: late.client_msg_id,
    });
    expect((await stored(v.dialogId)).filter((m) => m.sender === 'visitor')).toHaveLength(1);
  });

  it("keys idempotency by sender: the holder reusing a visitor's client_msg_id sends a new message", async () => {
    const v = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    const op = await operatorSocket(h, { operatorId: 'op_reuse' });
    await subscribe(h, op, v.dialogId);
    await take(op, v.dialogId);
    const clientMsgId = randomUUID();
    a.send(sendFrame(v.dialogId, 'from the visitor', clientMsgId));
    const visitorAck = await a.nextOf('ack');
    op.send(sendFrame(v.dialogId, 'from the operator', clientMsgId));
    const operatorAck = await op.nextOf('ack');
    expect(operatorAck['seq']).toBe(Number(visitorAck['seq']) + 1);
    expect(operatorAck['id']).not.toBe(visitorAck['id']);
    expect(await messageWithSeq(a, v.dialogId, Number(operatorAck['seq']))).toMatchObject({
      sender: 'operator',
      text: 'from the operator',
    });
  });
});

describe('chat send > sender and access', () => {
  it('stores and broadcasts a send as the visitor whatever sender fields the frame carries', async () => {
    const v = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    const b = await tab(h, v.visitorToken);
    const frame = sendFrame(v.dialogId, 'I am totally the operator');
    a.send({
      ...frame,
      sender: 'operator',
      sender_id: 'op_1',
      visitor_id: 'someone_else',
      seq: 99,
      id: 'forged_id',
      ts: 1,
      html: '<img src=x onerror=alert(1)>',
    });
    const ack = await a.nextOf('ack');
    expect(ack).toEqual({
      type: 'ack',
      client_msg_id: frame.client_msg_id,
      id: expect.any(String),
      seq: 1,
    });
    expect(ack['id']).not.toBe('forged_id');
    const message = await b.nextOf('message');
    expect(Object.keys(message).sort()).toEqual(MESSAGE_FIELDS);
    expect(message).toMatchObject({ sender: 'visitor', seq: 1, id: ack['id'] });
    expect(message['ts']).not.toBe(1);
    expect(await stored(v.dialogId)).toEqual([
      expect.objectContaining({ sender: 'visitor', senderId: v.visitorId, seq: 1 }),
    ]);
  });

  it("refuses a send into another visitor's dialog, or a missing one, with not_found", async () => {
    const v = await newVisitor(h);
    const w = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    const victim = await tab(h, w.visitorToken);
    const intrusion = sendFrame(w.dialogId, 'let me in');
    a.send(intrusion);
    expect(await a.next()).toEqual({
      type: 'error',
      code: 'not_found',
      ref: intrusion.client_msg_id,
    });
    const nowhere = sendFrame(missingDialogId(), 'anyone?');
    a.send(nowhere);
    // "Not yours" and "missing" look the same.
    expect(await a.next()).toEqual({
      type: 'error',
      code: 'not_found',
      ref: nowhere.client_msg_id,
    });
    expect(a.isClosed).toBe(false);
    expect(await stored(w.dialogId)).toEqual([]);
    // The victim's dialog still starts at seq 1, and its socket saw nothing before that.
    victim.send(sendFrame(w.dialogId, 'my own first message'));
    expect(await victim.next()).toMatchObject({ type: 'ack', seq: 1 });
    expect(messages(victim)).toHaveLength(1);
  });

  it('refuses an operator not holding the dialog with not_holder, and one outside its sites with not_found', async () => {
    const v = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    a.send(sendFrame(v.dialogId, 'hello'));
    await a.nextOf('ack');
    const watcher = await operatorSocket(h, { operatorId: 'op_watcher', sites: [v.siteId] });
    const outsider = await operatorSocket(h, { operatorId: 'op_other', sites: ['site_other'] });

    const unheld = sendFrame(v.dialogId, 'nobody holds this yet');
    watcher.send(unheld);
    expect(await watcher.nextOf('error')).toEqual({
      type: 'error',
      code: 'not_holder',
      ref: unheld.client_msg_id,
    });
    const holder = await operatorSocket(h, { operatorId: 'op_holder2', sites: [v.siteId] });
    await subscribe(h, holder, v.dialogId);
    await take(holder, v.dialogId);
    const heldByOther = sendFrame(v.dialogId, 'someone else holds this');
    watcher.send(heldByOther);
    expect(await watcher.nextOf('error')).toEqual({
      type: 'error',
      code: 'not_holder',
      ref: heldByOther.client_msg_id,
    });
    const foreign = sendFrame(v.dialogId, 'not my site');
    outsider.send(foreign);
    expect(await outsider.nextOf('error')).toEqual({
      type: 'error',
      code: 'not_found',
      ref: foreign.client_msg_id,
    });
    expect((await stored(v.dialogId)).map((m) => m.sender)).toEqual(['visitor', 'system']);
  });

  it('refuses sends into a closed dialog with dialog_closed, from the visitor and the operator', async () => {
    const v = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    const op = await operatorSocket(h, { operatorId: 'op_close2' });
    await subscribe(h, op, v.dialogId);
    await take(op, v.dialogId);
    op.send({ type: 'handoff', dialog_id: v.dialogId, action: 'close' });
    await waitForFrame(a, (f) => f['type'] === 'handoff' && f['state'] === 'closed', 'the close');
    const before = await stored(v.dialogId);

    const fromVisitor = sendFrame(v.dialogId, 'wait, one more thing');
    a.send(fromVisitor);
    expect(await a.nextOf('error')).toEqual({
      type: 'error',
      code: 'dialog_closed',
      ref: fromVisitor.client_msg_id,
    });
    const fromOperator = sendFrame(v.dialogId, 'one more from me');
    op.send(fromOperator);
    expect(await op.nextOf('error')).toEqual({
      type: 'error',
      code: 'dialog_closed',
      ref: fromOperator.client_msg_id,
    });
    expect(a.isClosed).toBe(false);
    expect(await stored(v.dialogId)).toEqual(before);
  });
});

describe('chat send > invalid frames', () => {
  it('answers each invalid send with error invalid and its ref, keeps the socket, stores nothing', async () => {
    const v = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    const b = await tab(h, v.visitorToken);
    const id = randomUUID();
    const base = JSON.stringify(sendFrame(v.dialogId, 'fine', id)).slice(0, -1);
    const cases: [what: string, frame: unknown, ref: string][] = [
      // A malformed client_msg_id is never echoed back: the ref falls back to the dialog id.
      ['a client_msg_id that is not a UUID', sendFrame(v.dialogId, 'hi', 'not-a-uuid'), v.dialogId],
      ['an empty text', sendFrame(v.dialogId, '', id), id],
      ['a whitespace-only text', sendFrame(v.dialogId, ' \n\t  ', id), id],
      ['a 4001-character text', sendFrame(v.dialogId, 'x'.repeat(4001), id), id],
      ['a bidi override', sendFrame(v.dialogId, 'abc\u202Egpj.exe', id), id],
      ['a bidi isolate', sendFrame(v.dialogId, 'abc\u2066def', id), id],
      ['a lone high surrogate', sendFrame(v.dialogId, 'a\uD800b', id), id],
      ['a lone low surrogate', sendFrame(v.dialogId, '\uDC00 hi', id), id],
      ['a C0 control', sendFrame(v.dialogId, 'ring \u0007', id), id],
      ['a text that is not a string', { ...sendFrame(v.dialogId, '', id), text: 42 }, id],
      ['a __proto__ key', `${base},"__proto__":{"sender":"operator"}}`, id],
      ['a constructor key', `${base},"constructor":{"prototype":{}}}`, id],
    ];
    for (const [what, frame, ref] of cases) {
      a.send(frame);
      expect(await a.next(), what).toEqual({ type: 'error', code: 'invalid', ref });
    }
    expect(a.isClosed).toBe(false);
    expect(await stored(v.dialogId)).toEqual([]);

    // The next valid send is seq 1. A text is measured after trimming: 4000 characters with
    // whitespace around them fit, and are stored trimmed.
    a.send(sendFrame(v.dialogId, 'fine', id));
    expect(await a.next()).toMatchObject({ type: 'ack', client_msg_id: id, seq: 1 });
    const longest = sendFrame(v.dialogId, ` \n${'y'.repeat(4000)}\t `);
    a.send(longest);
    expect(await a.nextOf('ack')).toMatchObject({ client_msg_id: longest.client_msg_id, seq: 2 });
    await messageWithSeq(b, v.dialogId, 2);
    expect(b.frames.map((f) => f['type'])).toEqual(['ready', 'message', 'message']);
    expect((await stored(v.dialogId)).map((m) => m.text)).toEqual(['fine', 'y'.repeat(4000)]);
  });
});

describe('chat typing', () => {
  it('relays typing to the other sockets of the dialog, never back to the typist, and stores nothing', async () => {
    const v = await newVisitor(h);
    const a = await tab(h, v.visitorToken);
    const b = await tab(h, v.visitorToken);
    const holder = await operatorSocket(h, { operatorId: 'op_typist', sites: [v.siteId] });
    await subscribe(h, holder, v.dialogId);
    await take(holder, v.dialogId);
    const watcher = await operatorSocket(h, { operatorId: 'op_watch', sites: [v.siteId] });
    await subscribe(h, watcher, v.dialogId);
    await messageWithSeq(a, v.dialogId, 1); // the take's system line
    await messageWithSeq(b, v.dialogId, 1);
    const before = await stored(v.dialogId);

    // A forged sender in the frame changes nothing: the token says visitor.
    a.send({ type: 'typing', dialog_id: v.dialogId, state: 'start', sender: 'operator' });
    // An answered frame behind it: anything echoed to `a` would arrive before this answer.
    a.send({ type: 'typing', dialog_id: v.dialogId, state: 'maybe' });
    expect(await a.nextOf('error')).toEqual({ type: 'error', code: 'invalid', ref: v.dialogId });
    expect(framesOf(a, 'typing')).toEqual([]);
    const visitorTyping = {
      type: 'typing',
      dialog_id: v.dialogId,
      sender: 'visitor',
      state: 'start',
    };
    for (const socket of [b, holder, watcher]) {
      expect(await socket.nextOf('typing')).toEqual(visitorTyping);
    }

    holder.send({ type: 'typing', dialog_id: v.dialogId, state: 'stop' });
    holder.send({ type: 'typing', dialog_id: v.dialogId, state: 'maybe' });
    expect(await holder.nextOf('error')).toEqual({
      type: 'error',
      code: 'invalid',
      ref: v.dialogId,
    });
    expect(framesOf(holder, 'typing').filter((f) => f['sender'] === 'operator')).toEqual([]);
    const operatorTyping = {
      type: 'typing',
      dialog_id: v.dialogId,
      sender: 'operator',
      state: 'stop',
    };
    for (const socket of [a, b, watcher]) {
      expect(await socket.nextOf('typing')).toEqual(operatorTyping);
    }
    expect(framesOf(holder, 'typing')).toEqual([visitorTyping]);
    expect(framesOf(a, 'typing')).toEqual([operatorTyping]);

    // Typing by an operator who does not hold the dialog is refused and relayed to nobody.
    watcher.send({ type: 'typing', dialog_id: v.dialogId, state: 'start' });
    expect(await watcher.nextOf('error')).toEqual({
      type: 'error',
      code: 'not_holder',
      ref: v.dialogId,
    });
    // Nor may a visitor type into a dialog not its own.
    const stranger = await newVisitor(h);
    const s = await tab(h, stranger.visitorToken);
    s.send({ type: 'typing', dialog_id: v.dialogId, state: 'start' });
    expect(await s.next()).toEqual({ type: 'error', code: 'not_found', ref: v.dialogId });
    // A message sent now reaches `b` after anything relayed before it.
    a.send(sendFrame(v.dialogId, 'done typing'));
    await messageWithSeq(b, v.dialogId, 2);
    expect(framesOf(b, 'typing')).toEqual([visitorTyping, operatorTyping]);
    expect((await stored(v.dialogId)).slice(0, before.length)).toEqual(before);
    expect(await stored(v.dialogId)).toHaveLength(before.length + 1);
  });
});
