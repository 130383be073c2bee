/** Store contract, session half: sites, site tokens, revocations, sessions, refresh, dialogs. */
import { describe, expect, it } from 'vitest';
import type { Revocation, SiteTokenRecord, Store } from '../../src/store/types.js';
import { change, OPERATOR, SHOP, seedVisitor, systemNote, T0, tokenHash } from './fixtures.js';

const SITE_TOKEN: SiteTokenRecord = {
  jti: 'jti-1',
  siteId: 'site-a',
  allowedDomains: ['shop.example', 'example.org'],
  assistantId: 'assistant-1',
  expiresAt: null,
};

const byTarget = (a: Revocation, b: Revocation) =>
  `${a.kind}:${a.target}`.localeCompare(`${b.kind}:${b.target}`);

export function describeSessionContract(store: () => Store): void {
  describe('sites and site tokens', () => {
    it('records a site on first use and touches it again without complaint', async () => {
      await expect(store().touchSite('site-a', T0)).resolves.toBeUndefined();
      await expect(store().touchSite('site-a', T0 + 1)).resolves.toBeUndefined();
    });

    it('finds a recorded site token as it was recorded, and null for an unknown jti', async () => {
      await store().recordSiteToken(SITE_TOKEN, T0);
      await store().recordSiteToken({ ...SITE_TOKEN, jti: 'jti-2', expiresAt: T0 + 5 }, T0);
      expect(await store().findSiteToken('jti-1')).toEqual(SITE_TOKEN);
      expect(await store().findSiteToken('jti-2')).toMatchObject({ expiresAt: T0 + 5 });
      expect(await store().findSiteToken('jti-3')).toBeNull();
    });

    it('keeps the first record of a jti: a jti never changes meaning', async () => {
      await store().recordSiteToken(SITE_TOKEN, T0);
      await store().recordSiteToken({ ...SITE_TOKEN, siteId: 'site-b', allowedDomains: [] }, T0);
      expect(await store().findSiteToken('jti-1')).toEqual(SITE_TOKEN);
    });

    it('does not share the caller’s domain array', async () => {
      const domains = ['shop.example'];
      await store().recordSiteToken({ ...SITE_TOKEN, allowedDomains: domains }, T0);
      domains.push('evil.example');
      const found = await store().findSiteToken('jti-1');
      expect(found?.allowedDomains).toEqual(['shop.example']);
    });
  });

  describe('revocations', () => {
    const jti: Revocation = { kind: 'jti', target: 't-1', revokedAt: T0, actor: 'admin' };

    it('stores a revocation once; a repeat resolves false and keeps the original', async () => {
      expect(await store().addRevocation(jti)).toBe(true);
      expect(await store().addRevocation({ ...jti, revokedAt: T0 + 9, actor: 'cli' })).toBe(false);
      expect(await store().listRevocations()).toEqual([jti]);
    });

    it('keys revocations by kind and target together', async () => {
      await store().addRevocation(jti);
      expect(await store().addRevocation({ ...jti, kind: 'visitor' })).toBe(true);
      expect(await store().addRevocation({ ...jti, kind: 'site', target: 't-2' })).toBe(true);
      expect(await store().listRevocations()).toHaveLength(3);
    });

    it('lists everything without `now`, and only what is still in force at `now`', async () => {
      const forever: Revocation = { kind: 'site', target: 's', revokedAt: T0, actor: 'cli' };
      const later = { ...jti, target: 'later', expiresAt: T0 + 101 };
      const atNow = { ...jti, target: 'at-now', expiresAt: T0 + 100 };
      const lapsed = { ...jti, target: 'lapsed', expiresAt: T0 + 1 };
      for (const r of [forever, later, atNow, lapsed]) await store().addRevocation(r);

      const all = await store().listRevocations();
      expect(all.sort(byTarget)).toEqual([later, atNow, lapsed, forever].sort(byTarget));
      const inForce = await store().listRevocations(T0 + 100);
      expect(inForce.sort(byTarget)).toEqual([forever, later].sort(byTarget));
      // An absent expiry stays absent (exactOptionalPropertyTypes), never `undefined` or null.
      expect(Object.keys(inForce.find((r) => r.kind === 'site') ?? {})).not.toContain('expiresAt');
    });
  });

  describe('sessions and refresh tokens', () => {
    it('creates the visitor, its refresh family and token, and its first open dialog', async () => {
      const s = await seedVisitor(store(), 'v', { now: T0 });
      expect(await store().findVisitor(s.visitorId)).toEqual({ id: s.visitorId, siteId: 'site-a' });
      expect(await store().findRefreshToken(s.hash)).toEqual({
        familyId: s.familyId,
        visitorId: s.visitorId,
        siteId: 'site-a',
        origin: SHOP,
        familyCreatedAt: T0,
        familyRevokedAt: null,
        issuedAt: T0,
        rotatedAt: null,
        successorHash: null,
      });
      expect(await store().findDialog(s.dialogId)).toEqual({
        id: s.dialogId,
        visitorId: s.visitorId,
        siteId: 'site-a',
        state: 'open',
        createdAt: T0,
        lastSeq: 0,
        lastMessageAt: null,
        handoff: 'assistant',
        holder: null,
      });
    });

    it('refuses a session reusing a visitor id, and keeps nothing of it', async () => {
      const s = await seedVisitor(store(), 'v');
      const again = {
        visitorId: s.visitorId,
        siteId: 'site-b',
        origin: SHOP,
        familyId: 'family-other',
        tokenHash: tokenHash('other'),
        dialogId: 'dialog-other',
        now: T0,
      };
      await expect(store().createSession(again)).rejects.toThrow();
      expect(await store().findRefreshToken(tokenHash('other'))).toBeNull();
      expect(await store().findDialog('dialog-other')).toBeNull();
      expect(await store().findVisitor(s.visitorId)).toMatchObject({ siteId: 'site-a' });
    });

    it('rotates a current token once: the compare-and-swap refuses a second rotation', async () => {
      const s = await seedVisitor(store(), 'v');
      const next = tokenHash('next');
      expect(await store().rotateRefreshToken(s.hash, next, T0 + 5)).toBe(true);
      expect(await store().rotateRefreshToken(s.hash, tokenHash('again'), T0 + 6)).toBe(false);
      expect(await store().findRefreshToken(s.hash)).toMatchObject({
        rotatedAt: T0 + 5,
        successorHash: next,
      });
      expect(await store().findRefreshToken(next)).toMatchObject({
        familyId: s.familyId,
        issuedAt: T0 + 5,
        rotatedAt: null,
        successorHash: null,
      });
      expect(await store().findRefreshToken(tokenHash('again'))).toBeNull();
    });

    it('lets exactly one of many concurrent rotations of a token win', async () => {
      const s = await seedVisitor(store(), 'v');
      const successors = Array.from({ length: 8 }, (_, i) => tokenHash(`racer-${i}`));
      const won = await Promise.all(
        successors.map((next) => store().rotateRefreshToken(s.hash, next, T0 + 1)),
      );
      expect(won.filter(Boolean)).toHaveLength(1);
      const stored = await Promise.all(successors.map((next) => store().findRefreshToken(next)));
      expect(stored.filter((r) => r !== null)).toHaveLength(1);
    });

    it('refuses to rotate an unknown token, and finds none', async () => {
      expect(await store().findRefreshToken(tokenHash('nope'))).toBeNull();
      expect(await store().rotateRefreshToken(tokenHash('nope'), tokenHash('x'), T0)).toBe(false);
    });

    it('revokes a whole family once, leaving other families alone', async () => {
      const s = await seedVisitor(store(), 'v');
      const other = await seedVisitor(store(), 'w');
      const next = tokenHash('next');
      await store().rotateRefreshToken(s.hash, next, T0 + 1);
      await store().revokeRefreshFamily(s.familyId, T0 + 2);
      await store().revokeRefreshFamily(s.familyId, T0 + 3);
      expect(await store().findRefreshToken(s.hash)).toMatchObject({ familyRevokedAt: T0 + 2 });
      expect(await store().findRefreshToken(next)).toMatchObject({ familyRevokedAt: T0 + 2 });
      expect(await store().findRefreshToken(other.hash)).toMatchObject({ familyRevokedAt: null });
    });
  });

  describe('visitors and dialogs', () => {
    it('finds no unknown visitor or dialog', async () => {
      expect(await store().findVisitor('visitor-nope')).toBeNull();
      expect(await store().findDialog('dialog-nope')).toBeNull();
    });

    it('returns the open dialog of a visitor, ignoring the new id it was offered', async () => {
      const s = await seedVisitor(store(), 'v');
      const opened = await store().openDialog(s.visitorId, s.siteId, 'dialog-unused', T0 + 1);
      expect(opened).toEqual(await store().findDialog(s.dialogId));
      expect(await store().findDialog('dialog-unused')).toBeNull();
    });

    it('opens a fresh dialog once the previous one is closed', async () => {
      const s = await seedVisitor(store(), 'v');
      await store().setHandoff(s.dialogId, change.take(OPERATOR), systemNote('m-1'));
      await store().setHandoff(s.dialogId, change.close(OPERATOR.id), systemNote('m-2'));
      const fresh = await store().openDialog(s.visitorId, s.siteId, 'dialog-2', T0 + 1);
      expect(fresh).toMatchObject({
        id: 'dialog-2',
        state: 'open',
        createdAt: T0 + 1,
        lastSeq: 0,
        handoff: 'assistant',
        holder: null,
      });
      expect(await store().openDialog(s.visitorId, s.siteId, 'dialog-3', T0 + 2)).toEqual(fresh);
    });

    it('refuses a dialog for an unknown visitor', async () => {
      await expect(store().openDialog('visitor-nope', 'site-a', 'd', T0)).rejects.toThrow();
      expect(await store().findDialog('d')).toBeNull();
    });
  });

  describe('the store itself', () => {
    it('is healthy until closed, closes twice quietly, and refuses calls once closed', async () => {
      expect(store().healthy()).toBe(true);
      await store().close();
      await store().close();
      expect(store().healthy()).toBe(false);
      await expect(store().findVisitor('v')).rejects.toThrow(/closed/);
      await expect(store().appendMessages([])).rejects.toThrow(/closed/);
    });
  });
}
