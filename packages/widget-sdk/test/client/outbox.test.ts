import { describe, expect, it } from 'vitest';
import {
  createOutbox,
  OUTBOX_MAX_AGE_MS,
  OUTBOX_MAX_BYTES,
  OUTBOX_MAX_MESSAGES,
  type OutboxEntry,
} from '../../src/client/outbox.js';
import { createHarness, DIALOG, message, uuid } from './harness.js';

function recorded() {
  const changes: OutboxEntry[] = [];
  const outbox = createOutbox((entry) => changes.push(entry));
  return {
    outbox,
    changes,
    statuses: () => changes.map((c) => `${c.id}:${c.status}${c.reason ? `:${c.reason}` : ''}`),
  };
}

describe('Outbox', () => {
  it('moves a message queued → sent → acked', () => {
    const { outbox, statuses, changes } = recorded();
    outbox.add('a', '  hi  ', 0);
    expect(outbox.due(0).map((entry) => entry.text)).toEqual(['hi']); // trimmed, as stored
    outbox.markSent('a');
    expect(outbox.due(0)).toEqual([]);
    expect(outbox.settle('a', { id: 'm1', seq: 7 })).toBe(true);
    expect(statuses()).toEqual(['a:queued', 'a:sent', 'a:acked']);
    expect(changes.at(-1)).toMatchObject({ messageId: 'm1', seq: 7 });
    expect(outbox.list()).toEqual([]);
  });

  it('fails text the server would refuse as invalid, at once', () => {
    const { outbox, statuses } = recorded();
    outbox.add('empty', '   ', 0);
    outbox.add('long', 'x'.repeat(4001), 0);
    outbox.add('bidi', 'abc\u202Edef', 0);
    expect(statuses()).toEqual([
      'empty:failed:invalid',
      'long:failed:invalid',
      'bidi:failed:invalid',
    ]);
    expect(outbox.list()).toEqual([]);
  });

  it(`holds at most ${OUTBOX_MAX_MESSAGES} messages; more fail as overflow`, () => {
    const { outbox, changes } = recorded();
    for (let i = 0; i <= OUTBOX_MAX_MESSAGES; i++) outbox.add(`m${i}`, 'hello', 0);
    expect(outbox.list()).toHaveLength(OUTBOX_MAX_MESSAGES);
    expect(changes.at(-1)).toMatchObject({
      id: `m${OUTBOX_MAX_MESSAGES}`,
      status: 'failed',
      reason: 'overflow',
    });
  });

  it('holds at most 256 KB of text (UTF-8); more fails as overflow', () => {
    const { outbox, changes } = recorded();
    const text = '€'.repeat(4000); // 12,000 bytes in UTF-8
    const fits = Math.floor(OUTBOX_MAX_BYTES / 12_000);
    for (let i = 0; i <= fits; i++) outbox.add(`m${i}`, text, 0);
    expect(outbox.list()).toHaveLength(fits);
    expect(changes.at(-1)).toMatchObject({ status: 'failed', reason: 'overflow' });
    outbox.settle('m0', { id: 'x', seq: 1 }); // room again
    outbox.add('later', text, 0);
    expect(changes.at(-1)).toMatchObject({ id: 'later', status: 'queued' });
  });

  it('fails messages still unacknowledged after 24 h as expired', () => {
    const { outbox, statuses } = recorded();
    outbox.add('old', 'hello', 0);
    outbox.markSent('old');
    outbox.requeue();
    outbox.add('new', 'hello', OUTBOX_MAX_AGE_MS - 1);
    expect(outbox.due(OUTBOX_MAX_AGE_MS).map((entry) => entry.id)).toEqual(['new']);
    expect(statuses()).toEqual([
      'old:queued',
      'old:sent',
      'old:queued',
      'new:queued',
      'old:failed:expired',
    ]);
  });

  it('ignores an outcome for an id it does not hold', () => {
    const { outbox, changes } = recorded();
    expect(outbox.settle('nobody', 'invalid')).toBe(false);
    expect(changes).toEqual([]);
  });
});

describe('PosternClient outbox', () => {
  it('returns the client_msg_id at once and reports queued → sent → acked', async () => {
    const h = createHarness();
    const id = h.client.send('hello');
    expect(id).toBe(uuid(1));
    expect(h.events.outbox.map((entry) => entry.status)).toEqual(['queued']);
    expect(h.client.pending).toHaveLength(1);
    const socket = await h.connected();
    expect(socket.framesOf('send')).toEqual([
      { type: 'send', dialog_id: DIALOG, client_msg_id: id, text: 'hello' },
    ]);
    socket.receive({ type: 'ack', client_msg_id: id, id: 'msg_1', seq: 1 });
    socket.receive(message(1, { client_msg_id: id, sender: 'visitor', text: 'hello' }));
    expect(h.events.outbox.map((entry) => entry.status)).toEqual(['queued', 'sent', 'acked']);
    expect(h.events.outbox.at(-1)).toMatchObject({ id, messageId: 'msg_1', seq: 1 });
    expect(h.events.message.map((m) => m.id)).toEqual(['msg_1']);
    expect(h.client.pending).toEqual([]);
    h.client.disconnect();
  });

  it('re-sends unacknowledged messages with the same id after a reconnect, until acked', async () => {
    const h = createHarness();
    const first = await h.connected();
    const id = h.client.send('are you there?');
    expect(first.framesOf('send')).toHaveLength(1);
    first.serverClose(1011); // the ack never came
    expect(h.events.outbox.map((entry) => entry.status)).toEqual(['queued', 'sent', 'queued']);
    await h.wait(250);
    const second = await h.accept();
    expect(second.framesOf('send')).toEqual([
      { type: 'send', dialog_id: DIALOG, client_msg_id: id, text: 'are you there?' },
    ]);
    // The server had committed it before: the replay carries it and the re-send gets the
    // original ack. One message, one acked event.
    second.receive(message(1, { client_msg_id: id, sender: 'visitor', text: 'are you there?' }));
    second.receive({ type: 'ack', client_msg_id: id, id: 'msg_1', seq: 1 });
    expect(h.events.outbox.filter((entry) => entry.status === 'acked')).toHaveLength(1);
    expect(h.events.message).toHaveLength(1);
    h.client.disconnect();
  });

  it('fails a message the server refuses, with the reason', async () => {
    const h = createHarness();
    const socket = await h.connected();
    const limited = h.client.send('one');
    const closed = h.client.send('two');
    const bad = h.client.send('three');
    socket.receive({ type: 'error', code: 'rate_limited', ref: limited });
    socket.receive({ type: 'error', code: 'dialog_closed', ref: closed });
    socket.receive({ type: 'error', code: 'invalid', ref: bad });
    const failed = h.events.outbox.filter((entry) => entry.status === 'failed');
    expect(failed.map((entry) => [entry.id, entry.reason])).toEqual([
      [limited, 'rate_limited'],
      [closed, 'dialog_closed'],
      [bad, 'invalid'],
    ]);
    expect(h.events.error).toEqual([]);
    socket.receive({ type: 'error', code: 'rate_limited', ref: DIALOG }); // not one of ours
    expect(h.events.error.map((error) => [error.code, error.detail])).toEqual([
      ['ERR_REFUSED', 'rate_limited'],
    ]);
    h.client.disconnect();
  });

  it('fails invalid text at once, without sending it', async () => {
    const h = createHarness();
    const socket = await h.connected();
    h.client.send('   ');
    expect(h.events.outbox).toEqual([
      expect.objectContaining({ status: 'failed', reason: 'invalid' }),
    ]);
    expect(socket.framesOf('send')).toEqual([]);
    h.client.disconnect();
  });

  it('fails a message as expired after 24 h without a connection, while attempts keep failing', async () => {
    const h = createHarness();
    (await h.connected()).serverClose(1011);
    const id = h.client.send('still there?');
    await h.wait(30_000);
    h.latest().serverClose(1011);
    expect(h.client.pending.map((entry) => entry.status)).toEqual(['queued']);
    h.clock.jump(OUTBOX_MAX_AGE_MS); // a day offline (or asleep)
    await h.wait(30_000);
    h.latest().serverClose(1011);
    expect(h.events.outbox.map((entry) => `${entry.id}:${entry.status}`)).toEqual([
      `${id}:queued`,
      `${id}:failed`,
    ]);
    expect(h.events.outbox.at(-1)?.reason).toBe('expired');
    expect(h.client.pending).toEqual([]);
    h.client.disconnect();
  });

  it('shows each message once, however often it arrives', async () => {
    const h = createHarness();
    const socket = await h.connected();
    socket.receive(message(1));
    socket.receive(message(1));
    socket.receive(message(2));
    socket.receive(message(1));
    expect(h.events.message.map((m) => m.id)).toEqual(['msg_1', 'msg_2']);
    h.client.disconnect();
  });
});
