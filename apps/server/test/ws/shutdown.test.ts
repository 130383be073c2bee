/**
 * Shutdown as the sockets see it (SPEC §4 close 1001): every socket is told to come back later,
 * and no peer can hold the shutdown by never answering the close handshake.
 */
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, SHOP, startHarness } from '../support/harness.js';
import { clientFrame, rawClosed, rawHandshake } from '../support/raw-handshake.js';
import { appAuth, newVisitor, open, readyVisitor, waitFor } from '../support/ws-client.js';

let harness: Harness;
const rawSockets: Socket[] = [];
afterEach(async () => {
  for (const socket of rawSockets.splice(0)) socket.destroy();
  await harness?.close();
});

/** Resolves with how long `promise` took, or rejects once `timeoutMs` has passed. */
async function within<T>(timeoutMs: number, promise: Promise<T>): Promise<number> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return performance.now() - started;
}

describe('WebSocket shutdown', () => {
  it('closes every socket 1001 with a retry hint, authenticated or not', async () => {
    harness = await startHarness();
    const visitor = await newVisitor(harness);
    const { socket: widget } = await readyVisitor(harness, visitor.visitorToken);
    const app = await appAuth(harness, await harness.operatorToken());
    await app.nextOf('ready');
    const pending = await open(harness, '/v1/ws/widget', { Origin: SHOP });
    const closing = harness.server.close();
    for (const socket of [widget, app, pending]) {
      expect(await socket.closed()).toMatchObject({ code: 1001, reason: 'retry=5' });
    }
    await closing;
  });

  it('does not wait for a peer that never answers the close frame', async () => {
    harness = await startHarness();
    const token = await harness.operatorToken();
    const mute = await rawHandshake(harness.port, {
      path: '/v1/ws/app',
      headers: [['Origin', 'http://app.example:8080']],
      trailing: clientFrame(1, Buffer.from(JSON.stringify({ type: 'auth', token }))),
    });
    rawSockets.push(mute.socket);
    expect(mute.status).toBe(101);
    await waitFor(() => harness.server.registry.size === 1, 'the mute peer to be ready');
    // It reads (so it sees the close frame) but never answers it, nor closes its end.
    const told = rawClosed(mute.socket, mute.rest, 4000);
    const took = await within(4000, harness.server.close());
    expect(await told).toEqual({ code: 1001, reason: 'retry=5' });
    // ws alone would wait 30 s for the peer's close frame.
    expect(took).toBeLessThan(4000);
  });
});
