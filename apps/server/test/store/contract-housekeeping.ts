/** Store contract, housekeeping: idle close, and the purge of what never held a message. */
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import {
  change,
  idSource,
  MINUTE,
  OPERATOR,
  seedVisitor,
  systemNote,
  T0,
  tokenHash,
  visitorSend,
} from './fixtures.js';

export function describeHousekeepingContract(store: () => Store): void {
  describe('idle close', () => {
    const IDLE = T0 + 60 * MINUTE;

    it('closes dialogs idle before the cut, oldest first, each with a system message', async () => {
      const old = await seedVisitor(store(), 'old');
      const held = await seedVisitor(store(), 'held');
      const fresh = await seedVisitor(store(), 'fresh');
      await store().appendMessages([
        visitorSend(old, 1, T0 + 10 * MINUTE),
        visitorSend(held, 1, T0 + 5 * MINUTE),
        visitorSend(fresh, 1, T0),
        visitorSend(fresh, 2, IDLE), // activity exactly at the cut is not idle
      ]);
      await store().setHandoff(
        held.dialogId,
        change.take(OPERATOR),
        systemNote('s-1', T0 + 20 * MINUTE),
      );
      const now = IDLE + 1;
      const closed = await store().closeIdleDialogs(
        IDLE,
        now,
        'closed for inactivity',
        idSource('idle'),
      );
      expect(closed.map((c) => c.dialog.id)).toEqual([old.dialogId, held.dialogId]);
      expect(closed[0]).toEqual({
        dialog: { ...(await store().findDialog(old.dialogId)), state: 'closed' },
        message: {
          dialogId: old.dialogId,
          seq: 2,
          id: 'idle-1',
          clientMsgId: null,
          sender: 'system',
          senderId: null,
          text: 'closed for inactivity',
          ts: now,
        },
      });
      expect(closed[1]?.dialog).toMatchObject({
        state: 'closed',
        handoff: 'closed',
        holder: null,
        lastSeq: 3,
      });
      expect(await store().findDialog(fresh.dialogId)).toMatchObject({ state: 'open' });
      expect(await store().listHeldDialogs()).toEqual([]);
      expect(await store().closeIdleDialogs(IDLE, now, 'again', idSource('x'))).toEqual([]);
    });

    it('closes an idle empty dialog without a message, by its creation time', async () => {
      const empty = await seedVisitor(store(), 'empty', { now: T0 });
      await seedVisitor(store(), 'recent', { now: IDLE });
      const closed = await store().closeIdleDialogs(IDLE, IDLE + 1, 'idle', idSource('idle'));
      expect(closed).toEqual([
        {
          dialog: { ...(await store().findDialog(empty.dialogId)), state: 'closed' },
          message: null,
        },
      ]);
      expect(closed[0]?.dialog).toMatchObject({
        lastSeq: 0,
        lastMessageAt: null,
        handoff: 'closed',
      });
    });

    it('closes at most `limit` dialogs per call', async () => {
      for (const name of ['a', 'b', 'c']) await seedVisitor(store(), name, { now: T0 });
      const first = await store().closeIdleDialogs(IDLE, IDLE, 'idle', idSource('i'), 2);
      expect(first.map((c) => c.dialog.id)).toEqual(['dialog-a', 'dialog-b']);
      const rest = await store().closeIdleDialogs(IDLE, IDLE, 'idle', idSource('j'), 2);
      expect(rest.map((c) => c.dialog.id)).toEqual(['dialog-c']);
    });

    it('lets the visitor open a new dialog afterwards', async () => {
      const s = await seedVisitor(store(), 'v', { now: T0 });
      await store().closeIdleDialogs(IDLE, IDLE, 'idle', idSource('i'));
      const next = await store().openDialog(s.visitorId, s.siteId, 'dialog-next', IDLE);
      expect(next).toMatchObject({ id: 'dialog-next', state: 'open' });
    });
  });

  describe('purging what never held a message', () => {
    const CUT = T0 + 24 * 60 * MINUTE;

    it('deletes old empty visitors with their families, tokens and dialogs', async () => {
      const gone = await seedVisitor(store(), 'gone', { now: T0 });
      const recent = await seedVisitor(store(), 'recent', { now: CUT });
      expect(await store().purgeEmpty(CUT)).toEqual({ visitors: 1, dialogs: 1 });
      expect(await store().findVisitor(gone.visitorId)).toBeNull();
      expect(await store().findDialog(gone.dialogId)).toBeNull();
      expect(await store().findRefreshToken(gone.hash)).toBeNull();
      expect(await store().findVisitor(recent.visitorId)).not.toBeNull();
      expect(await store().findDialog(recent.dialogId)).not.toBeNull();
    });

    it('keeps visitors with messages and their dialogs with messages, open or closed', async () => {
      const kept = await seedVisitor(store(), 'kept', { now: T0 });
      await store().appendMessages([visitorSend(kept, 1, T0)]);
      await store().setHandoff(kept.dialogId, change.take(OPERATOR), systemNote('s-1'));
      await store().setHandoff(kept.dialogId, change.close(OPERATOR.id), systemNote('s-2'));
      await store().openDialog(kept.visitorId, kept.siteId, 'dialog-kept-2', T0 + 1);
      const talking = await seedVisitor(store(), 'talking', { now: T0 });
      await store().appendMessages([visitorSend(talking, 1, T0)]);

      expect(await store().purgeEmpty(CUT)).toEqual({ visitors: 0, dialogs: 1 });
      expect(await store().findDialog('dialog-kept-2')).toBeNull();
      expect(await store().findVisitor(kept.visitorId)).not.toBeNull();
      expect(await store().findRefreshToken(kept.hash)).not.toBeNull();
      expect(await store().listMessages(kept.dialogId, { limit: 10 })).toHaveLength(3);
      expect(await store().findDialog(talking.dialogId)).toMatchObject({
        state: 'open',
        lastSeq: 1,
      });
      // The purge freed the one-open-dialog slot: a new dialog can be opened.
      const next = await store().openDialog(kept.visitorId, kept.siteId, 'dialog-kept-3', CUT);
      expect(next.id).toBe('dialog-kept-3');
    });

    it('purges an old visitor with no messages even when its empty dialog is recent', async () => {
      const s = await seedVisitor(store(), 'v', { now: T0 });
      await store().rotateRefreshToken(s.hash, tokenHash('next'), T0 + 5);
      await store().closeIdleDialogs(T0 + 1, T0 + 1, 'idle', idSource('i'));
      await store().openDialog(s.visitorId, s.siteId, 'dialog-recent', CUT + 5);
      expect(await store().purgeEmpty(CUT)).toEqual({ visitors: 1, dialogs: 2 });
      expect(await store().findDialog('dialog-recent')).toBeNull();
      expect(await store().findRefreshToken(tokenHash('next'))).toBeNull();
    });

    it('purges nothing twice, and nothing created at the cut', async () => {
      await seedVisitor(store(), 'edge', { now: CUT });
      expect(await store().purgeEmpty(CUT)).toEqual({ visitors: 0, dialogs: 0 });
      expect(await store().purgeEmpty(CUT)).toEqual({ visitors: 0, dialogs: 0 });
    });
  });
}
