import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closed, type Harness, nextFrame, SHOP } from '../support/harness.js';
import {
  createTestClock,
  expectError,
  getWidgetMessages,
  newSession,
  postRevocation,
  postSession,
  refreshSession,
  startApiHarness,
  tokenClaims,
} from './api-client.js';

let harness: Harness;
afterEach(() => harness.close());

function auditLines() {
  return harness.logs.filter((line) => line['event'] === 'audit_revocation');
}

/** Two sites that both allow the shop's origin, each with a used (hence recorded) token. */
async function twoSites() {
  const siteA = await harness.siteToken({ siteId: 'site_a' });
  const siteB = await harness.siteToken({ siteId: 'site_b' });
  const visitorA = await newSession(harness, siteA.token);
  const visitorB = await newSession(harness, siteB.token);
  return { siteA, siteB, visitorA, visitorB };
}

describe('POST /v1/app/revocations: who may revoke', () => {
  beforeEach(async () => {
    harness = await startApiHarness();
  });

  it.each([
    ['no scope', []],
    ['a chat scope', ['chat']],
    ['an admin-like scope', ['admins', 'Admin']],
  ])('refuses an operator with %s: 403, nothing revoked, no audit line', async (_label, scope) => {
    const site = await harness.siteToken();
    const operator = await harness.operatorToken({ scope });
    const res = await postRevocation(harness, operator, { site_id: site.siteId });
    expectError(res, 403, 'forbidden');
    expect((await postSession(harness, site.token)).status).toBe(200);
    expect(auditLines()).toHaveLength(0);
  });

  it('refuses a non-admin before reading its body: 403 even for a malformed one', async () => {
    const operator = await harness.operatorToken({ scope: ['chat'] });
    expectError(await postRevocation(harness, operator, { jti: 5, site_id: [] }), 403, 'forbidden');
  });

  it('refuses a missing, garbage, visitor or site bearer with 401', async () => {
    const site = await harness.siteToken();
    const session = await newSession(harness, site.token);
    for (const token of [null, 'garbage', session.visitorToken, site.token]) {
      const res = await postRevocation(harness, token, { site_id: site.siteId });
      expectError(res, 401, 'unauthorized');
    }
    expect((await postSession(harness, site.token)).status).toBe(200);
  });

  it('refuses an expired operator token with 401 token_expired', async () => {
    await harness.close();
    const clock = createTestClock();
    harness = await startApiHarness({ now: clock.now });
    const operator = await harness.operatorToken({ expiresInS: 60 });
    clock.advance(120_000);
    const res = await postRevocation(harness, operator, { site_id: 'site_shop' });
    expectError(res, 401, 'token_expired');
  });

  describe('an admin limited to site_a', () => {
    it.each([
      ['another site', ({ siteB }: Sites) => ({ site_id: siteB.siteId })],
      ['another site’s visitor', ({ visitorB }: Sites) => ({ visitor_id: visitorB.visitorId })],
      ['another site’s token', ({ siteB }: Sites) => ({ jti: siteB.jti })],
      ['an unknown jti (its site cannot be known)', () => ({ jti: 'never-seen' })],
      ['an unknown visitor', () => ({ visitor_id: 'AAAAAAAAAAAAAAAAAAAAAA' })],
    ])('cannot revoke %s (403, nothing revoked)', async (_label, target) => {
      const sites = await twoSites();
      const operator = await harness.operatorToken({ sites: ['site_a'], scope: ['admin'] });
      expectError(await postRevocation(harness, operator, target(sites)), 403, 'forbidden');
      expect((await postSession(harness, sites.siteB.token)).status).toBe(200);
      const refresh = await refreshSession(harness, sites.siteB.token, sites.visitorB.refreshToken);
      expect(refresh.status).toBe(200);
      expect(auditLines()).toHaveLength(0);
    });

    it.each([
      ['its site', ({ siteA }: Sites) => ({ site_id: siteA.siteId })],
      ['its visitor', ({ visitorA }: Sites) => ({ visitor_id: visitorA.visitorId })],
      ['its site token', ({ siteA }: Sites) => ({ jti: siteA.jti })],
    ])('can revoke %s', async (_label, target) => {
      const sites = await twoSites();
      const operator = await harness.operatorToken({ sites: ['site_a'], scope: ['admin'] });
      expect((await postRevocation(harness, operator, target(sites))).status).toBe(200);
    });
  });
});

type Sites = Awaited<ReturnType<typeof twoSites>>;

describe('POST /v1/app/revocations: what a revocation does', () => {
  beforeEach(async () => {
    harness = await startApiHarness();
  });

  it('{jti} of a site token: that token is refused, another token of the site still works', async () => {
    const revoked = await harness.siteToken();
    const sibling = await harness.siteToken();
    const res = await postRevocation(harness, await harness.operatorToken(), { jti: revoked.jti });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ revoked: { kind: 'jti', id: revoked.jti } });
    expectError(await postSession(harness, revoked.token), 401, 'token_revoked');
    expect((await postSession(harness, sibling.token)).status).toBe(200);
  });

  it('{site_id}: every token of the site is refused, other sites are not', async () => {
    const { siteA, siteB, visitorA } = await twoSites();
    const another = await harness.siteToken({ siteId: 'site_a' });
    const admin = await harness.operatorToken();
    expect((await postRevocation(harness, admin, { site_id: 'site_a' })).status).toBe(200);
    expectError(await postSession(harness, siteA.token), 401, 'token_revoked');
    expectError(await postSession(harness, another.token), 401, 'token_revoked');
    expectError(
      await refreshSession(harness, siteA.token, visitorA.refreshToken),
      401,
      'token_revoked',
    );
    const history = await getWidgetMessages(
      harness,
      visitorA.dialogId,
      `Bearer ${visitorA.visitorToken}`,
    );
    expectError(history, 401, 'token_revoked');
    expect((await postSession(harness, siteB.token)).status).toBe(200);
  });

  it('{visitor_id}: refresh and history refused, live sockets closed 4006', async () => {
    const site = await harness.siteToken();
    const visitor = await newSession(harness, site.token);
    const bystander = await newSession(harness, site.token);
    const ws = await harness.connect('/v1/ws/widget', { Origin: SHOP });
    ws.send(JSON.stringify({ type: 'auth', token: visitor.visitorToken }));
    expect(await nextFrame(ws)).toMatchObject({ type: 'ready' });
    const closing = closed(ws);

    const admin = await harness.operatorToken();
    const res = await postRevocation(harness, admin, { visitor_id: visitor.visitorId });
    expect(res.status).toBe(200);
    expect(await closing).toEqual({ code: 4006, reason: 'visitor_revoked' });
    expectError(
      await refreshSession(harness, site.token, visitor.refreshToken),
      401,
      'token_revoked',
    );
    const history = await getWidgetMessages(
      harness,
      visitor.dialogId,
      `Bearer ${visitor.visitorToken}`,
    );
    expectError(history, 401, 'token_revoked');
    // The site and its other visitors are untouched.
    expect((await refreshSession(harness, site.token, bystander.refreshToken)).status).toBe(200);
    expect((await postSession(harness, site.token)).status).toBe(200);
  });

  it('{jti} of an operator token: that operator is refused with 401', async () => {
    const victim = await harness.operatorToken({ operatorId: 'op_victim' });
    const jti = tokenClaims(victim)['jti'] as string;
    const admin = await harness.operatorToken({ operatorId: 'op_admin' });
    expect((await postRevocation(harness, admin, { jti })).status).toBe(200);
    const res = await postRevocation(harness, victim, { site_id: 'site_shop' });
    expectError(res, 401, 'token_revoked');
    // The admin who revoked it is unaffected.
    expect((await postRevocation(harness, admin, { site_id: 'site_x' })).status).toBe(200);
  });

  it('writes one audit line per revocation: actor, target kind, target id', async () => {
    const { siteA, visitorA } = await twoSites();
    const admin = await harness.operatorToken({ operatorId: 'op_admin' });
    const targets = [
      [{ jti: siteA.jti }, 'jti', siteA.jti],
      [{ visitor_id: visitorA.visitorId }, 'visitor', visitorA.visitorId],
      [{ site_id: 'site_b' }, 'site', 'site_b'],
    ] as const;
    for (const [body, kind, id] of targets) {
      const before = auditLines().length;
      expect((await postRevocation(harness, admin, body)).status).toBe(200);
      const lines = auditLines().slice(before);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ actor: 'op_admin', target_kind: kind, target_id: id });
    }
  });
});

describe('POST /v1/app/revocations: bodies', () => {
  beforeEach(async () => {
    harness = await startApiHarness();
  });

  it.each([
    ['two targets', { jti: 'j1', site_id: 'site_a' }],
    ['three targets', { jti: 'j1', site_id: 'site_a', visitor_id: 'AAAAAAAAAAAAAAAAAAAAAA' }],
    ['no target', {}],
    ['only unknown fields', { token: 'j1' }],
    ['a number jti', { jti: 5 }],
    ['a null site_id', { site_id: null }],
    ['an array visitor_id', { visitor_id: ['AAAAAAAAAAAAAAAAAAAAAA'] }],
    ['an object site_id', { site_id: { $ne: '' } }],
    ['an empty site_id', { site_id: '' }],
    ['an overlong visitor_id', { visitor_id: 'A'.repeat(65) }],
    ['a jti with a space', { jti: 'a b' }],
    ['an array body', [{ jti: 'j1' }]],
    ['a string body', 'j1'],
  ])('refuses %s with 400 invalid_body and revokes nothing', async (_label, body) => {
    const res = await postRevocation(harness, await harness.operatorToken(), body);
    expectError(res, 400, 'invalid_body');
    expect(auditLines()).toHaveLength(0);
    expect(harness.server.revocations.size).toBe(0);
  });
});
