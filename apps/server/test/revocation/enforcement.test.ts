/**
 * SPEC §4 revocation, driven by an admin operator through `POST /v1/app/revocations`: a visitor
 * token's jti, a site token's jti, a visitor id and a site id are each refused on WebSocket auth
 * (4006 + reason), on in-band `refresh`, on session refresh and on the history route, and close
 * every live socket they cover — and only those — within one second.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  APP,
  type Harness,
  postRevocation,
  SHOP,
  startHarness,
  type TrackedSocket,
  trackSocket,
  waitFor,
} from '../support/harness.js';

let harness: Harness | undefined;
const sockets: TrackedSocket[] = [];
/** Measured close latencies (ms), printed once for the report. */
const latencies: Record<string, number> = {};
/** Added to the wall clock; moved forward so a second token gets a later `exp`. */
let skew = 0;

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.ws.terminate();
  await harness?.close();
  harness = undefined;
  skew = 0;
});
afterAll(() => {
  console.info(`revocation close latency (ms): ${JSON.stringify(latencies)}`);
});

interface Session {
  readonly token: string;
  readonly refreshToken: string;
  readonly visitorId: string;
  readonly dialogId: string;
  readonly siteToken: string;
}

function jtiOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
  return String((payload as Record<string, unknown>)['jti']);
}

/**
 * Two sites; site_a has two site tokens. v1 and v4 come from token a1, v2 from a2, v3 from b.
 */
async function world() {
  const h = await startHarness({ now: () => Date.now() + skew });
  harness = h;
  const a1 = await h.siteToken({ siteId: 'site_a' });
  const a2 = await h.siteToken({ siteId: 'site_a' });
  const b = await h.siteToken({ siteId: 'site_b' });
  const session = async (siteToken: string): Promise<Session> => {
    const { status, body } = await h.session(siteToken);
    expect(status).toBe(200);
    return {
      token: String(body['visitor_token']),
      refreshToken: String(body['refresh_token']),
      visitorId: String(body['visitor_id']),
      dialogId: String(body['dialog_id']),
      siteToken,
    };
  };
  const v1 = await session(a1.token);
  const v2 = await session(a2.token);
  const v3 = await session(b.token);
  const v4 = await session(a1.token);
  return { h, a1, a2, b, v1, v2, v3, v4 };
}
type World = Awaited<ReturnType<typeof world>>;

/** An authenticated widget socket (resolves once `ready`). */
async function visitorSocket(h: Harness, token: string): Promise<TrackedSocket> {
  const socket = trackSocket(h.wsBase, '/v1/ws/widget', { headers: { Origin: SHOP } });
  sockets.push(socket);
  await socket.opened;
  socket.send({ type: 'auth', token });
  await waitFor(
    () => socket.frames.some((f) => f['type'] === 'ready') || socket.isClosed(),
    'ready',
  );
  expect(socket.frames[0]).toMatchObject({ type: 'ready' });
  return socket;
}

/** A widget socket whose auth is expected to be refused; answers its close. */
async function refusedAuth(h: Harness, token: string) {
  const socket = trackSocket(h.wsBase, '/v1/ws/widget', { headers: { Origin: SHOP } });
  sockets.push(socket);
  await socket.opened;
  socket.send({ type: 'auth', token });
  const result = await socket.closed;
  expect(socket.frames.filter((f) => f['type'] === 'ready')).toEqual([]);
  return result;
}

function history(h: Harness, session: Session) {
  return fetch(`${h.base}/v1/widget/dialogs/${session.dialogId}/messages`, {
    headers: { Authorization: `Bearer ${session.token}`, Origin: SHOP },
  });
}

function refreshSession(h: Harness, session: Session) {
  return h.session(session.siteToken, SHOP, { refresh_token: session.refreshToken });
}

interface Case {
  readonly kind: 'visitor token jti' | 'site token jti' | 'visitor id' | 'site id';
  readonly reason: 'token_revoked' | 'site_revoked' | 'visitor_revoked';
  readonly target: (w: World) => { jti: string } | { site_id: string } | { visitor_id: string };
  /** Which of v1..v4 the revocation covers (v1 always). */
  readonly covers: readonly ('v1' | 'v2' | 'v3' | 'v4')[];
}

const CASES: readonly Case[] = [
  {
    kind: 'visitor token jti',
    reason: 'token_revoked',
    target: (w) => ({ jti: jtiOf(w.v1.token) }),
    covers: ['v1'],
  },
  {
    kind: 'site token jti',
    reason: 'site_revoked',
    target: (w) => ({ jti: w.a1.jti }),
    covers: ['v1', 'v4'],
  },
  {
    kind: 'visitor id',
    reason: 'visitor_revoked',
    target: (w) => ({ visitor_id: w.v1.visitorId }),
    covers: ['v1'],
  },
  {
    kind: 'site id',
    reason: 'site_revoked',
    target: () => ({ site_id: 'site_a' }),
    covers: ['v1', 'v2', 'v4'],
  },
];

describe.each(CASES)('revoking a $kind', ({ kind, reason, target, covers }) => {
  it(`closes every covered socket with 4006 ${reason} within a second, and only those`, async () => {
    const w = await world();
    const names = ['v1', 'v1', 'v2', 'v3', 'v4'] as const;
    const live = await Promise.all(names.map((name) => visitorSocket(w.h, w[name].token)));
    expect(w.h.server.registry.size).toBe(5);
    const hit = live.filter((_, i) => covers.includes(names[i] as Case['covers'][number]));
    const spared = live.filter((socket) => !hit.includes(socket));

    const started = performance.now();
    const closes = hit.map((socket) =>
      socket.closed.then((c) => ({ ...c, at: performance.now() })),
    );
    const res = await postRevocation(w.h, target(w));
    const results = await Promise.all(closes);
    const slowest = Math.max(...results.map((r) => r.at - started));
    latencies[kind] = Math.round(slowest * 10) / 10;

    expect(res.status).toBe(200);
    for (const result of results)
      expect({ code: result.code, reason: result.reason }).toEqual({
        code: 4006,
        reason,
      });
    // SPEC: within one second; asserted with the 3× margin for a loaded CI machine.
    expect(slowest).toBeLessThan(3000);
    expect(spared.some((socket) => socket.isClosed())).toBe(false);
    expect(w.h.server.registry.size).toBe(spared.length);
    // One audit line: actor, target kind, target id.
    const audit = w.h.logs.filter((line) => line['event'] === 'audit_revocation');
    expect(audit).toHaveLength(1);
    const kindOf = {
      'visitor token jti': 'jti',
      'site token jti': 'jti',
      'visitor id': 'visitor',
      'site id': 'site',
    } as const;
    expect(audit[0]).toMatchObject({
      actor: 'op_1',
      target_kind: kindOf[kind],
      target_id: Object.values(target(w))[0],
    });
  });

  it(`refuses WebSocket auth with 4006 ${reason}`, async () => {
    const w = await world();
    expect((await postRevocation(w.h, target(w))).status).toBe(200);
    expect(await refusedAuth(w.h, w.v1.token)).toEqual({ code: 4006, reason });
    // Uncovered credentials still work.
    await visitorSocket(w.h, w.v3.token);
    expect(w.h.server.registry.size).toBe(1);
  });

  it('refuses the history route with 401 token_revoked', async () => {
    const w = await world();
    expect((await history(w.h, w.v1)).status).toBe(200);
    expect((await postRevocation(w.h, target(w))).status).toBe(200);
    const refused = await history(w.h, w.v1);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'token_revoked' });
    expect((await history(w.h, w.v3)).status).toBe(200);
  });

  if (kind === 'visitor token jti') {
    // Session refresh never presents the visitor token: revoking one token does not end the
    // visitor (that is what revoking the visitor id is for). See the report (SPEC ambiguity).
    it('leaves session refresh working, with a new token that is not the revoked one', async () => {
      const w = await world();
      expect((await postRevocation(w.h, target(w))).status).toBe(200);
      const refreshed = await refreshSession(w.h, w.v1);
      expect(refreshed.status).toBe(200);
      const next = String(refreshed.body['visitor_token']);
      expect(jtiOf(next)).not.toBe(jtiOf(w.v1.token));
      expect(await refusedAuth(w.h, w.v1.token)).toEqual({ code: 4006, reason });
    });
  } else {
    it('refuses session refresh and new sessions with 401 token_revoked', async () => {
      const w = await world();
      expect((await postRevocation(w.h, target(w))).status).toBe(200);
      const refreshed = await refreshSession(w.h, w.v1);
      expect(refreshed.status).toBe(401);
      expect(refreshed.body).toEqual({ error: 'token_revoked' });
      if (kind !== 'visitor id') {
        const fresh = await w.h.session(w.v1.siteToken);
        expect(fresh.status).toBe(401);
        expect(fresh.body).toEqual({ error: 'token_revoked' });
      }
      expect((await refreshSession(w.h, w.v3)).status).toBe(200);
    });
  }
});

describe('in-band refresh', () => {
  it('closes 4006 token_revoked when the new visitor token is revoked', async () => {
    const w = await world();
    const socket = await visitorSocket(w.h, w.v1.token);
    skew += 2000; // the refresh token must expire later than the current one
    const next = await w.h.server.tokens.signVisitor({
      visitorId: w.v1.visitorId,
      siteId: 'site_a',
      siteJti: w.a1.jti,
      origin: SHOP,
    });
    expect((await postRevocation(w.h, { jti: next.claims.jti })).status).toBe(200);
    expect(socket.isClosed()).toBe(false); // its own token is not revoked
    socket.send({ type: 'refresh', token: next.token });
    expect(await socket.closed).toEqual({ code: 4006, reason: 'token_revoked' });
    expect(socket.frames.some((f) => f['type'] === 'refreshed')).toBe(false);
    expect(w.h.server.registry.size).toBe(0);
  });

  it('closes 4006 site_revoked when the new token comes from a revoked site token', async () => {
    const w = await world();
    const socket = await visitorSocket(w.h, w.v2.token); // minted from a2
    skew += 2000;
    const next = await w.h.server.tokens.signVisitor({
      visitorId: w.v2.visitorId,
      siteId: 'site_a',
      siteJti: w.a1.jti,
      origin: SHOP,
    });
    expect((await postRevocation(w.h, { jti: w.a1.jti })).status).toBe(200);
    expect(socket.isClosed()).toBe(false);
    socket.send({ type: 'refresh', token: next.token });
    expect(await socket.closed).toEqual({ code: 4006, reason: 'site_revoked' });
    expect(socket.frames.some((f) => f['type'] === 'refreshed')).toBe(false);
  });

  it('binds the socket to the site token of its refreshed token, so revoking that one closes it', async () => {
    const w = await world();
    const socket = await visitorSocket(w.h, w.v2.token); // minted from a2
    skew += 2000;
    const next = await w.h.server.tokens.signVisitor({
      visitorId: w.v2.visitorId,
      siteId: 'site_a',
      siteJti: w.a1.jti,
      origin: SHOP,
    });
    socket.send({ type: 'refresh', token: next.token });
    await waitFor(() => socket.frames.some((f) => f['type'] === 'refreshed'), 'refreshed');
    const started = performance.now();
    const closing = socket.closed;
    expect((await postRevocation(w.h, { jti: w.a1.jti })).status).toBe(200);
    expect(await closing).toEqual({ code: 4006, reason: 'site_revoked' });
    expect(performance.now() - started).toBeLessThan(3000);
  });
});

describe('revoking an operator token', () => {
  async function operatorSocket(h: Harness, token: string): Promise<TrackedSocket> {
    const socket = trackSocket(h.wsBase, '/v1/ws/app', { headers: { Origin: APP } });
    sockets.push(socket);
    await socket.opened;
    socket.send({ type: 'auth', token });
    await waitFor(
      () => socket.frames.some((f) => f['type'] === 'ready') || socket.isClosed(),
      'ready',
    );
    return socket;
  }

  it('closes its sockets with 4006 token_revoked and refuses it on auth, refresh and the revocations route', async () => {
    const w = await world();
    const admin = await w.h.operatorToken({ operatorId: 'op_admin' });
    const target = await w.h.operatorToken({ operatorId: 'op_target' });
    const other = await w.h.operatorToken({ operatorId: 'op_other' });
    const live = await operatorSocket(w.h, target);
    const spared = await operatorSocket(w.h, other);
    expect(live.frames[0]).toMatchObject({ type: 'ready' });

    const started = performance.now();
    const closing = live.closed;
    expect((await postRevocation(w.h, { jti: jtiOf(target) }, admin)).status).toBe(200);
    expect(await closing).toEqual({ code: 4006, reason: 'token_revoked' });
    latencies['operator token jti'] = Math.round((performance.now() - started) * 10) / 10;
    expect(performance.now() - started).toBeLessThan(3000);
    expect(spared.isClosed()).toBe(false);

    const again = await operatorSocket(w.h, target);
    expect(await again.closed).toEqual({ code: 4006, reason: 'token_revoked' });

    // The revoked operator can no longer use the revocations route itself.
    const refused = await postRevocation(w.h, { visitor_id: w.v3.visitorId }, target);
    expect(refused).toEqual({ status: 401, body: { error: 'token_revoked' } });

    // In-band refresh to a revoked operator token.
    skew += 2000;
    const next = await w.h.server.tokens.signOperator({
      operatorId: 'op_other',
      name: 'Ana',
      sites: '*',
      scope: ['admin'],
    });
    expect((await postRevocation(w.h, { jti: next.claims.jti }, admin)).status).toBe(200);
    spared.send({ type: 'refresh', token: next.token });
    expect(await spared.closed).toEqual({ code: 4006, reason: 'token_revoked' });
  });

  it('needs scope admin, and sites covering the target', async () => {
    const w = await world();
    const plain = await w.h.operatorToken({ operatorId: 'op_plain', scope: [] });
    const siteB = await w.h.operatorToken({ operatorId: 'op_b', sites: ['site_b'] });
    const forbidden = { status: 403, body: { error: 'forbidden' } };
    expect(await postRevocation(w.h, { visitor_id: w.v1.visitorId }, plain)).toEqual(forbidden);
    expect(await postRevocation(w.h, { visitor_id: w.v1.visitorId }, siteB)).toEqual(forbidden);
    expect(await postRevocation(w.h, { site_id: 'site_a' }, siteB)).toEqual(forbidden);
    expect(await postRevocation(w.h, { jti: w.a1.jti }, siteB)).toEqual(forbidden);
    expect(w.h.server.revocations.size).toBe(0);
    await visitorSocket(w.h, w.v1.token);
    expect((await postRevocation(w.h, { visitor_id: w.v3.visitorId }, siteB)).status).toBe(200);
  });
});
