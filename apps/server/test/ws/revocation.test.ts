/**
 * Revocation reaches live sockets (SPEC §3 `POST /v1/app/revocations`, §4 close 4006): within a
 * second, with the reason naming what was revoked, and only the sockets it covers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import {
  appAuth,
  expectDrained,
  jtiOf,
  newVisitor,
  readyVisitor,
  revoke,
  type VisitorSession,
  type WatchedSocket,
  widgetAuth,
} from '../support/ws-client.js';

const CAPACITY = 8;
/** SPEC: within 1 s; asserted with a 3× margin. */
const REACH_MS = 3000;

let harness: Harness;
afterEach(() => harness?.close());

async function start(): Promise<Harness> {
  harness = await startHarness({ env: { POSTERN_MAX_SOCKETS: String(CAPACITY) } });
  return harness;
}

type Target = { jti: string } | { site_id: string } | { visitor_id: string };

const targets: [string, (visitor: VisitorSession) => Target, string][] = [
  ['the visitor id', (v) => ({ visitor_id: v.visitorId }), 'visitor_revoked'],
  ["the visitor token's jti", (v) => ({ jti: jtiOf(v.visitorToken) }), 'token_revoked'],
  ['the site id', (v) => ({ site_id: v.siteId }), 'site_revoked'],
  ["the site token's jti", (v) => ({ jti: v.siteJti }), 'site_revoked'],
];

describe('WebSocket revocation', () => {
  it.each(targets)(
    'closes a visitor socket 4006 when %s is revoked',
    async (_name, target, reason) => {
      await start();
      const visitor = await newVisitor(harness);
      // A bystander on another site, with its own site token, must stay.
      const bystander = await newVisitor(
        harness,
        await harness.siteToken({ siteId: 'site_other' }),
      );
      const { socket } = await readyVisitor(harness, visitor.visitorToken);
      const { socket: second } = await readyVisitor(harness, visitor.visitorToken);
      const { socket: untouched } = await readyVisitor(harness, bystander.visitorToken);
      const started = performance.now();
      expect(await revoke(harness, target(visitor))).toBe(200);
      for (const closed of [socket, second]) {
        const close = await closed.closed(REACH_MS);
        expect(close).toMatchObject({ code: 4006, reason });
        expect(close.at - started).toBeLessThan(REACH_MS);
      }
      expect(untouched.isClosed).toBe(false);
      // And from now on, the same credential is refused at `auth` with the same reason.
      const again = await widgetAuth(harness, visitor.visitorToken);
      expect(await again.closed()).toMatchObject({ code: 4006, reason });
      untouched.ws.close();
      await untouched.closed();
      await expectDrained(harness, CAPACITY);
    },
  );

  it('closes an operator socket 4006 token_revoked when its jti is revoked', async () => {
    await start();
    const token = await harness.operatorToken({ operatorId: 'op_revoked', scope: [] });
    const other = await appAuth(harness, await harness.operatorToken({ operatorId: 'op_kept' }));
    const socket = await appAuth(harness, token);
    await socket.nextOf('ready');
    await other.nextOf('ready');
    const started = performance.now();
    expect(await revoke(harness, { jti: jtiOf(token) })).toBe(200);
    const close = await socket.closed(REACH_MS);
    expect(close).toMatchObject({ code: 4006, reason: 'token_revoked' });
    expect(close.at - started).toBeLessThan(REACH_MS);
    expect(other.isClosed).toBe(false);
    const again = await appAuth(harness, token);
    expect(await again.closed()).toMatchObject({ code: 4006, reason: 'token_revoked' });
    other.ws.close();
    await other.closed();
    await expectDrained(harness, CAPACITY);
  });

  it('closes or refuses every socket of the credential, however far its auth got', async () => {
    await start();
    const visitor = await newVisitor(harness);
    const sockets: WatchedSocket[] = [];
    // Revoke while several `auth` frames are in flight: each ends refused or closed, never ready
    // and left open.
    for (let i = 0; i < 4; i++) sockets.push(await widgetAuth(harness, visitor.visitorToken));
    expect(await revoke(harness, { visitor_id: visitor.visitorId })).toBe(200);
    for (const socket of sockets) {
      expect(await socket.closed(REACH_MS)).toMatchObject({
        code: 4006,
        reason: 'visitor_revoked',
      });
    }
    await expectDrained(harness, CAPACITY);
  });
});
