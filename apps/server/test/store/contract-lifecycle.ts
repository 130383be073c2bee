/** Store contract, dialog lifecycle: operator listings and the handoff compare-and-set. */
import { describe, expect, it } from 'vitest';
import type { DialogRecord, Store } from '../../src/store/types.js';
import {
  change,
  fill,
  MINUTE,
  OPERATOR,
  OTHER_OPERATOR,
  seedVisitor,
  systemNote,
  T0,
  visitorSend,
} from './fixtures.js';

const idsOf = (dialogs: readonly DialogRecord[]) => dialogs.map((d) => d.id);

export function describeLifecycleContract(store: () => Store): void {
  describe('listing open dialogs', () => {
    /** Dialogs a..e on two sites, active at distinct times; e stays empty, d gets closed. */
    async function seedActivity() {
      const at = { a: 30, b: 50, c: 10, d: 40 } as const;
      for (const [name, minute] of Object.entries(at)) {
        const siteId = name === 'b' ? 'site-b' : 'site-a';
        const s = await seedVisitor(store(), name, { siteId });
        await store().appendMessages([visitorSend(s, 1, T0 + minute * MINUTE)]);
      }
      await seedVisitor(store(), 'e', { siteId: 'site-b' });
      await store().setHandoff('dialog-d', change.take(OPERATOR), systemNote('s-1', T0));
      await store().setHandoff('dialog-d', change.close(OPERATOR.id), systemNote('s-2', T0));
    }

    it('lists open dialogs with messages, latest activity first, hiding empty ones', async () => {
      await seedActivity();
      const all = await store().listOpenDialogs({ sites: '*', limit: 10 });
      expect(idsOf(all)).toEqual(['dialog-b', 'dialog-a', 'dialog-c']);
      expect(all[0]).toMatchObject({
        siteId: 'site-b',
        lastSeq: 1,
        lastMessageAt: T0 + 50 * MINUTE,
      });
    });

    it('keeps to the scope’s sites', async () => {
      await seedActivity();
      const scoped = (sites: readonly string[]) => store().listOpenDialogs({ sites, limit: 10 });
      expect(idsOf(await scoped(['site-a']))).toEqual(['dialog-a', 'dialog-c']);
      expect(idsOf(await scoped(['site-b', 'site-x']))).toEqual(['dialog-b']);
      expect(idsOf(await scoped(['site-a', 'site-b']))).toEqual([
        'dialog-b',
        'dialog-a',
        'dialog-c',
      ]);
      expect(await scoped([])).toEqual([]);
      expect(await scoped(['*'])).toEqual([]); // '*' is a scope, never a site id
    });

    it('stops at the limit, and breaks activity ties by id, descending', async () => {
      for (const name of ['x', 'z', 'y']) {
        const s = await seedVisitor(store(), name);
        await store().appendMessages([visitorSend(s, 1, T0)]);
      }
      const list = (limit: number) => store().listOpenDialogs({ sites: '*', limit });
      expect(idsOf(await list(10))).toEqual(['dialog-z', 'dialog-y', 'dialog-x']);
      expect(idsOf(await list(2))).toEqual(['dialog-z', 'dialog-y']);
      expect(await list(0)).toEqual([]);
      await expect(list(-1)).rejects.toThrow(RangeError);
    });

    it('shows a dialog from its first message, even a system one', async () => {
      const s = await seedVisitor(store(), 'v');
      expect(await store().listOpenDialogs({ sites: '*', limit: 10 })).toEqual([]);
      await store().setHandoff(s.dialogId, change.request, systemNote('s-1', T0 + 1));
      expect(idsOf(await store().listOpenDialogs({ sites: '*', limit: 10 }))).toEqual([s.dialogId]);
    });
  });

  describe('handoff', () => {
    it('moves assistant → requested → operator → requested, each with a message', async () => {
      const s = await seedVisitor(store(), 'v');
      await fill(store(), s, 2);
      const requested = await store().setHandoff(
        s.dialogId,
        change.request,
        systemNote('s-1', T0 + 7),
      );
      expect(requested).toEqual({
        kind: 'changed',
        dialog: { ...(await store().findDialog(s.dialogId)), handoff: 'requested', lastSeq: 3 },
        message: {
          dialogId: s.dialogId,
          seq: 3,
          id: 's-1',
          clientMsgId: null,
          sender: 'system',
          senderId: null,
          text: 'handoff changed',
          ts: T0 + 7,
        },
      });
      const taken = await store().setHandoff(s.dialogId, change.take(OPERATOR), systemNote('s-2'));
      expect(taken).toMatchObject({
        kind: 'changed',
        dialog: { handoff: 'operator', holder: OPERATOR, state: 'open', lastSeq: 4 },
        message: { seq: 4, sender: 'system' },
      });
      const released = await store().setHandoff(
        s.dialogId,
        change.release(OPERATOR.id),
        systemNote('s-3'),
      );
      expect(released).toMatchObject({
        dialog: { handoff: 'requested', holder: null, lastSeq: 5 },
      });
      const history = await store().listMessages(s.dialogId, { afterSeq: 2, limit: 10 });
      expect(history.map((m) => [m.seq, m.id])).toEqual([
        [3, 's-1'],
        [4, 's-2'],
        [5, 's-3'],
      ]);
    });

    it('answers conflict with the current dialog, changing and appending nothing', async () => {
      const s = await seedVisitor(store(), 'v');
      await store().setHandoff(s.dialogId, change.take(OPERATOR), systemNote('s-1'));
      const before = await store().findDialog(s.dialogId);
      const attempts = [
        store().setHandoff(s.dialogId, change.take(OTHER_OPERATOR), systemNote('s-2')),
        store().setHandoff(s.dialogId, change.release(OTHER_OPERATOR.id), systemNote('s-3')),
        store().setHandoff(s.dialogId, change.close(OTHER_OPERATOR.id), systemNote('s-4')),
        store().setHandoff(s.dialogId, change.request, systemNote('s-5')),
      ];
      for (const result of await Promise.all(attempts)) {
        expect(result).toEqual({ kind: 'conflict', dialog: before });
      }
      expect(await store().findDialog(s.dialogId)).toEqual(before);
      expect(await store().listMessages(s.dialogId, { limit: 10 })).toHaveLength(1);
    });

    it('checks the expected holder even when the state matches', async () => {
      const s = await seedVisitor(store(), 'v');
      const guarded = { ...change.take(OPERATOR), expectHolderId: OPERATOR.id };
      const result = await store().setHandoff(s.dialogId, guarded, systemNote('s-1'));
      expect(result).toMatchObject({ kind: 'conflict', dialog: { handoff: 'assistant' } });
    });

    it('lets exactly one of two concurrent takes win', async () => {
      const s = await seedVisitor(store(), 'v');
      const results = await Promise.all([
        store().setHandoff(s.dialogId, change.take(OPERATOR), systemNote('s-1')),
        store().setHandoff(s.dialogId, change.take(OTHER_OPERATOR), systemNote('s-2')),
      ]);
      expect(results.map((r) => r.kind).sort()).toEqual(['changed', 'conflict']);
      expect(await store().findDialog(s.dialogId)).toMatchObject({ lastSeq: 1 });
    });

    it('closes the dialog with `to: closed`; then only dialog_closed comes back', async () => {
      const s = await seedVisitor(store(), 'v');
      await store().setHandoff(s.dialogId, change.take(OPERATOR), systemNote('s-1'));
      const closed = await store().setHandoff(
        s.dialogId,
        change.close(OPERATOR.id),
        systemNote('s-2', T0 + 9),
      );
      expect(closed).toMatchObject({
        kind: 'changed',
        dialog: { state: 'closed', handoff: 'closed', holder: null, lastSeq: 2 },
        message: { seq: 2, id: 's-2', ts: T0 + 9 },
      });
      const again = await store().setHandoff(s.dialogId, change.request, systemNote('s-3'));
      expect(again).toEqual({ kind: 'dialog_closed' });
      expect(await store().listOpenDialogs({ sites: '*', limit: 10 })).toEqual([]);
    });

    it('answers not_found for an unknown dialog', async () => {
      const result = await store().setHandoff('dialog-nope', change.request, systemNote('s-1'));
      expect(result).toEqual({ kind: 'not_found' });
    });

    it('refuses a holder that does not fit the target state', async () => {
      const s = await seedVisitor(store(), 'v');
      const noHolder = { ...change.take(OPERATOR), holder: null };
      const strayHolder = { ...change.request, holder: OPERATOR };
      await expect(store().setHandoff(s.dialogId, noHolder, systemNote('s-1'))).rejects.toThrow(
        TypeError,
      );
      await expect(store().setHandoff(s.dialogId, strayHolder, systemNote('s-2'))).rejects.toThrow(
        TypeError,
      );
      expect(await store().findDialog(s.dialogId)).toMatchObject({
        lastSeq: 0,
        handoff: 'assistant',
      });
    });

    it('lists held dialogs, all or by holder', async () => {
      for (const [name, holder] of [
        ['a', OPERATOR],
        ['b', OTHER_OPERATOR],
        ['c', OPERATOR],
      ] as const) {
        const s = await seedVisitor(store(), name);
        await store().setHandoff(s.dialogId, change.take(holder), systemNote(`s-${name}`));
      }
      await store().setHandoff('dialog-c', change.release(OPERATOR.id), systemNote('s-r'));
      expect(idsOf(await store().listHeldDialogs())).toEqual(['dialog-a', 'dialog-b']);
      expect(idsOf(await store().listHeldDialogs(OPERATOR.id))).toEqual(['dialog-a']);
      expect(await store().listHeldDialogs('operator-nobody')).toEqual([]);
    });
  });
}
