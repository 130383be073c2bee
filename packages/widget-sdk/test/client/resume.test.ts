import { describe, expect, it } from 'vitest';
import { json, settle } from './fakes.js';
import { createHarness, DIALOG, type Harness, message, SERVER } from './harness.js';

/** Answers history requests from a dialog of `count` messages, `limit` at a time. */
function serveHistory(h: Harness, count: number, limit = 100) {
  h.http.queue.length = 0;
  const respond = (call: { url: string }) => {
    const url = new URL(call.url);
    const after = Number(url.searchParams.get('after_seq'));
    const messages = [];
    for (let seq = after + 1; seq <= Math.min(count, after + limit); seq++) {
      const { type: _type, ...stored } = message(seq);
      messages.push(stored);
    }
    const last = messages.at(-1)?.seq ?? after;
    return json(200, { messages, next_after_seq: last < count ? last : null });
  };
  for (let i = 0; i < 50; i++) h.http.queue.push(respond);
}

describe('PosternClient resume', () => {
  it('resumes from the last seq in auth on reconnect, and not on the first connect', async () => {
    const h = createHarness();
    const first = await h.connected();
    expect(first.framesOf('auth')[0]).toEqual({ type: 'auth', token: 'visitor-token-1' });
    first.receive(message(1));
    first.receive(message(2));
    first.serverClose(1011);
    await h.wait(250);
    const second = await h.accept({ last_seq: 3 });
    expect(second.framesOf('auth')[0]).toEqual({
      type: 'auth',
      token: 'visitor-token-1',
      resume: { dialog_id: DIALOG, after_seq: 2 },
    });
    // The replay overlaps what was held: duplicates are dropped, the rest delivered once.
    second.receive(message(2));
    second.receive(message(3));
    second.receive({ type: 'resumed', dialog_id: DIALOG, replayed: 2, gap: false, head_seq: 3 });
    expect(h.events.message.map((m) => m.seq)).toEqual([1, 2, 3]);
    const { type: _type, ...stored } = message(1);
    expect(h.events.message[0]).toEqual(stored); // live or paged, one shape
    expect(h.events.resynced).toEqual([{ replayed: 1, gap: false }]);
    h.client.disconnect();
  });

  it('pages the history up to head_seq after resumed {gap: true}, then reports one resynced', async () => {
    const h = createHarness();
    const first = await h.connected();
    first.receive(message(1));
    first.serverClose(1011);
    await h.wait(250);
    const second = await h.accept({ last_seq: 450 });
    for (let seq = 2; seq <= 201; seq++) second.receive(message(seq));
    serveHistory(h, 450);
    second.receive({
      type: 'resumed',
      dialog_id: DIALOG,
      replayed: 200,
      gap: true,
      head_seq: 450,
      next_after_seq: 201,
    });
    second.receive(message(451)); // live again, held until the backfill reaches it
    await settle(10);
    expect(h.http.calls.map((call) => call.url)).toEqual([
      `${SERVER}/v1/widget/dialogs/${DIALOG}/messages?after_seq=201&limit=100`,
      `${SERVER}/v1/widget/dialogs/${DIALOG}/messages?after_seq=301&limit=100`,
      `${SERVER}/v1/widget/dialogs/${DIALOG}/messages?after_seq=401&limit=100`,
    ]);
    expect(h.http.calls[0]?.init.headers).toEqual({ authorization: 'Bearer visitor-token-1' });
    const seqs = h.events.message.map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: 451 }, (_, i) => i + 1));
    expect(h.events.resynced).toEqual([{ replayed: 450, gap: true }]);
    h.client.disconnect();
  });

  it('backfills a live seq jump, delivering everything in order, once', async () => {
    const h = createHarness();
    const socket = await h.connected();
    socket.receive(message(1));
    serveHistory(h, 5);
    socket.receive(message(5)); // 2–4 passed while this client was not listening
    socket.receive(message(6));
    expect(h.events.message.map((m) => m.seq)).toEqual([1]);
    await settle(6);
    expect(h.http.calls.map((call) => new URL(call.url).searchParams.get('after_seq'))).toEqual([
      '1',
    ]);
    expect(h.events.message.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(h.events.resynced).toEqual([{ replayed: 5, gap: true }]);
    h.client.disconnect();
  });

  it('asks for the earlier messages of a dialog it has never seen (a returning visitor)', async () => {
    const h = createHarness();
    const socket = await h.connected({ last_seq: 3 });
    expect(socket.framesOf('resume')).toEqual([
      { type: 'resume', dialog_id: DIALOG, after_seq: 0 },
    ]);
    for (let seq = 1; seq <= 3; seq++) socket.receive(message(seq));
    socket.receive({ type: 'resumed', dialog_id: DIALOG, replayed: 3, gap: false, head_seq: 3 });
    expect(h.events.message.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(h.events.resynced).toEqual([{ replayed: 3, gap: false }]);
    h.client.disconnect();
  });

  it('starts over when ready names another dialog (the old one closed)', async () => {
    const h = createHarness();
    const first = await h.connected();
    first.receive(message(1));
    first.serverClose(1011);
    await h.wait(250);
    const second = await h.accept({ dialog_id: 'dialog_2' });
    second.receive({ type: 'error', code: 'dialog_closed' });
    expect(h.client.dialogId).toBe('dialog_2');
    second.receive(message(1, { dialog_id: 'dialog_2', id: 'other_1' }));
    second.receive(message(2)); // a stray frame of the old dialog
    expect(h.events.message.map((m) => m.id)).toEqual(['msg_1', 'other_1']);
    h.client.disconnect();
  });

  it('asks for the earlier messages of another dialog named by ready right after an auth resume', async () => {
    const h = createHarness();
    const first = await h.connected();
    first.receive(message(1));
    first.serverClose(1011);
    await h.wait(250);
    // `auth` resumed dialog_1, but the server counts that only for the dialog it names.
    const second = await h.accept({ dialog_id: 'dialog_2', last_seq: 2 });
    expect(second.framesOf('auth')[0]).toMatchObject({ resume: { dialog_id: DIALOG } });
    expect(second.framesOf('resume')).toEqual([
      { type: 'resume', dialog_id: 'dialog_2', after_seq: 0 },
    ]);
    for (const seq of [1, 2]) {
      second.receive(message(seq, { dialog_id: 'dialog_2', id: `other_${seq}` }));
    }
    second.receive({
      type: 'resumed',
      dialog_id: 'dialog_2',
      replayed: 2,
      gap: false,
      head_seq: 2,
    });
    expect(h.events.message.map((m) => m.id)).toEqual(['msg_1', 'other_1', 'other_2']);
    expect(h.events.resynced).toEqual([{ replayed: 2, gap: false }]);
    h.client.disconnect();
  });

  it('reports no resynced for a liveness probe that found nothing missed, and one when it found a gap', async () => {
    const h = createHarness();
    const socket = await h.connected();
    socket.receive(message(1));
    for (const signal of ['online', 'visible'] as const) {
      h.clock.advance(6_000); // past the server's 5 s resume spacing
      h.page.emit(signal);
      socket.receive({ type: 'resumed', dialog_id: DIALOG, replayed: 0, gap: false, head_seq: 1 });
    }
    expect(socket.framesOf('resume')).toHaveLength(2);
    expect(h.events.resynced).toEqual([]);
    // A probe that finds messages missed beyond the replay window pages them and says so.
    h.clock.advance(6_000);
    h.page.emit('online');
    serveHistory(h, 3);
    socket.receive({ type: 'resumed', dialog_id: DIALOG, replayed: 0, gap: true, head_seq: 3 });
    await settle(6);
    expect(h.events.message.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(h.events.resynced).toEqual([{ replayed: 2, gap: true }]);
    h.client.disconnect();
  });

  it('reports a failed backfill as an error, without resynced, and tries again on the next jump', async () => {
    const h = createHarness();
    const socket = await h.connected();
    socket.receive(message(1));
    h.http.queue.push(() => json(500, { error: 'internal' }));
    socket.receive(message(3));
    await settle();
    expect(h.events.error.map((error) => [error.code, error.detail])).toEqual([
      ['ERR_HISTORY', '500'],
    ]);
    expect(h.events.resynced).toEqual([]);
    serveHistory(h, 4);
    socket.receive(message(4));
    await settle(6);
    expect(h.events.message.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(h.events.resynced).toEqual([{ replayed: 3, gap: true }]);
    h.client.disconnect();
  });

  it('ignores typing, handoff and resumed frames of another dialog, and relays its own', async () => {
    const h = createHarness();
    const socket = await h.connected();
    socket.receive({ type: 'typing', dialog_id: 'elsewhere', sender: 'operator', state: 'start' });
    socket.receive({ type: 'typing', dialog_id: DIALOG, sender: 'operator', state: 'start' });
    socket.receive({
      type: 'handoff',
      dialog_id: DIALOG,
      state: 'operator',
      operator: { name: 'Ann' },
    });
    socket.receive({ type: 'handoff', dialog_id: DIALOG, state: 'requested' });
    expect(h.events.typing).toEqual([{ sender: 'operator', state: 'start' }]);
    expect(h.events.handoff).toEqual([
      { state: 'operator', operator: { name: 'Ann' } },
      { state: 'requested' },
    ]);
    h.client.typing('start');
    h.client.requestHandoff();
    expect(socket.framesOf('typing')).toEqual([
      { type: 'typing', dialog_id: DIALOG, state: 'start' },
    ]);
    expect(socket.framesOf('handoff')).toEqual([
      { type: 'handoff', dialog_id: DIALOG, action: 'request' },
    ]);
    h.client.disconnect();
    h.client.typing('stop'); // not connected: dropped
    expect(socket.framesOf('typing')).toHaveLength(1);
  });
});
