/** Store contract, administration half: the site inventory, a visitor's export and erasure. */
import { describe, expect, it } from 'vitest';
import type { SiteTokenRecord, Store } from '../../src/store/types.js';
import {
  assistantReply,
  change,
  fill,
  MINUTE,
  OPERATOR,
  SHOP,
  seedVisitor,
  systemNote,
  T0,
  tokenHash,
  visitorSend,
} from './fixtures.js';

const token = (jti: string, siteId: string): SiteTokenRecord => ({
  jti,
  siteId,
  allowedDomains: ['shop.example'],
  assistantId: 'assistant-1',
  expiresAt: null,
});

export function describeAdminContract(store: () => Store): void {
  describe('listing sites', () => {
    it('lists nothing in an empty store', async () => {
      expect(await store().listSites()).toEqual([]);
    });

    it('lists used sites and recorded ones by id, each with its tokens by jti', async () => {
      await store().touchSite('site-b', T0);
      await store().touchSite('site-b', T0 + MINUTE);
      await store().recordSiteToken(token('jti-z', 'site-b'), T0);
      await store().recordSiteToken(token('jti-a', 'site-b'), T0);
      // Recorded by the CLI, never used by a visitor: no first or last use yet.
      await store().recordSiteToken({ ...token('jti-c', 'site-a'), expiresAt: T0 + 9 }, T0);
      await store().touchSite('site-c', T0 + 2 * MINUTE);

      expect(await store().listSites()).toEqual([
        {
          id: 'site-a',
          firstSeenAt: null,
          lastSeenAt: null,
          tokens: [{ ...token('jti-c', 'site-a'), expiresAt: T0 + 9 }],
        },
        {
          id: 'site-b',
          firstSeenAt: T0,
          lastSeenAt: T0 + MINUTE,
          tokens: [token('jti-a', 'site-b'), token('jti-z', 'site-b')],
        },
        { id: 'site-c', firstSeenAt: T0 + 2 * MINUTE, lastSeenAt: T0 + 2 * MINUTE, tokens: [] },
      ]);
    });
  });

  describe('exporting a visitor', () => {
    it('answers null for an unknown visitor', async () => {
      expect(await store().exportVisitor('visitor-nobody')).toBeNull();
    });

    it('exports the visitor, its families, dialogs and messages in order, and nobody else’s', async () => {
      const a = await seedVisitor(store(), 'a');
      const other = await seedVisitor(store(), 'b');
      await fill(store(), a, 2);
      await store().appendMessages([visitorSend(other, 'not-a')]);
      await store().setHandoff(a.dialogId, change.take(OPERATOR), systemNote('s-1', T0 + 5));
      await store().setHandoff(a.dialogId, change.close(OPERATOR.id), systemNote('s-2', T0 + 6));
      const second = await store().openDialog(a.visitorId, a.siteId, 'dialog-a2', T0 + MINUTE);
      await store().appendMessages([assistantReply(second.id, 'reply-a2', T0 + MINUTE)]);
      await store().revokeRefreshFamily(a.familyId, T0 + 7);

      const data = await store().exportVisitor(a.visitorId);
      expect(data?.visitor).toEqual({
        id: a.visitorId,
        siteId: 'site-a',
        origin: SHOP,
        createdAt: T0,
      });
      expect(data?.families).toEqual([
        { id: a.familyId, origin: SHOP, createdAt: T0, revokedAt: T0 + 7 },
      ]);
      expect(data?.dialogs.map((d) => [d.id, d.state, d.lastSeq])).toEqual([
        [a.dialogId, 'closed', 4],
        ['dialog-a2', 'open', 1],
      ]);
      expect(data?.messages.map((m) => [m.dialogId, m.seq, m.sender])).toEqual([
        [a.dialogId, 1, 'visitor'],
        [a.dialogId, 2, 'visitor'],
        [a.dialogId, 3, 'system'],
        [a.dialogId, 4, 'system'],
        ['dialog-a2', 1, 'assistant'],
      ]);
      expect(data?.messages[0]).toEqual(
        (await store().listMessages(a.dialogId, { afterSeq: 0, limit: 1 }))[0],
      );
      // Refresh-token hashes are credentials, not the visitor's data: never exported.
      expect(JSON.stringify(data)).not.toContain('hash');
    });
  });

  describe('erasing a visitor', () => {
    it('answers null for an unknown visitor and deletes nothing', async () => {
      const a = await seedVisitor(store(), 'a');
      expect(await store().eraseVisitor('visitor-nobody')).toBeNull();
      expect(await store().findVisitor(a.visitorId)).not.toBeNull();
    });

    it('deletes the visitor with its dialogs, messages, families and tokens, and counts them', async () => {
      const a = await seedVisitor(store(), 'a');
      const b = await seedVisitor(store(), 'b');
      await fill(store(), a, 3);
      await fill(store(), b, 2);
      await store().rotateRefreshToken(a.hash, tokenHash('token-a-2'), T0 + 1);
      await store().setHandoff(a.dialogId, change.take(OPERATOR), systemNote('s-1', T0 + 2));
      await store().setHandoff(a.dialogId, change.close(OPERATOR.id), systemNote('s-2', T0 + 3));
      await store().openDialog(a.visitorId, a.siteId, 'dialog-a2', T0 + 4);

      expect(await store().eraseVisitor(a.visitorId)).toEqual({
        dialogs: 2,
        messages: 5,
        families: 1,
      });
      expect(await store().findVisitor(a.visitorId)).toBeNull();
      expect(await store().exportVisitor(a.visitorId)).toBeNull();
      expect(await store().findDialog(a.dialogId)).toBeNull();
      expect(await store().findDialog('dialog-a2')).toBeNull();
      expect(await store().listMessages(a.dialogId, { limit: 100 })).toEqual([]);
      expect(await store().findRefreshToken(a.hash)).toBeNull();
      expect(await store().findRefreshToken(tokenHash('token-a-2'))).toBeNull();
      expect(await store().listHeldDialogs()).toEqual([]);
      expect((await store().listOpenDialogs({ sites: '*', limit: 10 })).map((d) => d.id)).toEqual([
        b.dialogId,
      ]);
      // Someone else's data is untouched.
      expect((await store().exportVisitor(b.visitorId))?.messages).toHaveLength(2);
      expect(await store().eraseVisitor(a.visitorId)).toBeNull();
    });

    it('leaves no message id or idempotency key behind', async () => {
      const a = await seedVisitor(store(), 'a');
      await store().appendMessages([visitorSend(a, 1)]);
      await store().eraseVisitor(a.visitorId);
      const again = await seedVisitor(store(), 'a');
      const [result] = await store().appendMessages([visitorSend(again, 1)]);
      expect(result).toMatchObject({ kind: 'appended', message: { seq: 1 } });
    });

    it('keeps revocations: the caller revokes the visitor, erasure does not undo it', async () => {
      const a = await seedVisitor(store(), 'a');
      await store().addRevocation({
        kind: 'visitor',
        target: a.visitorId,
        revokedAt: T0,
        actor: 'cli',
      });
      await store().eraseVisitor(a.visitorId);
      expect(await store().listRevocations()).toEqual([
        { kind: 'visitor', target: a.visitorId, revokedAt: T0, actor: 'cli' },
      ]);
    });
  });
}
