import { afterEach, describe, expect, it } from 'vitest';
import { closed, type Harness, nextFrame, SHOP, startHarness } from './support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

describe('widget session and socket', () => {
  it('creates a session, authenticates a socket, and gets ready', async () => {
    harness = await startHarness();
    const site = await harness.siteToken();
    const session = await harness.session(site.token);
    expect(session.status).toBe(200);
    expect(session.headers.get('access-control-allow-origin')).toBe(SHOP);
    const ws = await harness.connect('/v1/ws/widget', { Origin: SHOP });
    ws.send(JSON.stringify({ type: 'auth', token: session.body['visitor_token'] }));
    const ready = await nextFrame(ws);
    expect(ready).toMatchObject({
      type: 'ready',
      visitor_id: session.body['visitor_id'],
      dialog_id: session.body['dialog_id'],
      last_seq: 0,
      handoff: { state: 'assistant' },
    });
  });

  it('closes 4006 visitor_revoked when an admin revokes the visitor', async () => {
    harness = await startHarness();
    const site = await harness.siteToken();
    const session = await harness.session(site.token);
    const ws = await harness.connect('/v1/ws/widget', { Origin: SHOP });
    ws.send(JSON.stringify({ type: 'auth', token: session.body['visitor_token'] }));
    await nextFrame(ws);
    const closing = closed(ws);
    const res = await fetch(`${harness.base}/v1/app/revocations`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${await harness.operatorToken()}`,
        'Content-Type': 'application/json',
        Origin: 'http://app.example:8080',
      },
      body: JSON.stringify({ visitor_id: session.body['visitor_id'] }),
    });
    expect(res.status).toBe(200);
    expect(await closing).toEqual({ code: 4006, reason: 'visitor_revoked' });
  });
});
