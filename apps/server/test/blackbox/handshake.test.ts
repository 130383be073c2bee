/**
 * Black box: the WebSocket handshake and the HTTP parser under hostile bytes (SPEC §4 "Before the
 * upgrade"), against the built server in its own process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeOf, wsOpen } from './support/clients.js';
import { clearOfWindowEdge } from './support/rate-windows.js';
import { endOf, openSocket, rawRequest, upgradeRequest } from './support/raw-http.js';
import {
  APP_ORIGIN,
  FOREIGN_ORIGIN,
  httpStatus,
  loopbackPool,
  type ServerProcess,
  SHOP_ORIGIN,
  startServer,
} from './support/server-process.js';

const nextIp = loopbackPool(11);
let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.dispose());

/** One raw handshake from a fresh address; the server's answer. */
const handshake = (path: string, headers: Record<string, string | null>, extra: string[] = []) =>
  rawRequest(upgradeRequest(path, headers, extra), {
    port: server.port,
    localAddress: nextIp(),
    timeoutMs: 5_000,
  });

/** The bare refusal SPEC §4 asks for: a status line, no body, nothing from a library. */
function expectBare(response: { raw: string; body: string }) {
  expect(response.body).toBe('');
  expect(response.raw).not.toMatch(/sec-websocket|invalid|missing|websocket-server|error:/i);
}

describe('black box: handshake', () => {
  it('upgrades a well-formed widget handshake (the control case)', async () => {
    const response = await handshake('/v1/ws/widget', {
      Origin: SHOP_ORIGIN,
      'Sec-WebSocket-Protocol': 'postern, chat',
      'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
    });
    expect(response.status).toBe(101);
    // Nothing offered is echoed: no subprotocol, no compression (SPEC §4, ratio attacks).
    expect(response.head).not.toMatch(/sec-websocket-(protocol|extensions)/i);
    await server.assertAlive();
  });

  it('refuses unknown paths with 404 before the upgrade', async () => {
    for (const path of ['/v1/ws/nope', '/v1/ws/widget/', '/v1/ws/WIDGET', '/v1/ws/app/..', '/']) {
      const response = await handshake(path, { Origin: SHOP_ORIGIN });
      expect(response.status, path).toBe(404);
    }
    await server.assertAlive();
  });

  it('refuses the widget endpoint without Origin with 403', async () => {
    const response = await handshake('/v1/ws/widget', {});
    expect(response.status).toBe(403);
    expectBare(response);
    await server.assertAlive();
  });

  it('refuses the app endpoint from a foreign, missing, doubled or look-alike Origin with 403', async () => {
    const cases: [string, Record<string, string | null>, string[]][] = [
      ['foreign', { Origin: FOREIGN_ORIGIN }, []],
      ['none', {}, []],
      ['null', { Origin: 'null' }, []],
      ['suffix look-alike', { Origin: `${APP_ORIGIN}.evil.example` }, []],
      ['other scheme', { Origin: APP_ORIGIN.replace('http:', 'https:') }, []],
      ['userinfo', { Origin: 'http://x@console.blackbox.example:8080' }, []],
      ['doubled', { Origin: APP_ORIGIN }, [`Origin: ${FOREIGN_ORIGIN}`]],
    ];
    for (const [label, headers, extra] of cases) {
      const response = await handshake('/v1/ws/app', headers, extra);
      expect(response.status, label).toBe(403);
    }
    // Control: the configured console origin does upgrade.
    expect((await handshake('/v1/ws/app', { Origin: APP_ORIGIN })).status).toBe(101);
    await server.assertAlive();
  });

  it('answers a bad Sec-WebSocket-Key or version with a bare 400 and no library text', async () => {
    const cases: [string, Record<string, string | null>][] = [
      ['short key', { 'Sec-WebSocket-Key': 'abc' }],
      ['missing key', { 'Sec-WebSocket-Key': null }],
      ['key not base64', { 'Sec-WebSocket-Key': '!!!!!!!!!!!!!!!!!!!!!!==' }],
      // ws also speaks version 8 (hybi-08); 7 and 99 are nobody's.
      ['version 7', { 'Sec-WebSocket-Version': '7' }],
      ['version 99', { 'Sec-WebSocket-Version': '99' }],
      ['no version', { 'Sec-WebSocket-Version': null }],
    ];
    for (const [label, headers] of cases) {
      const response = await handshake('/v1/ws/widget', { Origin: SHOP_ORIGIN, ...headers });
      expect(response.status, label).toBe(400);
      expectBare(response);
    }
    await server.assertAlive();
  });

  it('refuses an upgrade with a method other than GET', async () => {
    const bytes = upgradeRequest('/v1/ws/widget', { Origin: SHOP_ORIGIN }).replace(
      /^GET /,
      'POST ',
    );
    const response = await rawRequest(bytes, { port: server.port, localAddress: nextIp() });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    await server.assertAlive();
  });

  it('survives 2,000 header lines on a handshake and on a plain request', async () => {
    const lines = Array.from({ length: 2_000 }, (_, i) => `x-${i}: ${i}`);
    const upgrade = await handshake('/v1/ws/widget', { Origin: SHOP_ORIGIN }, lines);
    // Either the extra lines are dropped (and the handshake proceeds) or the head is too large.
    expect([101, 400, 431]).toContain(upgrade.status);
    const plain = await rawRequest(
      `GET /healthz HTTP/1.1\r\nHost: x\r\n${lines.join('\r\n')}\r\n\r\n`,
      { port: server.port, localAddress: nextIp() },
    );
    expect([200, 400, 431]).toContain(plain.status);
    await server.assertAlive();
  });

  it('refuses a 64 KiB header with 431 or 400', async () => {
    const big = `x-big: ${'a'.repeat(64 * 1024)}`;
    const upgrade = await handshake('/v1/ws/widget', { Origin: SHOP_ORIGIN }, [big]);
    expect([400, 431]).toContain(upgrade.status);
    expect(upgrade.raw).not.toMatch(/HPE_|overflow/i);
    const plain = await rawRequest(`GET /healthz HTTP/1.1\r\nHost: x\r\n${big}\r\n\r\n`, {
      port: server.port,
      localAddress: nextIp(),
    });
    expect([400, 431]).toContain(plain.status);
    await server.assertAlive();
  });

  it('limits a connection flood from one IP: open sockets, then the attempt rate', async () => {
    await clearOfWindowEdge(5_000);
    const ip = nextIp();
    const open = () =>
      wsOpen(`${server.wsBase}/v1/ws/widget`, { origin: SHOP_ORIGIN, localAddress: ip });
    const sockets = await Promise.all(Array.from({ length: 50 }, open));
    // The 51st open socket of one IP (POSTERN_MAX_SOCKETS_PER_IP, 50): upgraded, then 4008.
    const extra = await open();
    expect((await closeOf(extra, 3_000))?.code).toBe(4008);
    for (const ws of sockets) ws.terminate();
    // Attempts keep counting (POSTERN_CONN_RATE, 60 a minute): over it, 4008 after the upgrade;
    // far over it, a bare 429 before the upgrade.
    const codes: (number | string)[] = [];
    for (let attempt = 52; attempt <= 300 && !codes.includes('429'); attempt++) {
      try {
        const ws = await open();
        // Refused sockets are closed at once; an admitted one would wait for its `auth`.
        codes.push((await closeOf(ws, 150))?.code ?? 'open');
        ws.terminate();
      } catch (error) {
        codes.push(/refused: (\d+)/.exec(String(error))?.[1] ?? String(error));
      }
    }
    // Attempts 52..60 are admitted, 61..240 refused after the upgrade, the 241st before it.
    expect(codes).toEqual([
      ...Array.from({ length: 9 }, () => 'open'),
      ...Array.from({ length: 180 }, () => 4008),
      '429',
    ]);
    await server.assertAlive();
    // Another IP is unaffected.
    const other = await wsOpen(`${server.wsBase}/v1/ws/widget`, {
      origin: SHOP_ORIGIN,
      localAddress: nextIp(),
    });
    expect(other.readyState).toBe(other.OPEN);
    other.terminate();
  });

  it('drops slowloris and silent connections by the header timeout (10 s) while serving others', async () => {
    const slow = await openSocket({ port: server.port, localAddress: nextIp() });
    const silent = await openSocket({ port: server.port, localAddress: nextIp() });
    for (const socket of [slow, silent]) socket.on('error', () => undefined);
    const ends = Promise.all([endOf(slow, 14_000), endOf(silent, 14_000)]);
    slow.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const drip = setInterval(() => {
      if (!slow.destroyed) slow.write('a');
    }, 200);
    // Meanwhile everyone else is served promptly.
    const served: number[] = [];
    const probe = setInterval(() => {
      const asked = Date.now();
      void httpStatus(server.port, '/healthz', 1_500).then(
        (status) => served.push(status === 200 ? Date.now() - asked : -1),
        () => served.push(-1),
      );
    }, 1_000);
    const [slowEnd, silentEnd] = await ends;
    clearInterval(drip);
    clearInterval(probe);
    slow.destroy();
    silent.destroy();
    expect(slowEnd.closed, `slowloris still connected after ${slowEnd.ms} ms`).toBe(true);
    expect(silentEnd.closed, `silent still connected after ${silentEnd.ms} ms`).toBe(true);
    for (const end of [slowEnd, silentEnd]) {
      expect(end.ms).toBeGreaterThanOrEqual(9_000);
      expect(end.ms).toBeLessThan(13_000);
    }
    expect(served.length).toBeGreaterThanOrEqual(8);
    expect(served.every((ms) => ms >= 0 && ms < 1_000)).toBe(true);
    await server.assertAlive();
  }, 20_000);

  it('exits 0 within 5 s of SIGTERM, closing open sockets with 1001', async () => {
    const ws = await wsOpen(`${server.wsBase}/v1/ws/widget`, {
      origin: SHOP_ORIGIN,
      localAddress: nextIp(),
    });
    const closed = closeOf(ws, 5_000);
    const exit = await server.stop('SIGTERM', 5_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect((await closed)?.code).toBe(1001);
  });
});
