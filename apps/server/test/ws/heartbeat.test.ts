/**
 * Heartbeat (SPEC §4): a `ping` every POSTERN_PING_INTERVAL_MS; no `pong` within
 * POSTERN_PONG_TIMEOUT_MS closes 4010. Deadlines are asserted with a 3× margin or more.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, SHOP, startHarness } from '../support/harness.js';
import { closeOpened, newVisitor, open, readyVisitor, waitFor } from '../support/ws-client.js';

let harness: Harness | undefined;
afterEach(async () => {
  if (harness) {
    await closeOpened(harness);
    await harness.close();
  }
  harness = undefined;
});

async function start(): Promise<Harness> {
  harness = await startHarness({
    env: { POSTERN_PING_INTERVAL_MS: '100', POSTERN_PONG_TIMEOUT_MS: '200' },
  });
  return harness;
}

describe('heartbeat', () => {
  it('announces the interval in ready and pings with increasing ids', async () => {
    const h = await start();
    const visitor = await newVisitor(h);
    const { socket, ready } = await readyVisitor(h, visitor.visitorToken);
    expect(ready['ping_interval_ms']).toBe(100);
    const first = await socket.nextOf('ping');
    socket.send({ type: 'pong', id: first['id'] });
    const second = await socket.nextOf('ping');
    expect(second['id']).toBe((first['id'] as number) + 1);
  });

  it('closes 4010 when no pong comes back', async () => {
    const h = await start();
    const visitor = await newVisitor(h);
    const { socket } = await readyVisitor(h, visitor.visitorToken);
    await socket.nextOf('ping');
    const started = performance.now();
    const close = await socket.closed(3_000);
    expect(close).toMatchObject({ code: 4010, reason: 'heartbeat_timeout' });
    // Deadline 200 ms after the ping; 3× margin for a loaded machine.
    expect(close.at - started).toBeLessThan(600 * 3);
  });

  it('keeps a socket that answers every ping open well past the timeout', async () => {
    const h = await start();
    const visitor = await newVisitor(h);
    const { socket } = await readyVisitor(h, visitor.visitorToken);
    socket.ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; id?: number };
      if (frame.type === 'ping') socket.send({ type: 'pong', id: frame.id });
    });
    await waitFor(() => socket.frames.filter((f) => f['type'] === 'ping').length >= 8, 'pings');
    expect(socket.isClosed).toBe(false);
  });

  it('ignores a pong for a ping never sent', async () => {
    const h = await start();
    const visitor = await newVisitor(h);
    const { socket } = await readyVisitor(h, visitor.visitorToken);
    const ping = await socket.nextOf('ping');
    socket.send({ type: 'pong', id: (ping['id'] as number) + 1000 });
    expect((await socket.closed(3_000)).code).toBe(4010);
  });

  it('does not ping before auth', async () => {
    const h = await start();
    const socket = await open(h, '/v1/ws/widget', { Origin: SHOP });
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(socket.frames).toEqual([]);
  });
});
