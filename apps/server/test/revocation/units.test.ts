/**
 * The revocation pieces on their own: the in-memory mirror (`security/revocations.ts`) and the
 * socket registry's sweep (`ws/registry.ts`).
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, PosternError } from '../../src/errors.js';
import { loadRevocations } from '../../src/security/revocations.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Revocation } from '../../src/store/types.js';
import { createSocketRegistry, type LiveSocket } from '../../src/ws/registry.js';

function codeOf(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (error) {
    return error instanceof PosternError ? error.code : 'not a PosternError';
  }
}

describe('revocations', () => {
  it('mirrors what is stored, answers the broadest reason first, and counts duplicates once', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    await store.addRevocation({ kind: 'visitor', target: 'v1', revokedAt: 1, actor: 'cli' });
    const revocations = await loadRevocations(store);
    expect(revocations.size).toBe(1);
    const refs = { jti: 'j1', siteJti: 's1', siteId: 'site_1', visitorId: 'v1' };
    expect(codeOf(() => revocations.assertNotRevoked(refs))).toBe(ErrorCode.VISITOR_REVOKED);

    expect(await revocations.revoke('jti', 'j1', 'op', 2)).toBe(true);
    expect(codeOf(() => revocations.assertNotRevoked({ jti: 'j1' }))).toBe(ErrorCode.TOKEN_REVOKED);
    // A revoked site token's jti named as the minting token is the site's revocation.
    expect(await revocations.revoke('jti', 's1', 'op', 3)).toBe(true);
    expect(codeOf(() => revocations.assertNotRevoked(refs))).toBe(ErrorCode.SITE_REVOKED);
    expect(await revocations.revoke('site', 'site_1', 'op', 4)).toBe(true);
    expect(codeOf(() => revocations.assertNotRevoked({ siteId: 'site_1' }))).toBe(
      ErrorCode.SITE_REVOKED,
    );

    expect(await revocations.revoke('site', 'site_1', 'op', 5)).toBe(false);
    expect(revocations.size).toBe(4);
    expect(codeOf(() => revocations.assertNotRevoked({ jti: 'other', siteId: 'x' }))).toBeNull();
    await store.close();
  });

  it('tells every listener even when one throws, then rejects with that error', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    const revocations = await loadRevocations(store);
    const seen: string[] = [];
    revocations.onRevoke(() => {
      throw new Error('listener failed');
    });
    revocations.onRevoke((revocation) => seen.push(revocation.target));
    await expect(revocations.revoke('visitor', 'v9', 'op', 1)).rejects.toThrow('listener failed');
    expect(seen).toEqual(['v9']);
    // The revocation stands, in memory and in the store.
    expect(codeOf(() => revocations.assertNotRevoked({ visitorId: 'v9' }))).toBe(
      ErrorCode.VISITOR_REVOKED,
    );
    expect((await store.listRevocations()).map((r) => r.target)).toEqual(['v9']);
    await store.close();
  });
});

describe('socket registry', () => {
  function socket(
    fields: Partial<Omit<LiveSocket, 'revoked'>> & { id: string },
    onRevoked: (revocation: Revocation) => void = () => {},
  ): LiveSocket & { readonly hits: Revocation[] } {
    const hits: Revocation[] = [];
    return {
      kind: 'visitor',
      jti: `jti_${fields.id}`,
      ...fields,
      hits,
      revoked(revocation) {
        hits.push(revocation);
        onRevoked(revocation);
      },
    };
  }
  const revocation = (kind: Revocation['kind'], target: string): Revocation => ({
    kind,
    target,
    revokedAt: 1,
    actor: 'op',
  });

  it('closes exactly the sockets a revocation covers', () => {
    const registry = createSocketRegistry();
    const a = socket({ id: 'a', siteJti: 'sa', siteId: 'site_1', visitorId: 'v1' });
    const b = socket({ id: 'b', siteJti: 'sb', siteId: 'site_1', visitorId: 'v2' });
    const c = socket({ id: 'c', siteJti: 'sc', siteId: 'site_2', visitorId: 'v3' });
    const op = socket({ id: 'op', kind: 'operator', operatorId: 'op_1' });
    for (const s of [a, b, c, op]) registry.add(s);

    expect(registry.applyRevocation(revocation('jti', 'jti_a'))).toBe(1);
    expect(registry.applyRevocation(revocation('jti', 'sb'))).toBe(1);
    expect(registry.applyRevocation(revocation('jti', 'jti_op'))).toBe(1);
    expect(registry.applyRevocation(revocation('visitor', 'v3'))).toBe(1);
    expect(registry.applyRevocation(revocation('site', 'site_1'))).toBe(2);
    expect(registry.applyRevocation(revocation('site', 'site_9'))).toBe(0);
    expect([a, b, c, op].map((s) => s.hits.length)).toEqual([2, 2, 1, 1]);
  });

  it('follows a socket to its new token after an in-band refresh', () => {
    const registry = createSocketRegistry();
    const a = socket({ id: 'a', jti: 'old', siteJti: 's_old', siteId: 'site_1' });
    registry.add(a);
    a.jti = 'new';
    a.siteJti = 's_new';
    expect(registry.applyRevocation(revocation('jti', 'old'))).toBe(0);
    expect(registry.applyRevocation(revocation('jti', 's_old'))).toBe(0);
    expect(registry.applyRevocation(revocation('jti', 's_new'))).toBe(1);
  });

  it('does not let one socket whose close throws shield the others', () => {
    const registry = createSocketRegistry();
    const broken = socket({ id: 'x', visitorId: 'v1' }, () => {
      throw new Error('close failed');
    });
    const others = [socket({ id: 'y', visitorId: 'v1' }), socket({ id: 'z', visitorId: 'v1' })];
    for (const s of [broken, ...others]) registry.add(s);
    expect(() => registry.applyRevocation(revocation('visitor', 'v1'))).toThrow('close failed');
    expect(others.map((s) => s.hits.length)).toEqual([1, 1]);
  });

  it('is empty once every socket is removed', () => {
    const registry = createSocketRegistry();
    for (const id of ['a', 'b', 'c']) registry.add(socket({ id }));
    registry.remove('b');
    registry.remove('b');
    expect([...registry.all()].map((s) => s.id)).toEqual(['a', 'c']);
    registry.remove('a');
    registry.remove('c');
    expect(registry.size).toBe(0);
  });
});
