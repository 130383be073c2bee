/**
 * Probes (SPEC §3): `/healthz` answers 200 while the process runs; `/readyz` answers 503 while the
 * store is unavailable or the server is shutting down — in-process and in the built server
 * receiving SIGTERM — so a load balancer stops sending traffic before the sockets go.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { httpStatus, type ServerProcess, startServer } from '../blackbox/support/server-process.js';
import { type Harness, startHarness } from '../support/harness.js';

let harness: Harness | undefined;
let server: ServerProcess | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await harness?.close();
  await server?.dispose();
  harness = undefined;
  server = undefined;
});

/** A store whose `healthy()` the test decides. */
function switchableStore(): { store: Store; setHealthy(healthy: boolean): void } {
  const inner = openSqliteStore({ path: ':memory:' });
  let healthy = true;
  const store = new Proxy(inner, {
    get: (target, property, receiver) =>
      property === 'healthy'
        ? () => healthy && target.healthy()
        : Reflect.get(target, property, receiver),
  });
  return {
    store,
    setHealthy(value) {
      healthy = value;
    },
  };
}

/**
 * A connection that has sent all of `GET /readyz` but the final blank line, so the server counts
 * it as busy (not idle) and keeps it through the start of a shutdown; `finish` completes the
 * request and resolves with the status line's code.
 */
async function pendingReadyz(port: number): Promise<{ finish(): Promise<number> }> {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write('GET /readyz HTTP/1.1\r\nHost: probe\r\n');
  return {
    finish: () =>
      new Promise((resolve, reject) => {
        let head = '';
        socket.on('data', (chunk: Buffer) => {
          head += chunk.toString('latin1');
          const match = /^HTTP\/1\.1 (\d{3})/.exec(head);
          if (!match?.[1]) return;
          resolve(Number(match[1]));
          // Done with it: the shutdown need not wait for this connection to time out.
          socket.destroy();
        });
        socket.once('error', reject);
        socket.write('\r\n');
      }),
  };
}

/** Resolves once nothing accepts connections on `port` any more (the listener is closed). */
async function listenerClosed(port: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const probe = connect({ host: '127.0.0.1', port });
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
    if (!accepted) return;
    if (Date.now() > deadline) throw new Error('the listener never closed');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('/readyz', () => {
  it('answers 503 while the store reports unhealthy, and 200 again once it recovers', async () => {
    const { store, setHealthy } = switchableStore();
    harness = await startHarness({ store });
    const readyz = () => fetch(`${harness?.base}/readyz`);
    expect((await readyz()).status).toBe(200);
    setHealthy(false);
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: 'unavailable' });
    expect(down.headers.get('cache-control')).toBe('no-store');
    // Liveness is not readiness: the process is fine, restarting it would not help.
    expect((await fetch(`${harness.base}/healthz`)).status).toBe(200);
    setHealthy(true);
    expect((await readyz()).status).toBe(200);
  });

  it('answers 503 once a shutdown has begun, to a request already on its way', async () => {
    harness = await startHarness();
    const probe = await pendingReadyz(harness.port);
    const closing = harness.server.close();
    expect(await probe.finish()).toBe(503);
    await closing;
  });

  it('answers 503 in the built server once it received SIGTERM, which then exits 0', async () => {
    server = await startServer();
    expect(await httpStatus(server.port, '/readyz')).toBe(200);
    const probe = await pendingReadyz(server.port);
    const exited = new Promise<number | null>((resolve) => server?.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    // A closed listener means the shutdown has started (the flag is set before it closes).
    await listenerClosed(server.port);
    expect(await probe.finish()).toBe(503);
    expect(await exited).toBe(0);
    expect(server.stdout()).toContain('"event":"shutting_down"');
  });
});

describe('/healthz', () => {
  it('answers 200 with no store access at all', async () => {
    const { store, setHealthy } = switchableStore();
    harness = await startHarness({ store });
    setHealthy(false);
    const res = await fetch(`${harness.base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});
