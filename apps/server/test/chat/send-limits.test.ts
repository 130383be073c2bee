/**
 * The limits around `send` (SPEC §5) and the group commit behind it: `POSTERN_VISITOR_MSG_RATE`
 * across all tabs of a visitor, `POSTERN_MSG_RATE` per socket when the flood is made of `send`
 * frames, and sends arriving together sharing one transaction. Each test runs a server of its
 * own (the limit under test, a clock it moves, or a store it holds).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { type GatedStore, gateStore, type Harness, startHarness } from '../support/harness.js';
import {
  closeOpened,
  newVisitor,
  SHARED_SERVER_ENV,
  testClock,
  type WatchedSocket,
  waitFor,
} from '../support/ws-client.js';
import { framesOf, messages, SLOW_MS, sendFrame, tab, upTo, waitForFrame } from './send-support.js';

let h: Harness | undefined;
/** A held store must let go before the server can close (shutdown drains the commits). */
let gated: GatedStore | undefined;
afterEach(async () => {
  gated?.release('appendMessages');
  gated = undefined;
  if (h) await closeOpened(h);
  await h?.close();
  h = undefined;
});

async function start(
  env: Record<string, string>,
  options: { now?: () => number; store?: Store } = {},
): Promise<Harness> {
  h = await startHarness({
    env: { ...SHARED_SERVER_ENV, POSTERN_ASSISTANT: 'none', ...env },
    ...options,
  });
  return h;
}

/** Sends one message and answers the reply to it (`ack` or `error`). */
async function sendOne(socket: WatchedSocket, dialogId: string, text: string) {
  const frame = sendFrame(dialogId, text);
  socket.send(frame);
  const reply = await waitForFrame(
    socket,
    (f) =>
      (f['type'] === 'ack' && f['client_msg_id'] === frame.client_msg_id) ||
      (f['type'] === 'error' && f['ref'] === frame.client_msg_id),
    'the reply to a send',
  );
  return { frame, reply };
}

describe('chat send > visitor send rate (POSTERN_VISITOR_MSG_RATE)', () => {
  it('refuses the sixth send of a window across both tabs, for that visitor only, until the window has passed', async () => {
    // Starts 1 s into a minute window, so the window edge is crossed only when the test says.
    const clock = testClock({ alignTo: 60_000 });
    const harness = await start({ POSTERN_VISITOR_MSG_RATE: '5' }, { now: clock.now });
    const v = await newVisitor(harness);
    const w = await newVisitor(harness);
    const a = await tab(harness, v.visitorToken);
    const b = await tab(harness, v.visitorToken);
    const other = await tab(harness, w.visitorToken);
    const counted = async (socket: WatchedSocket) =>
      (await sendOne(socket, v.dialogId, 'counted')).reply;

    const replies = [];
    for (const socket of [a, b, a, b, a]) replies.push(await counted(socket));
    expect(replies.map((reply) => [reply['type'], reply['seq']])).toEqual(
      upTo(5).map((seq) => ['ack', seq]),
    );
    for (const socket of [b, a]) {
      const { frame, reply } = await sendOne(socket, v.dialogId, 'one too many');
      expect(reply).toEqual({ type: 'error', code: 'rate_limited', ref: frame.client_msg_id });
    }
    // Another visitor has an allowance of its own.
    for (let i = 1; i <= 5; i++) {
      expect((await sendOne(other, w.dialogId, 'mine')).reply).toMatchObject({
        type: 'ack',
        seq: i,
      });
    }
    expect((await harness.store.listMessages(v.dialogId, { limit: 100 })).length).toBe(5);

    // The table is a sliding window over two fixed minute windows: once the whole next window
    // has passed, nothing of this one counts and the visitor has its full allowance again.
    clock.advance(2 * 60_000);
    for (const socket of [a, b, a, b, a]) {
      expect((await sendOne(socket, v.dialogId, 'later')).reply['type']).toBe('ack');
    }
    const { frame, reply } = await sendOne(b, v.dialogId, 'too many again');
    expect(reply).toEqual({ type: 'error', code: 'rate_limited', ref: frame.client_msg_id });
    const kept = await harness.store.listMessages(v.dialogId, { limit: 100 });
    expect(kept.map((m) => m.seq)).toEqual(upTo(10));
    expect(kept.map((m) => m.text)).not.toContain('one too many');
    await waitFor(() => messages(b).length === 10, 'the later messages on the other tab');
    expect(messages(b).map((m) => m['seq'])).toEqual(upTo(10));
    expect(a.isClosed || b.isClosed).toBe(false);
  });
});

describe('chat send > per-socket frame rate (POSTERN_MSG_RATE) with send frames', () => {
  it('answers a burst of sends with one rate_limited per window, stores what passed, closes 4008 past twice the limit', async () => {
    // 10 frames per 10 s window, `auth` being the first; the clock starts 1 s into a window.
    const clock = testClock({ alignTo: 10_000 });
    const harness = await start({ POSTERN_MSG_RATE: '10' }, { now: clock.now });
    const v = await newVisitor(harness);
    const a = await tab(harness, v.visitorToken);
    const b = await tab(harness, v.visitorToken);

    // Frames 2–10 pass; 11–13 are over the limit (not yet twice it).
    const burst = upTo(12).map((i) => sendFrame(v.dialogId, `burst ${i}`));
    for (const frame of burst) a.send(frame);
    await waitFor(
      () => framesOf(a, 'ack').length === 9 && framesOf(a, 'error').length > 0,
      'nine acks and the refusal',
      SLOW_MS,
    );
    // Two windows later the burst no longer counts. Frames are decided on arrival, in order,
    // so once this probe is acked every frame of the burst has been answered or dropped.
    clock.advance(20_000);
    const probe = sendFrame(v.dialogId, 'after the burst');
    a.send(probe);
    await waitFor(
      () => framesOf(a, 'ack').some((ack) => ack['client_msg_id'] === probe.client_msg_id),
      'the probe ack',
      SLOW_MS,
    );
    expect(framesOf(a, 'error')).toEqual([{ type: 'error', code: 'rate_limited' }]);
    const passed = [...burst.slice(0, 9), probe].map((frame) => frame.client_msg_id);
    expect(framesOf(a, 'ack').map((ack) => ack['client_msg_id'])).toEqual(passed);
    const kept = await harness.store.listMessages(v.dialogId, { limit: 100 });
    expect(kept.map((m) => [m.seq, m.clientMsgId])).toEqual(passed.map((id, i) => [i + 1, id]));
    await waitFor(() => messages(b).length === 10, 'the messages on the other tab');

    // In this window the probe was frame 1: frame 11 is refused (one more rate_limited, the
    // first of this window), frame 21 is over twice the limit and closes the socket.
    for (let i = 0; i < 25; i++) a.send(sendFrame(v.dialogId, `flood ${i}`));
    const close = await a.closed(SLOW_MS);
    expect(close.code).toBe(4008);
    expect(close.reason).toMatch(/^retry=(5|15|30|60|300)$/);
    expect(framesOf(a, 'error')).toEqual([
      { type: 'error', code: 'rate_limited' },
      { type: 'error', code: 'rate_limited' },
    ]);
    // The other tab has a frame rate of its own and stays.
    expect(b.isClosed).toBe(false);
    b.send(sendFrame(v.dialogId, 'still here'));
    expect(await b.nextOf('ack', SLOW_MS)).toMatchObject({ type: 'ack' });
  });
});

describe('chat send > group commit', () => {
  it('acks every one of many sockets sending at once and leaves nothing pending', async () => {
    const harness = await start({});
    const visitors = await Promise.all(upTo(12).map(() => newVisitor(harness)));
    const sockets = await Promise.all(visitors.map((v) => tab(harness, v.visitorToken)));
    for (let round = 0; round < 3; round++) {
      for (const [i, socket] of sockets.entries()) {
        socket.send(sendFrame((visitors[i] as (typeof visitors)[number]).dialogId, `r${round}`));
      }
    }
    await waitFor(
      () => sockets.every((socket) => messages(socket).length === 3),
      'every message',
      SLOW_MS,
    );
    for (const socket of sockets) {
      expect(framesOf(socket, 'ack').map((ack) => ack['seq'])).toEqual([1, 2, 3]);
    }
    expect(harness.server.chat.commits.pending).toBe(0);
  });

  it('commits the sends that arrive while a batch is in flight together, in one transaction', async () => {
    const held = gateStore(openSqliteStore({ path: ':memory:' }));
    gated = held;
    const harness = await start({}, { store: held.store });
    const [v0, ...rest] = await Promise.all(upTo(6).map(() => newVisitor(harness)));
    if (!v0) throw new Error('no visitor');
    const first = await tab(harness, v0.visitorToken);
    // The first visitor's second tab sends in the next batch: seq 2 of the same dialog.
    const together = [
      { socket: await tab(harness, v0.visitorToken), dialogId: v0.dialogId },
      ...(await Promise.all(
        rest.map(async (v) => ({
          socket: await tab(harness, v.visitorToken),
          dialogId: v.dialogId,
        })),
      )),
    ];
    const all = [first, ...together.map(({ socket }) => socket)];

    held.hold('appendMessages');
    first.send(sendFrame(v0.dialogId, 'first, alone'));
    await waitFor(() => held.pending('appendMessages') === 1, 'the first batch in flight');
    for (const { socket, dialogId } of together) socket.send(sendFrame(dialogId, 'together'));
    await waitFor(
      () => harness.server.chat.commits.pending === together.length,
      'the other sends queued behind the batch in flight',
      SLOW_MS,
    );
    // Nothing is acked before it is committed.
    expect(all.flatMap((socket) => framesOf(socket, 'ack'))).toEqual([]);

    held.release('appendMessages', 1);
    await waitFor(
      () => held.pending('appendMessages') === 1 && harness.server.chat.commits.pending === 0,
      'the queued sends taken as one batch',
      SLOW_MS,
    );
    held.release('appendMessages');
    await waitFor(
      () => all.every((socket) => framesOf(socket, 'ack').length === 1),
      'every ack',
      SLOW_MS,
    );
    // Two transactions for all of them, and seqs stay gapless within a batch.
    expect(held.completed('appendMessages')).toBe(2);
    expect(harness.server.chat.commits.pending).toBe(0);
    expect(all.map((socket) => framesOf(socket, 'ack')[0]?.['seq'])).toEqual([
      1,
      2,
      ...rest.map(() => 1),
    ]);
    const kept = await harness.store.listMessages(v0.dialogId, { limit: 10 });
    expect(kept.map((m) => [m.seq, m.text])).toEqual([
      [1, 'first, alone'],
      [2, 'together'],
    ]);
  });
});
