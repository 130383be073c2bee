/**
 * Black box: the HTTP API under hostile requests (SPEC §3 bodies and errors, §5 client IP and the
 * HTTP rate), against the built server in its own process.
 */
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpCall } from './support/clients.js';
import { clearOfWindowEdge } from './support/rate-windows.js';
import { openSocket, rawRequest, readResponse } from './support/raw-http.js';
import {
  APP_ORIGIN,
  FOREIGN_ORIGIN,
  httpStatus,
  loopbackPool,
  type ServerProcess,
  SHOP_ORIGIN,
  startServer,
} from './support/server-process.js';
import { mintSite } from './support/tokens.js';

const BODY_MAX = 4096;
const HTTP_RATE = 120;
const nextIp = loopbackPool(14);
let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.dispose());

const SESSION = '/v1/widget/session';

/** A session request with `body` and `headers` from a fresh address. */
const post = (body: string | Buffer, headers: Record<string, string>, path = SESSION) =>
  httpCall({
    port: server.port,
    method: 'POST',
    path,
    headers: { Origin: SHOP_ORIGIN, ...headers },
    body,
    localAddress: nextIp(),
  });

/** A raw request head for the session endpoint. */
const head = (lines: string[]) =>
  `POST ${SESSION} HTTP/1.1\r\nHost: x\r\nOrigin: ${SHOP_ORIGIN}\r\n${lines.join('\r\n')}\r\n\r\n`;

/** Every error body is `{"error": "<stable code>"}` and nothing else. */
function expectStableError(answer: { json: unknown; text: string }, code: string) {
  expect(answer.json).toEqual({ error: code });
  expect(answer.text).not.toMatch(/at .*\.js|node:|stack|SyntaxError|4096|4 KiB/i);
}

describe('black box: HTTP', () => {
  it('creates a session from a well-formed request (the control case)', async () => {
    const token = await mintSite();
    const answer = await post(
      '{}',
      { 'Content-Type': 'application/json' },
      `${SESSION}?site_token=${token}`,
    );
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBe(SHOP_ORIGIN);
    expect(answer.headers['cache-control']).toBe('no-store');
    await server.assertAlive();
  });

  it('refuses a body over 4 KiB with 413, declared or streamed', async () => {
    const big = JSON.stringify({ refresh_token: 'r'.repeat(BODY_MAX) });
    const declared = await post(big, { 'Content-Type': 'application/json' });
    expect(declared.status).toBe(413);
    expectStableError(declared, 'payload_too_large');

    // Chunked, no Content-Length, one MiB: counted as it arrives.
    const socket = await openSocket({ port: server.port, localAddress: nextIp() });
    socket.on('error', () => undefined);
    const answer = readResponse(socket, 5_000);
    socket.write(head(['Content-Type: application/json', 'Transfer-Encoding: chunked']));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    for (let i = 0; i < 16 && !socket.destroyed; i++) {
      socket.write(`${chunk.length.toString(16)}\r\n`);
      socket.write(chunk);
      socket.write('\r\n');
    }
    socket.write('0\r\n\r\n');
    expect((await answer).status).toBe(413);
    socket.destroy();
    // A Content-Length that lies low: only the declared bytes are body; the rest is a (bad) next
    // request, refused by the parser — never a 413 nor a body read past its length.
    const lying = await rawRequest(
      `${head(['Content-Type: application/json', 'Content-Length: 2'])}{}${'x'.repeat(8_000)}`,
      { port: server.port, localAddress: nextIp() },
    );
    expect([400, 401]).toContain(lying.status);
    await server.assertAlive();
  });

  it('refuses a body that is not JSON with 415', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonp',
      'text/json',
    ]) {
      const answer = await post('{}', { 'Content-Type': type });
      expect(answer.status, type).toBe(415);
      expectStableError(answer, 'unsupported_media_type');
    }
    const untyped = await post('{}', {});
    expect(untyped.status).toBe(415);
    await server.assertAlive();
  });

  it('refuses malformed and deeply nested JSON bodies with 400', async () => {
    const bodies = [
      '{',
      '{"a":}',
      '['.repeat(4_000),
      `${'['.repeat(2_000)}${']'.repeat(2_000)}`,
      `{"refresh_token":${'{"a":'.repeat(600)}1${'}'.repeat(600)}}`,
      '{"refresh_token":["r"]}',
    ];
    for (const body of bodies) {
      const answer = await post(body, { 'Content-Type': 'application/json' });
      expect(answer.status, body.slice(0, 10)).toBe(400);
      expectStableError(answer, 'invalid_body');
    }
    await server.assertAlive();
  });

  it('refuses request smuggling shapes (Content-Length with Transfer-Encoding, two lengths)', async () => {
    const both = await rawRequest(
      `${head(['Content-Type: application/json', 'Content-Length: 4', 'Transfer-Encoding: chunked'])}0\r\n\r\n`,
      { port: server.port, localAddress: nextIp() },
    );
    expect(both.status).toBe(400);
    const two = await rawRequest(
      `${head(['Content-Type: application/json', 'Content-Length: 2', 'Content-Length: 40'])}{}`,
      { port: server.port, localAddress: nextIp() },
    );
    expect(two.status).toBe(400);
    const bare = await rawRequest(
      `${head(['Content-Type: application/json', 'Transfer-Encoding: chunked, identity'])}0\r\n\r\n`,
      { port: server.port, localAddress: nextIp() },
    );
    expect(bare.status).toBe(400);
    await server.assertAlive();
  });

  it('keeps serving others while a chunked body never ends', async () => {
    const socket = await openSocket({ port: server.port, localAddress: nextIp() });
    socket.on('error', () => undefined);
    const answer = readResponse(socket, 2_000);
    socket.write(head(['Content-Type: application/json', 'Transfer-Encoding: chunked']));
    socket.write('1\r\n{\r\n');
    const drip = setInterval(() => socket.write('1\r\n \r\n'), 100);
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => httpStatus(server.port, '/healthz', 1_000)),
    );
    expect(statuses.every((status) => status === 200)).toBe(true);
    // The stalled request gets no answer (it is still waiting for its body) and costs nothing.
    expect((await answer).status).toBe(null);
    clearInterval(drip);
    socket.destroy();
    await server.assertAlive();
  });

  it('keys the rate on the socket address: 10,000 distinct X-Forwarded-For change nothing', async () => {
    await clearOfWindowEdge(5_000);
    const localAddress = nextIp();
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const spoof = (i: number) => {
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      return {
        'X-Forwarded-For': i % 3 === 0 ? `${ip}, 192.0.2.1` : ip,
        'X-Real-IP': ip,
        Forwarded: `for=${ip}`,
      };
    };
    const get = (i: number) =>
      new Promise<number>((resolve, reject) => {
        const req = request({
          host: '127.0.0.1',
          port: server.port,
          path: '/v1/widget/dialogs/abc/messages',
          headers: spoof(i),
          agent,
          localAddress,
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      // One at a time up to the limit and one past it: the 121st is 429.
      const first: number[] = [];
      for (let i = 0; i <= HTTP_RATE; i++) first.push(await get(i));
      expect(first.slice(0, HTTP_RATE).every((status) => status !== 429)).toBe(true);
      expect(first[HTTP_RATE]).toBe(429);
      // The rest, concurrently, each with yet another spoofed address: all 429.
      const rest: number[] = [];
      for (let start = HTTP_RATE + 1; start < 10_000; start += 500) {
        const batch = Array.from({ length: Math.min(500, 10_000 - start) }, (_, k) =>
          get(start + k),
        );
        rest.push(...(await Promise.all(batch)));
      }
      expect(rest).toHaveLength(10_000 - HTTP_RATE - 1);
      expect(rest.filter((status) => status !== 429)).toEqual([]);
    } finally {
      agent.destroy();
    }
    // Another address is unaffected.
    const other = await httpCall({
      port: server.port,
      path: '/v1/widget/dialogs/abc/messages',
      localAddress: nextIp(),
    });
    expect(other.status).toBe(401);
    await server.assertAlive();
  }, 30_000);

  it('gives app routes from a foreign origin 403 without CORS headers', async () => {
    const answer = await httpCall({
      port: server.port,
      path: '/v1/app/dialogs',
      headers: { Origin: FOREIGN_ORIGIN },
      localAddress: nextIp(),
    });
    expect(answer.status).toBe(403);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    const allowed = await httpCall({
      port: server.port,
      path: '/v1/app/dialogs',
      headers: { Origin: APP_ORIGIN },
      localAddress: nextIp(),
    });
    expect([401, 404]).toContain(allowed.status);
    expect(allowed.headers['access-control-allow-origin']).toBe(APP_ORIGIN);
    await server.assertAlive();
  });

  it('exits 0 within 5 s of SIGTERM', async () => {
    const exit = await server.stop('SIGTERM', 5_000);
    expect(exit).toEqual({ code: 0, signal: null });
  });
});
