/**
 * SPEC §4: revocation is checked synchronously right before a socket is registered, after the
 * last `await`, so a revocation landing while sockets are authenticating cannot slip between
 * check and registration. The store is held mid-call (a slow database, deterministically) so the
 * revocation lands while 50 sockets of one visitor are inside `auth`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import {
  type GatedStore,
  gateStore,
  type Harness,
  postRevocation,
  SHOP,
  startHarness,
  type TrackedSocket,
  trackSocket,
  waitFor,
} from '../support/harness.js';

const IN_FLIGHT = 50;
const ENV = {
  POSTERN_MAX_SOCKETS_PER_IP: '200',
  POSTERN_MAX_SOCKETS_PER_VISITOR: '200',
  POSTERN_MAX_SOCKETS_PER_DIALOG: '200',
  POSTERN_CONN_RATE: '1000',
};

let harness: Harness | undefined;
const sockets: TrackedSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.ws.terminate();
  await harness?.close();
  harness = undefined;
});

async function start(): Promise<{ h: Harness; gated: GatedStore }> {
  const gated = gateStore(openSqliteStore({ path: ':memory:' }));
  harness = await startHarness({ env: ENV, store: gated.store });
  return { h: harness, gated };
}

/** Opens `count` widget sockets and sends `auth` on all of them at once. */
async function authAll(h: Harness, token: string, count = IN_FLIGHT): Promise<TrackedSocket[]> {
  const opened = Array.from({ length: count }, () =>
    trackSocket(h.wsBase, '/v1/ws/widget', { headers: { Origin: SHOP } }),
  );
  sockets.push(...opened);
  await Promise.all(opened.map((s) => s.opened));
  for (const s of opened) s.send({ type: 'auth', token });
  return opened;
}

function expectNoneLeft(h: Harness, all: TrackedSocket[]): void {
  expect(h.server.registry.size).toBe(0);
  expect(all.every((s) => s.isClosed())).toBe(true);
}

describe('a revocation landing while sockets authenticate', () => {
  it('closes all 50 with 4006: the registered half by the sweep, the held half at the check', async () => {
    const { h, gated } = await start();
    const site = await h.siteToken();
    const session = await h.session(site.token);
    const visitorId = String(session.body['visitor_id']);

    gated.hold('openDialog');
    const all = await authAll(h, String(session.body['visitor_token']));
    await waitFor(() => gated.pending('openDialog') === IN_FLIGHT, '50 auths held in openDialog');
    expect(h.server.registry.size).toBe(0);

    // Half finish their auth and register; the other half are still inside it.
    gated.release('openDialog', IN_FLIGHT / 2);
    await waitFor(() => h.server.registry.size === IN_FLIGHT / 2, '25 sockets registered');

    const outcomes = Promise.all(all.map((s) => s.closed));
    expect((await postRevocation(h, { visitor_id: visitorId })).status).toBe(200);
    expect(h.server.registry.size).toBe(0);
    gated.release('openDialog');

    const results = await outcomes;
    expect(results).toEqual(all.map(() => ({ code: 4006, reason: 'visitor_revoked' })));
    const ready = all.filter((s) => s.frames.some((f) => f['type'] === 'ready'));
    expect(ready).toHaveLength(IN_FLIGHT / 2);
    expectNoneLeft(h, all);
  });

  it('closes all 50 when they register while the revocation is still being stored', async () => {
    const { h, gated } = await start();
    const site = await h.siteToken();
    const session = await h.session(site.token);
    const visitorId = String(session.body['visitor_id']);

    gated.hold('openDialog');
    const all = await authAll(h, String(session.body['visitor_token']));
    await waitFor(() => gated.pending('openDialog') === IN_FLIGHT, '50 auths held in openDialog');

    // The revocation is accepted but its write is slow; meanwhile every auth completes.
    gated.hold('addRevocation');
    const outcomes = Promise.all(all.map((s) => s.closed));
    const revoking = postRevocation(h, { visitor_id: visitorId });
    await waitFor(() => gated.pending('addRevocation') === 1, 'the revocation write held');
    gated.release('openDialog');
    await waitFor(() => h.server.registry.size === IN_FLIGHT, '50 sockets registered');
    gated.release('addRevocation');

    expect((await revoking).status).toBe(200);
    // "Revoked now": by the time the admin gets the answer, nothing covered is registered.
    expect(h.server.registry.size).toBe(0);
    expect(await outcomes).toEqual(all.map(() => ({ code: 4006, reason: 'visitor_revoked' })));
    expectNoneLeft(h, all);
  });

  const CASES = [
    { kind: 'visitor token jti', reason: 'token_revoked' },
    { kind: 'site token jti', reason: 'site_revoked' },
    { kind: 'visitor id', reason: 'visitor_revoked' },
    { kind: 'site id', reason: 'site_revoked' },
  ] as const;

  it.each(CASES)(
    'refuses all 50 held in findSiteToken with 4006 $reason when revoking a $kind',
    async ({ kind, reason }) => {
      const { h, gated } = await start();
      // A site token recorded in the store but not in the server's memory, so every auth has to
      // look it up (the server would after a restart).
      const site = await h.siteToken({ siteId: 'site_cold' });
      const now = Date.now();
      await h.store.touchSite('site_cold', now);
      await h.store.recordSiteToken(
        {
          jti: site.jti,
          siteId: 'site_cold',
          allowedDomains: ['shop.example'],
          assistantId: 'assistant_1',
          expiresAt: null,
        },
        now,
      );
      const visitorId = 'visitor_cold_0123456789abcdef';
      await h.store.createSession({
        visitorId,
        siteId: 'site_cold',
        origin: SHOP,
        familyId: 'family_cold_0123456789abcdef',
        tokenHash: new Uint8Array(32),
        dialogId: 'dialog_cold_0123456789abcdef',
        now,
      });
      const visitor = await h.server.tokens.signVisitor({
        visitorId,
        siteId: 'site_cold',
        siteJti: site.jti,
        origin: SHOP,
      });

      gated.hold('findSiteToken');
      const all = await authAll(h, visitor.token);
      await waitFor(() => gated.pending('findSiteToken') === IN_FLIGHT, '50 auths held');

      const target =
        kind === 'visitor token jti'
          ? { jti: visitor.claims.jti }
          : kind === 'site token jti'
            ? { jti: site.jti }
            : kind === 'visitor id'
              ? { visitor_id: visitorId }
              : { site_id: 'site_cold' };
      const outcomes = Promise.all(all.map((s) => s.closed));
      expect((await postRevocation(h, target)).status).toBe(200);
      gated.release('findSiteToken');

      expect(await outcomes).toEqual(all.map(() => ({ code: 4006, reason })));
      expect(all.some((s) => s.frames.some((f) => f['type'] === 'ready'))).toBe(false);
      expectNoneLeft(h, all);
    },
  );
});
