import { afterEach, describe, expect, it } from 'vitest';
import { closed, type Harness, nextFrame, SHOP } from '../support/harness.js';
import {
  createTestClock,
  getWidgetMessages,
  newSession,
  postRevocation,
  postSession,
  rawRequest,
  refreshSession,
  sessionPath,
  startApiHarness,
} from './api-client.js';

let harness: Harness;
afterEach(() => harness.close());

/** A token and every long-enough piece of it: a log holding half a token still leaks it. */
function secretPieces(token: string): string[] {
  return [token, ...token.split('.').filter((part) => part.length >= 16)];
}

describe('logs', () => {
  it('never hold a site, visitor, operator or refresh token, nor a query string', async () => {
    const clock = createTestClock();
    harness = await startApiHarness({
      now: clock.now,
      env: { POSTERN_SESSION_RATE: '3', POSTERN_HTTP_RATE: '1000' },
    });
    const site = await harness.siteToken();
    const otherSite = await harness.siteToken({ siteId: 'site_other' });
    const admin = await harness.operatorToken();
    const chatter = await harness.operatorToken({ operatorId: 'op_chat', scope: ['chat'] });
    const markers = ['MARKER-SITE-TOKEN-0001', 'prt_MARKERMARKERMARKERMARKERMARKERMARKERMARK1'];
    const secrets = [site.token, otherSite.token, admin, chatter, ...markers];

    // A session, a socket, refreshes, and the refusals an attacker would provoke.
    const session = await newSession(harness, site.token);
    const ws = await harness.connect('/v1/ws/widget', { Origin: SHOP });
    ws.send(JSON.stringify({ type: 'auth', token: session.visitorToken }));
    await nextFrame(ws);
    const refreshed = await refreshSession(harness, site.token, session.refreshToken);
    const successor = refreshed.body['refresh_token'] as string;
    const nextVisitor = refreshed.body['visitor_token'] as string;
    secrets.push(session.visitorToken, session.refreshToken, successor, nextVisitor);

    await postSession(harness, markers[0] ?? '');
    await refreshSession(harness, site.token, markers[1]);
    await refreshSession(harness, otherSite.token, successor);
    await refreshSession(harness, site.token, successor, 'http://sub.shop.example:8080');
    await postSession(harness, site.token, { origin: 'http://evil.test' });
    await getWidgetMessages(harness, session.dialogId, `Bearer ${nextVisitor}`, 'http://evil.test');
    await getWidgetMessages(harness, session.dialogId, `Bearer ${admin}`);
    await getWidgetMessages(harness, session.dialogId, `Bearer ${markers[0]}`);
    await rawRequest(harness.base, {
      method: 'POST',
      path: `${sessionPath(site.token)}&debug=${markers[0]}`,
      headers: { Origin: SHOP, 'Content-Type': 'text/plain' },
      body: `{"refresh_token":"${successor}"}`,
    });
    await postRevocation(harness, chatter, { site_id: site.siteId });
    for (let i = 0; i < 4; i += 1) await postSession(harness, site.token);
    await harness.connect('/v1/ws/widget', { Origin: SHOP }).then((second) => {
      second.send(JSON.stringify({ type: 'auth', token: markers[0] }));
      return closed(second);
    });

    // Reuse after the grace window: the family dies and the visitor is revoked, logged.
    const closing = closed(ws);
    clock.advance(31_000);
    expect((await refreshSession(harness, site.token, session.refreshToken)).status).toBe(401);
    await closing;
    expect((await postRevocation(harness, admin, { jti: site.jti })).status).toBe(200);

    const text = harness.rawLogs.join('');
    expect(harness.logs.length).toBeGreaterThan(5);
    for (const secret of secrets) {
      for (const piece of secretPieces(secret)) expect(text).not.toContain(piece);
    }
    expect(text).not.toContain('site_token');
    expect(text).not.toContain('?');
    expect(text).not.toContain('debug=');
    expect(text).not.toMatch(/prt_[A-Za-z0-9_-]{20}/);
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10}/);

    // The scan covered the operational lines too: lifecycle, sampled refusals, the audit.
    const events = new Set(harness.logs.map((line) => line['event']));
    for (const event of LOGGED_EVENTS) expect([...events]).toContain(event);
    for (const line of harness.logs) {
      for (const field of SECRET_FIELDS) expect(line).not.toHaveProperty(field);
    }
  });
});

/** Lines a session, a socket and the refusals of the test above must produce. */
const LOGGED_EVENTS = [
  'ws_open',
  'ws_ready',
  'ws_close',
  'ws_auth_refused',
  'http_refused',
  'audit_revocation',
];

/** Field names that would carry a token or a query string. */
const SECRET_FIELDS = [
  'token',
  'refresh_token',
  'visitor_token',
  'site_token',
  'authorization',
  'headers',
  'url',
  'query',
];
