import type { ChatMessage } from '@postern/protocol';
import { describe, expect, it } from 'vitest';
import {
  ackPending,
  addPending,
  contiguousUntil,
  dropPending,
  emptyLog,
  firstSeq,
  hasEarlier,
  LOG_MAX,
  lastSeq,
  leavesGap,
  mergeMessages,
  refusePending,
  unacknowledged,
} from '../../console/src/message-log.js';

const CID = '6f1c2a56-8e0b-4d8e-9a43-0c7f2b1e5d10';
const OTHER_CID = '0b3a9e27-51c4-4f3d-8a61-2f9e7c4d1a88';

function message(seq: number, overrides: Partial<ChatMessage> = {}): ChatMessage {
  return {
    dialog_id: 'd1',
    seq,
    id: `m${seq}`,
    sender: 'visitor',
    text: `text ${seq}`,
    ts: seq * 1_000,
    ...overrides,
  };
}

const seqs = (log: { messages: readonly ChatMessage[] }) => log.messages.map((m) => m.seq);

describe('mergeMessages', () => {
  it('orders by seq whatever the arrival order', () => {
    const log = mergeMessages(emptyLog('d1'), [message(3), message(1), message(2)]);
    expect(seqs(log)).toEqual([1, 2, 3]);
  });

  it('keeps one message per seq: a history page and the live copy do not double', () => {
    const live = mergeMessages(emptyLog('d1'), [message(2), message(3)]);
    const merged = mergeMessages(live, [message(1), message(2, { text: 'again' }), message(3)]);
    expect(seqs(merged)).toEqual([1, 2, 3]);
    expect(merged.messages[1]?.text).toBe('text 2');
  });

  it('returns the same log when nothing is new', () => {
    const log = mergeMessages(emptyLog('d1'), [message(1)]);
    expect(mergeMessages(log, [message(1)])).toBe(log);
    expect(mergeMessages(log, [])).toBe(log);
  });

  it("ignores other dialogs' messages", () => {
    const log = mergeMessages(emptyLog('d1'), [message(1, { dialog_id: 'd2' })]);
    expect(log.messages).toEqual([]);
  });

  it('keeps the newest LOG_MAX messages', () => {
    const many = Array.from({ length: LOG_MAX + 5 }, (_, i) => message(i + 1));
    const log = mergeMessages(emptyLog('d1'), many);
    expect(log.messages).toHaveLength(LOG_MAX);
    expect(firstSeq(log)).toBe(6);
    expect(lastSeq(log)).toBe(LOG_MAX + 5);
  });
});

describe('seq bookkeeping', () => {
  it('knows the first and last seq, and whether earlier ones exist', () => {
    const empty = emptyLog('d1');
    expect([firstSeq(empty), lastSeq(empty), hasEarlier(empty)]).toEqual([null, 0, false]);
    const log = mergeMessages(empty, [message(4), message(5)]);
    expect([firstSeq(log), lastSeq(log), hasEarlier(log)]).toEqual([4, 5, true]);
    expect(hasEarlier(mergeMessages(empty, [message(1)]))).toBe(false);
  });

  it('finds where the first hole starts, for a backfill', () => {
    expect(contiguousUntil(emptyLog('d1'))).toBe(0);
    expect(contiguousUntil(mergeMessages(emptyLog('d1'), [message(5), message(6)]))).toBe(6);
    expect(
      contiguousUntil(mergeMessages(emptyLog('d1'), [message(1), message(2), message(5)])),
    ).toBe(2);
  });

  it('sees a gap when a live message skips seqs after a loaded log', () => {
    const log = mergeMessages(emptyLog('d1'), [message(1), message(2)]);
    expect(leavesGap(log, 3)).toBe(false);
    expect(leavesGap(log, 5)).toBe(true);
    expect(leavesGap(emptyLog('d1'), 5)).toBe(false);
  });
});

describe('pending sends', () => {
  it('shows a send as sending, then acked, then replaced by its message', () => {
    let log = addPending(emptyLog('d1'), CID, 'hello');
    expect(log.pending).toEqual([{ clientMsgId: CID, text: 'hello', status: 'sending' }]);
    log = ackPending(log, CID, 7);
    expect(log.pending[0]).toMatchObject({ status: 'acked', seq: 7 });
    log = mergeMessages(log, [message(7, { sender: 'operator', client_msg_id: CID })]);
    expect(log.pending).toEqual([]);
    expect(seqs(log)).toEqual([7]);
  });

  it('drops an acked send when a message with its seq arrives without client_msg_id', () => {
    let log = ackPending(addPending(emptyLog('d1'), CID, 'hello'), CID, 3);
    log = mergeMessages(log, [message(3, { sender: 'operator' })]);
    expect(log.pending).toEqual([]);
  });

  it('drops the pending entry at once when the ack names a seq already held', () => {
    let log = mergeMessages(emptyLog('d1'), [message(2, { sender: 'operator' })]);
    log = ackPending(addPending(log, CID, 'hello'), CID, 2);
    expect(log.pending).toEqual([]);
  });

  it('adds a client_msg_id once', () => {
    const log = addPending(emptyLog('d1'), CID, 'hello');
    expect(addPending(log, CID, 'hello')).toBe(log);
  });

  it('marks a refused send with the code, and never un-acks an acked one', () => {
    let log = addPending(addPending(emptyLog('d1'), CID, 'a'), OTHER_CID, 'b');
    log = ackPending(log, OTHER_CID, 4);
    log = refusePending(log, CID, 'not_holder');
    log = refusePending(log, OTHER_CID, 'invalid');
    expect(log.pending).toEqual([
      { clientMsgId: CID, text: 'a', status: 'refused', refusal: 'not_holder' },
      { clientMsgId: OTHER_CID, text: 'b', status: 'acked', seq: 4 },
    ]);
  });

  it('lists only unacknowledged sends for a resend, and drops dismissed ones', () => {
    let log = addPending(addPending(emptyLog('d1'), CID, 'a'), OTHER_CID, 'b');
    log = ackPending(log, OTHER_CID, 1);
    expect(unacknowledged(log).map((item) => item.clientMsgId)).toEqual([CID]);
    log = dropPending(log, CID);
    expect(log.pending.map((item) => item.clientMsgId)).toEqual([OTHER_CID]);
  });

  it('ignores acks and refusals for unknown sends', () => {
    const log = addPending(emptyLog('d1'), CID, 'a');
    expect(ackPending(log, OTHER_CID, 1)).toBe(log);
    expect(refusePending(log, OTHER_CID, 'invalid')).toBe(log);
  });
});
