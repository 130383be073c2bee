/**
 * One line per connection lifecycle event — open, ready, close — each with the session id (the
 * request id a client quotes from `ready`), the resolved client IP and where it came from; one
 * audit line per revocation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, SHOP, startHarness } from '../support/harness.js';
import { newVisitor, open, revoke, waitFor } from '../support/ws-client.js';

let harness: Harness;
afterEach(() => harness.close());

function linesOf(sessionId: unknown) {
  return harness.logs.filter((line) => line['session_id'] === sessionId);
}

describe('connection lifecycle lines', () => {
  it('open, ready and close carry the session id, the forwarded client IP and its source', async () => {
    harness = await startHarness({ env: { POSTERN_TRUSTED_PROXIES: 'loopback' } });
    const visitor = await newVisitor(harness);
    const socket = await open(harness, '/v1/ws/widget', {
      Origin: SHOP,
      // The client wrote the left entry itself; the proxy (loopback, trusted) saw 203.0.113.9.
      'X-Forwarded-For': '198.51.100.66, 203.0.113.9',
    });
    socket.send({ type: 'auth', token: visitor.visitorToken });
    const ready = await socket.nextOf('ready');
    const sessionId = ready['session_id'];
    socket.ws.close(1000);
    await socket.closed();
    await waitFor(() => linesOf(sessionId).length === 3, 'three lifecycle lines');

    const [opened, readied, closed] = linesOf(sessionId);
    const common = { endpoint: 'widget', ip: '203.0.113.9', ip_source: 'forwarded' };
    expect(opened).toMatchObject({ event: 'ws_open', level: 'debug', ...common });
    expect(readied).toMatchObject({
      event: 'ws_ready',
      level: 'info',
      ...common,
      site_id: visitor.siteId,
      dialog_id: visitor.dialogId,
    });
    expect(closed).toMatchObject({
      event: 'ws_close',
      level: 'info',
      ...common,
      code: 1000,
      initiator: 'peer',
    });
    expect(closed?.['duration_ms']).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(harness.logs)).not.toContain('198.51.100.66');
  });

  it('gives the socket address as the source when no proxy is trusted', async () => {
    harness = await startHarness();
    const visitor = await newVisitor(harness);
    const socket = await open(harness, '/v1/ws/widget', {
      Origin: SHOP,
      'X-Forwarded-For': '203.0.113.9',
    });
    socket.send({ type: 'auth', token: visitor.visitorToken });
    const sessionId = (await socket.nextOf('ready'))['session_id'];
    expect(linesOf(sessionId).find((line) => line['event'] === 'ws_ready')).toMatchObject({
      ip: '127.0.0.1',
      ip_source: 'socket',
    });
  });

  it('records a server close with its code and reason, and audits the revocation once', async () => {
    harness = await startHarness();
    const visitor = await newVisitor(harness);
    const socket = await open(harness, '/v1/ws/widget', { Origin: SHOP });
    socket.send({ type: 'auth', token: visitor.visitorToken });
    const sessionId = (await socket.nextOf('ready'))['session_id'];
    expect(await revoke(harness, { visitor_id: visitor.visitorId })).toBe(200);
    expect((await socket.closed()).code).toBe(4006);
    await waitFor(() => linesOf(sessionId).some((line) => line['event'] === 'ws_close'), 'close');

    expect(linesOf(sessionId).find((line) => line['event'] === 'ws_close')).toMatchObject({
      code: 4006,
      initiator: 'server',
      close_reason: 'visitor_revoked',
    });
    const audits = harness.logs.filter((line) => line['event'] === 'audit_revocation');
    expect(audits).toEqual([
      expect.objectContaining({
        level: 'info',
        actor: 'op_admin',
        target_kind: 'visitor',
        target_id: visitor.visitorId,
        sockets_closed: 1,
      }),
    ]);
  });

  it('logs a connection refused at auth as a sampled refusal, not as a session', async () => {
    harness = await startHarness();
    const socket = await open(harness, '/v1/ws/widget', { Origin: SHOP });
    socket.send({ type: 'auth', token: 'forged-token-value' });
    expect((await socket.closed()).code).toBe(4002);
    await waitFor(
      () => harness.logs.some((line) => line['event'] === 'ws_auth_refused'),
      'the refusal line',
    );
    const refused = harness.logs.find((line) => line['event'] === 'ws_auth_refused');
    expect(refused).toMatchObject({
      reason: '4002',
      code: 4002,
      close_reason: 'auth_failed',
      initiator: 'server',
      ip: '127.0.0.1',
      ip_source: 'socket',
      suppressed: 0,
    });
    expect(linesOf(refused?.['session_id']).map((line) => line['event'])).toEqual([
      'ws_open',
      'ws_auth_refused',
    ]);
    expect(harness.logs.some((line) => line['event'] === 'ws_ready')).toBe(false);
    expect(JSON.stringify(harness.logs)).not.toContain('forged-token-value');
  });

  it('closes every socket at shutdown through the same funnel: 1001 by the server', async () => {
    harness = await startHarness();
    const visitor = await newVisitor(harness);
    const socket = await open(harness, '/v1/ws/widget', { Origin: SHOP });
    socket.send({ type: 'auth', token: visitor.visitorToken });
    const sessionId = (await socket.nextOf('ready'))['session_id'];
    await harness.server.close();
    await waitFor(() => linesOf(sessionId).some((line) => line['event'] === 'ws_close'), 'close');
    expect(linesOf(sessionId).find((line) => line['event'] === 'ws_close')).toMatchObject({
      code: 1001,
      initiator: 'server',
      close_reason: 'retry=5',
    });
  });
});
