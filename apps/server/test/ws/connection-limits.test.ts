/**
 * Open-socket limits per identity (SPEC §5): per dialog, per visitor, per operator → 4005
 * `connection_limit`, counted exactly and given back on close.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import {
  appAuth,
  expectDrained,
  newVisitor,
  readyVisitor,
  type WatchedSocket,
  widgetAuth,
} from '../support/ws-client.js';

const CAPACITY = 8;

let harness: Harness;
afterEach(() => harness?.close());

async function start(env: Record<string, string>): Promise<Harness> {
  harness = await startHarness({ env: { POSTERN_MAX_SOCKETS: String(CAPACITY), ...env } });
  return harness;
}

async function closeAll(sockets: readonly WatchedSocket[]): Promise<void> {
  for (const socket of sockets) socket.ws.close();
  await Promise.all(sockets.map((socket) => socket.closed()));
}

async function readyOperator(token: string): Promise<WatchedSocket> {
  const socket = await appAuth(harness, token);
  expect((await socket.next())['type']).toBe('ready');
  return socket;
}

describe('WebSocket connection limits', () => {
  it.each([
    ['POSTERN_MAX_SOCKETS_PER_VISITOR', { POSTERN_MAX_SOCKETS_PER_VISITOR: '2' }],
    ['POSTERN_MAX_SOCKETS_PER_DIALOG', { POSTERN_MAX_SOCKETS_PER_DIALOG: '2' }],
  ])('closes the visitor socket over %s with 4005', async (_name, env) => {
    await start(env);
    const visitor = await newVisitor(harness);
    const held = [
      (await readyVisitor(harness, visitor.visitorToken)).socket,
      (await readyVisitor(harness, visitor.visitorToken)).socket,
    ];
    const third = await widgetAuth(harness, visitor.visitorToken);
    expect(await third.closed()).toMatchObject({ code: 4005, reason: 'connection_limit' });
    expect(third.frames).toEqual([]);
    expect(harness.server.registry.size).toBe(2);
    // Another visitor is not affected.
    const other = await newVisitor(harness);
    const elsewhere = (await readyVisitor(harness, other.visitorToken)).socket;
    // A closed socket gives its slot back: the visitor may open one again, and only one.
    await closeAll([held[0] as WatchedSocket]);
    const again = (await readyVisitor(harness, visitor.visitorToken)).socket;
    const over = await widgetAuth(harness, visitor.visitorToken);
    expect(await over.closed()).toMatchObject({ code: 4005, reason: 'connection_limit' });
    await closeAll([held[1] as WatchedSocket, again, elsewhere]);
    await expectDrained(harness, CAPACITY);
    // Every identity slot is back too: the full allowance can be taken again.
    const refill = [
      (await readyVisitor(harness, visitor.visitorToken)).socket,
      (await readyVisitor(harness, visitor.visitorToken)).socket,
    ];
    await closeAll(refill);
  });

  it('counts a visitor socket refused with 4005 nowhere', async () => {
    await start({ POSTERN_MAX_SOCKETS_PER_VISITOR: '1' });
    const visitor = await newVisitor(harness);
    const { socket } = await readyVisitor(harness, visitor.visitorToken);
    for (let i = 0; i < 5; i++) {
      const refused = await widgetAuth(harness, visitor.visitorToken);
      expect((await refused.closed()).code).toBe(4005);
    }
    await closeAll([socket]);
    await expectDrained(harness, CAPACITY);
    await closeAll([(await readyVisitor(harness, visitor.visitorToken)).socket]);
  });

  it('closes the operator socket over POSTERN_MAX_SOCKETS_PER_OPERATOR with 4005', async () => {
    await start({ POSTERN_MAX_SOCKETS_PER_OPERATOR: '2' });
    const token = await harness.operatorToken({ operatorId: 'op_busy' });
    const held = [await readyOperator(token), await readyOperator(token)];
    // Another token of the same operator counts against the same limit.
    const third = await appAuth(harness, await harness.operatorToken({ operatorId: 'op_busy' }));
    expect(await third.closed()).toMatchObject({ code: 4005, reason: 'connection_limit' });
    // Another operator is not affected.
    const other = await readyOperator(await harness.operatorToken({ operatorId: 'op_other' }));
    await closeAll([held[0] as WatchedSocket]);
    const again = await readyOperator(token);
    await closeAll([held[1] as WatchedSocket, again, other]);
    await expectDrained(harness, CAPACITY);
  });

  it('does not count operators against visitors or the reverse', async () => {
    await start({ POSTERN_MAX_SOCKETS_PER_VISITOR: '1', POSTERN_MAX_SOCKETS_PER_OPERATOR: '1' });
    const visitor = await newVisitor(harness);
    const sockets = [
      (await readyVisitor(harness, visitor.visitorToken)).socket,
      await readyOperator(await harness.operatorToken()),
    ];
    await closeAll(sockets);
    await expectDrained(harness, CAPACITY);
  });
});
