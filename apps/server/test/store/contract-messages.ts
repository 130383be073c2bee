/** Store contract, messages: group-committed appends, idempotency, gapless seqs, history pages. */
import { describe, expect, it } from 'vitest';
import type { AppendInput, MessageRecord, Store } from '../../src/store/types.js';
import {
  assistantReply,
  change,
  fill,
  OPERATOR,
  seedVisitor,
  systemNote,
  T0,
  visitorSend,
} from './fixtures.js';

const seqs = (messages: readonly MessageRecord[]) => messages.map((m) => m.seq);

export function describeMessageContract(store: () => Store): void {
  describe('appending messages', () => {
    it('stores a message with seq 1 and moves the dialog head', async () => {
      const s = await seedVisitor(store(), 'v');
      const input = visitorSend(s, 1, T0 + 10);
      const [result] = await store().appendMessages([input]);
      const stored = { ...input, seq: 1 };
      expect(result).toEqual({ kind: 'appended', message: stored });
      expect(await store().listMessages(s.dialogId, { limit: 10 })).toEqual([stored]);
      expect(await store().findDialog(s.dialogId)).toMatchObject({
        lastSeq: 1,
        lastMessageAt: T0 + 10,
      });
    });

    it('answers an empty batch with no results', async () => {
      expect(await store().appendMessages([])).toEqual([]);
    });

    it('keeps seqs gapless per dialog across a batch of 500 spread over 7 dialogs', async () => {
      const dialogs = await Promise.all(
        Array.from({ length: 7 }, (_, i) => seedVisitor(store(), `v${i}`)),
      );
      // A skewed spread, as concurrent senders would make it, with ids unique per batch slot.
      const batch = Array.from({ length: 500 }, (_, i) => {
        const seeded = dialogs[(i * i + 3 * i) % 7] ?? dialogs[0];
        if (!seeded) throw new Error('no dialog');
        return visitorSend(seeded, i, T0 + i);
      });
      const results = await store().appendMessages(batch);
      expect(results.map((r) => r.kind)).toEqual(batch.map(() => 'appended'));
      // Results come in input order, and each dialog's seqs run 1, 2, 3… in that order.
      const next = new Map<string, number>();
      results.forEach((result, i) => {
        const input = batch[i] as AppendInput;
        const expected = (next.get(input.dialogId) ?? 0) + 1;
        next.set(input.dialogId, expected);
        expect(result).toEqual({ kind: 'appended', message: { ...input, seq: expected } });
      });
      for (const s of dialogs) {
        const count = next.get(s.dialogId) ?? 0;
        const stored = await store().listMessages(s.dialogId, { afterSeq: 0, limit: 500 });
        expect(seqs(stored)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
        expect(await store().findDialog(s.dialogId)).toMatchObject({ lastSeq: count });
      }
      expect([...next.values()].reduce((a, b) => a + b, 0)).toBe(500);
    });

    it('continues the seq of later batches where the earlier ones stopped', async () => {
      const s = await seedVisitor(store(), 'v');
      await fill(store(), s, 3);
      const [result] = await store().appendMessages([assistantReply(s.dialogId, 'a-1')]);
      expect(result).toMatchObject({ kind: 'appended', message: { seq: 4 } });
    });

    it('answers a duplicate with the original message, appending nothing', async () => {
      const s = await seedVisitor(store(), 'v');
      const first = visitorSend(s, 1, T0);
      await store().appendMessages([first]);
      const retry = { ...first, id: 'msg-retry', text: 'changed', ts: T0 + 5 };
      const [result] = await store().appendMessages([retry]);
      expect(result).toEqual({ kind: 'duplicate', message: { ...first, seq: 1 } });
      expect(await store().findDialog(s.dialogId)).toMatchObject({ lastSeq: 1, lastMessageAt: T0 });
      expect(await store().listMessages(s.dialogId, { limit: 10 })).toHaveLength(1);
    });

    it('spots a duplicate within one batch, which uses no seq', async () => {
      const s = await seedVisitor(store(), 'v');
      const first = visitorSend(s, 1);
      const results = await store().appendMessages([
        first,
        { ...first, id: 'msg-again' },
        visitorSend(s, 2),
      ]);
      expect(results.map((r) => r.kind)).toEqual(['appended', 'duplicate', 'appended']);
      expect(results[1]).toEqual({ kind: 'duplicate', message: { ...first, seq: 1 } });
      expect(results[2]).toMatchObject({ message: { seq: 2 } });
    });

    it('keys idempotency by dialog, sender and sender id together', async () => {
      const s = await seedVisitor(store(), 'v');
      const other = await seedVisitor(store(), 'w');
      const clientMsgId = 'same-client-id';
      const results = await store().appendMessages([
        { ...visitorSend(s, 1), clientMsgId },
        { ...visitorSend(other, 1), clientMsgId },
        { ...visitorSend(s, 2), clientMsgId, sender: 'operator', senderId: OPERATOR.id },
        { ...visitorSend(s, 3), clientMsgId, senderId: 'visitor-someone-else' },
      ]);
      expect(results.map((r) => r.kind)).toEqual(['appended', 'appended', 'appended', 'appended']);
    });

    it('never treats messages without a client id as duplicates of each other', async () => {
      const s = await seedVisitor(store(), 'v');
      const results = await store().appendMessages([
        assistantReply(s.dialogId, 'a-1'),
        assistantReply(s.dialogId, 'a-2'),
        { ...visitorSend(s, 1), clientMsgId: null },
        { ...visitorSend(s, 2), clientMsgId: null },
      ]);
      expect(results.map((r) => r.kind)).toEqual(['appended', 'appended', 'appended', 'appended']);
    });

    it('refuses closed and missing dialogs in place, appending the rest of the batch', async () => {
      const open = await seedVisitor(store(), 'open');
      const closed = await seedVisitor(store(), 'closed');
      await store().appendMessages([visitorSend(closed, 1)]);
      await store().setHandoff(closed.dialogId, change.take(OPERATOR), systemNote('s-1'));
      await store().setHandoff(closed.dialogId, change.close(OPERATOR.id), systemNote('s-2'));
      const results = await store().appendMessages([
        visitorSend(open, 1),
        visitorSend(closed, 2),
        { ...visitorSend(open, 2), dialogId: 'dialog-nope' },
        visitorSend(open, 3),
      ]);
      expect(results.map((r) => r.kind)).toEqual([
        'appended',
        'dialog_closed',
        'not_found',
        'appended',
      ]);
      expect(results[3]).toMatchObject({ message: { seq: 2 } });
      expect(await store().findDialog(closed.dialogId)).toMatchObject({ lastSeq: 3 });
    });

    it('still answers a retried send with its original once the dialog is closed', async () => {
      const s = await seedVisitor(store(), 'v');
      await store().appendMessages([visitorSend(s, 1)]);
      await store().setHandoff(s.dialogId, change.take(OPERATOR), systemNote('s-1'));
      await store().setHandoff(s.dialogId, change.close(OPERATOR.id), systemNote('s-2'));
      const [result] = await store().appendMessages([visitorSend(s, 1)]);
      expect(result).toMatchObject({ kind: 'duplicate', message: { seq: 1 } });
    });

    it('never moves last activity back when a later message carries an earlier ts', async () => {
      const s = await seedVisitor(store(), 'v');
      await store().appendMessages([visitorSend(s, 1, T0 + 50), visitorSend(s, 2, T0 + 20)]);
      expect(await store().findDialog(s.dialogId)).toMatchObject({
        lastSeq: 2,
        lastMessageAt: T0 + 50,
      });
    });

    it.each<[string, Partial<AppendInput>]>([
      ['a visitor without identity', { senderId: null }],
      ['an assistant with identity', { sender: 'assistant', clientMsgId: null }],
      ['a client id without identity', { sender: 'system', senderId: null }],
      ['an unknown sender', { sender: 'admin' as AppendInput['sender'] }],
      ['a fractional ts', { ts: T0 + 0.5 }],
    ])('refuses %s, committing nothing of the batch', async (_, broken) => {
      const s = await seedVisitor(store(), 'v');
      const batch = [visitorSend(s, 1), { ...visitorSend(s, 2), ...broken }];
      await expect(store().appendMessages(batch)).rejects.toThrow(TypeError);
      expect(await store().findDialog(s.dialogId)).toMatchObject({ lastSeq: 0 });
    });

    it('refuses a reused message id, committing nothing of the batch', async () => {
      const s = await seedVisitor(store(), 'v');
      await store().appendMessages([visitorSend(s, 1)]);
      const reused = { ...visitorSend(s, 3), id: visitorSend(s, 1).id };
      await expect(store().appendMessages([visitorSend(s, 2), reused])).rejects.toThrow();
      const twice = [visitorSend(s, 4), { ...visitorSend(s, 5), id: visitorSend(s, 4).id }];
      await expect(store().appendMessages(twice)).rejects.toThrow();
      expect(await store().findDialog(s.dialogId)).toMatchObject({ lastSeq: 1 });
    });
  });

  describe('history pages', () => {
    const page = async (p: Parameters<Store['listMessages']>[1], dialogId = 'dialog-v') =>
      seqs(await store().listMessages(dialogId, p));
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => from + i);

    it('pages forward after a seq, up to the limit', async () => {
      await fill(store(), await seedVisitor(store(), 'v'), 10);
      expect(await page({ afterSeq: 0, limit: 3 })).toEqual([1, 2, 3]);
      expect(await page({ afterSeq: 7, limit: 50 })).toEqual([8, 9, 10]);
      expect(await page({ afterSeq: 9, limit: 1 })).toEqual([10]);
    });

    it('answers an empty page after the head, or past it', async () => {
      await fill(store(), await seedVisitor(store(), 'v'), 10);
      expect(await page({ afterSeq: 10, limit: 50 })).toEqual([]);
      expect(await page({ afterSeq: 99, limit: 50 })).toEqual([]);
    });

    it('pages backward: the messages right before a seq, ascending', async () => {
      await fill(store(), await seedVisitor(store(), 'v'), 10);
      expect(await page({ beforeSeq: 6, limit: 2 })).toEqual([4, 5]);
      expect(await page({ beforeSeq: 4, limit: 50 })).toEqual([1, 2, 3]);
      expect(await page({ beforeSeq: 2, limit: 50 })).toEqual([1]);
      expect(await page({ beforeSeq: 99, limit: 2 })).toEqual([9, 10]);
    });

    it('answers an empty page before seq 1', async () => {
      await fill(store(), await seedVisitor(store(), 'v'), 10);
      expect(await page({ beforeSeq: 1, limit: 50 })).toEqual([]);
      expect(await page({ beforeSeq: 0, limit: 50 })).toEqual([]);
    });

    it('gives the latest page without bounds, and the window between both bounds', async () => {
      await fill(store(), await seedVisitor(store(), 'v'), 10);
      expect(await page({ limit: 3 })).toEqual([8, 9, 10]);
      expect(await page({ limit: 100 })).toEqual(range(1, 10));
      expect(await page({ afterSeq: 2, beforeSeq: 6, limit: 50 })).toEqual([3, 4, 5]);
      expect(await page({ afterSeq: 2, beforeSeq: 6, limit: 2 })).toEqual([3, 4]);
      expect(await page({ afterSeq: 6, beforeSeq: 3, limit: 50 })).toEqual([]);
    });

    it('honours limits from 0 to more than there is, and refuses bad ones', async () => {
      await fill(store(), await seedVisitor(store(), 'v'), 120);
      expect(await page({ limit: 0 })).toEqual([]);
      expect(await page({ afterSeq: 0, limit: 0 })).toEqual([]);
      expect(await page({ afterSeq: 0, limit: 1 })).toEqual([1]);
      expect(await page({ afterSeq: 0, limit: 100 })).toEqual(range(1, 100));
      expect(await page({ limit: 500 })).toEqual(range(1, 120));
      for (const limit of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(page({ limit })).rejects.toThrow(RangeError);
      }
      await expect(page({ afterSeq: -1, limit: 1 })).rejects.toThrow(RangeError);
      await expect(page({ beforeSeq: 2.5, limit: 1 })).rejects.toThrow(RangeError);
    });

    it('keeps dialogs apart, and answers an empty page for an unknown dialog', async () => {
      await fill(store(), await seedVisitor(store(), 'v'), 3);
      await fill(store(), await seedVisitor(store(), 'w'), 5);
      expect(await page({ limit: 50 })).toEqual([1, 2, 3]);
      expect(await page({ limit: 50 }, 'dialog-w')).toEqual(range(1, 5));
      expect(await page({ limit: 50 }, 'dialog-nope')).toEqual([]);
    });
  });
}
