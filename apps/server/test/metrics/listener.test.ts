/**
 * Where metrics are served (SPEC §3): only on POSTERN_METRICS_PORT, bound to 127.0.0.1 unless
 * POSTERN_METRICS_HOST says otherwise, never on the public port; from a registry of the server's
 * own, with the default process metrics.
 */
import { connect } from 'node:net';
import { register as globalRegistry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createHeartbeat } from '../../src/ws/heartbeat.js';
import { type Harness, type HarnessOptions, startHarness } from '../support/harness.js';
import { newVisitor, readyVisitor } from '../support/ws-client.js';
import { metricsUrl, parseExposition, scrape, total } from './scrape.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.close();
});

async function start(env: Record<string, string> = {}, options: HarnessOptions = {}) {
  const harness = await startHarness({ ...options, env: { POSTERN_METRICS_PORT: '0', ...env } });
  harnesses.push(harness);
  return harness;
}

/** Whether a TCP connection to `host:port` is accepted. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('metrics listener', () => {
  it('is off unless POSTERN_METRICS_PORT is set', async () => {
    const harness = await startHarness();
    harnesses.push(harness);
    expect(harness.server.metricsAddress()).toBeNull();
    expect((await fetch(`${harness.base}/metrics`)).status).toBe(404);
  });

  it('never answers /metrics on the public port', async () => {
    const harness = await start();
    for (const path of ['/metrics', '/metrics?format=text', '/v1/metrics', '/metrics/']) {
      const res = await fetch(`${harness.base}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('postern_');
    }
  });

  it('binds to 127.0.0.1 by default, and only there', async () => {
    const harness = await start();
    const address = harness.server.metricsAddress();
    expect(address?.address).toBe('127.0.0.1');
    expect(address?.port).not.toBe(harness.port);
    // Another loopback address of the same machine is not the bound one.
    expect(await reachable('127.0.0.1', address?.port ?? 0)).toBe(true);
    expect(await reachable('127.0.0.2', address?.port ?? 0)).toBe(false);
  });

  it('binds to POSTERN_METRICS_HOST when given', async () => {
    const harness = await start({ POSTERN_METRICS_HOST: '127.0.0.3' });
    expect(harness.server.metricsAddress()?.address).toBe('127.0.0.3');
    expect((await scrape(harness)).types.size).toBeGreaterThan(0);
  });

  it('serves GET /metrics only', async () => {
    const harness = await start();
    const url = metricsUrl(harness);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect((await fetch(url, { method: 'POST' })).status).toBe(405);
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(url.replace('/metrics', '/healthz'))).status).toBe(404);
  });

  it('keeps each server on its own registry, with the default process metrics', async () => {
    const busy = await start();
    const idle = await start();
    await newVisitor(busy);
    const scraped = await scrape(idle);
    expect(scraped.types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(scraped.types.has('nodejs_heap_size_total_bytes')).toBe(true);
    expect(total(await scrape(busy), 'postern_http_requests_total')).toBeGreaterThan(0);
    expect(total(scraped, 'postern_http_requests_total')).toBe(0);
    const global = parseExposition(await globalRegistry.metrics());
    expect([...global.types.keys()].filter((name) => name.startsWith('postern_'))).toEqual([]);
  });

  it('stops with the server', async () => {
    const harness = await startHarness({ env: { POSTERN_METRICS_PORT: '0' } });
    const port = harness.server.metricsAddress()?.port ?? 0;
    await harness.close();
    expect(await reachable('127.0.0.1', port)).toBe(false);
  });

  it('counts a handshake ws itself refuses, under a fixed reason', async () => {
    const harness = await start();
    const socket = connect({ host: '127.0.0.1', port: harness.port });
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
      });
      socket.on('close', () => resolve(text));
      // No Sec-WebSocket-Key: ws refuses the upgrade itself.
      socket.write(
        'GET /v1/ws/widget HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Version: 13\r\nOrigin: http://shop.example\r\n\r\n',
      );
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    const scraped = await scrape(harness);
    expect(
      total(scraped, 'postern_ws_handshakes_refused_total', {
        endpoint: 'widget',
        reason: 'bad_handshake',
      }),
    ).toBe(1);
  });

  it('counts active connections and their close codes at the decision points', async () => {
    const harness = await start();
    const visitor = await newVisitor(harness);
    const { socket } = await readyVisitor(harness, visitor.visitorToken);
    const open = await scrape(harness);
    expect(total(open, 'postern_ws_connections_active', { endpoint: 'widget' })).toBe(1);
    expect(total(open, 'postern_token_verifications_total', { kind: 'visitor' })).toBe(1);
    socket.send({ type: 'auth', token: visitor.visitorToken });
    expect((await socket.nextOf('error'))['code']).toBe('invalid');
    socket.ws.close(4999);
    await socket.closed();
    let closed = await scrape(harness);
    while (total(closed, 'postern_ws_connections_active', { endpoint: 'widget' }) !== 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      closed = await scrape(harness);
    }
    // 4999 is no code of the protocol table: counted, under `other`.
    expect(total(closed, 'postern_ws_closes_total', { code: 'other', initiator: 'peer' })).toBe(1);
    expect(total(closed, 'postern_ws_frames_refused_total', { reason: 'invalid' })).toBe(1);
  });
});

describe('heartbeat round trip', () => {
  it('times the latest ping once, whatever the peer sends back', () => {
    let clock = 1_000;
    const timers: (() => void)[] = [];
    const trips: number[] = [];
    const heartbeat = createHeartbeat({
      intervalMs: 100,
      timeoutMs: 1_000,
      after: (_ms, fn) => {
        timers.push(fn);
        return setTimeout(() => {}, 0);
      },
      cancel: clearTimeout,
      sendPing: () => {},
      onDead: () => {},
      now: () => clock,
      onRoundTrip: (ms) => trips.push(ms),
    });
    heartbeat.start();
    timers.shift()?.(); // ping 1 at t=1000
    clock += 40;
    heartbeat.pong(1);
    heartbeat.pong(1); // a duplicate is not a second round trip
    heartbeat.pong(7); // an id never sent is ignored
    timers.shift()?.(); // the deadline timer of ping 1 (cancelled in a real scheduler)
    timers.shift()?.(); // ping 2 at t=1040
    clock += 15;
    heartbeat.pong(2);
    expect(trips).toEqual([40, 15]);
  });
});
