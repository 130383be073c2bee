/**
 * The WebSocket handshake (SPEC §4 "Before the upgrade", §5 limits), seen on the wire with
 * hand-written requests: every refusal is a bare HTTP status with nothing allocated, in
 * cheap-to-expensive order; what the SDK must tell apart comes after the upgrade as a close code.
 */
import type { Socket } from 'node:net';
import { RETRY_HINT_SECONDS } from '@postern/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { APP, type Harness, SHOP, startHarness } from '../support/harness.js';
import {
  clientFrame,
  type RawHandshakeOptions,
  type RawResponse,
  rawClosed,
  rawHandshake,
} from '../support/raw-handshake.js';
import { expectDrained, newVisitor, open, readyVisitor, waitFor } from '../support/ws-client.js';

const WIDGET = '/v1/ws/widget';
const APP_PATH = '/v1/ws/app';
const CAPACITY = 6;
const RETRY_AFTER_VALUES = RETRY_HINT_SECONDS.map(String);
const RETRY_REASONS = RETRY_HINT_SECONDS.map((seconds) => `retry=${seconds}`);

let harness: Harness;
const rawSockets: Socket[] = [];
afterEach(async () => {
  for (const socket of rawSockets.splice(0)) socket.destroy();
  await harness?.close();
});

function start(env: Record<string, string> = {}): Promise<Harness> {
  return startHarness({ env: { POSTERN_MAX_SOCKETS: String(CAPACITY), ...env } }).then((h) => {
    harness = h;
    return h;
  });
}

async function handshake(options: RawHandshakeOptions): Promise<RawResponse> {
  const response = await rawHandshake(harness.port, options);
  rawSockets.push(response.socket);
  return response;
}

/** No server software named anywhere: not in a header, not in a body. */
function expectAnonymous(response: RawResponse): void {
  expect(response.headers.has('server')).toBe(false);
  expect(response.headers.has('x-powered-by')).toBe(false);
  const body = response.status === 101 ? '' : response.rest.toString('latin1');
  expect(`${response.head}\r\n\r\n${body}`).not.toMatch(
    /\bws\b|node|express|uws|websocket-server|sec-websocket-key|invalid|missing|version/i,
  );
}

/** A refusal before the upgrade: exactly this status line, no body, nothing else said. */
function expectRefused(response: RawResponse, statusLine: string): void {
  expect(response.statusLine).toBe(statusLine);
  expect(response.rest.length).toBe(0);
  expect(response.headers.get('content-length')).toEqual(['0']);
  expect(response.headers.has('sec-websocket-accept')).toBe(false);
  expectAnonymous(response);
}

/** An accepted upgrade that says nothing beyond RFC 6455's three headers. */
function expectUpgraded(response: RawResponse): void {
  expect(response.statusLine).toBe('HTTP/1.1 101 Switching Protocols');
  expect([...response.headers.keys()].sort()).toEqual([
    'connection',
    'sec-websocket-accept',
    'upgrade',
  ]);
  expectAnonymous(response);
}

describe('WebSocket handshake > refusals before the upgrade', () => {
  it('answers an unknown path 404', async () => {
    await start();
    for (const path of ['/', '/v1/ws', '/v1/ws/', '/v1/ws/other', '/v1/ws/widget/', '/V1/WS/APP']) {
      expectRefused(
        await handshake({ path, headers: [['Origin', SHOP]] }),
        'HTTP/1.1 404 Not Found',
      );
    }
    await expectDrained(harness, CAPACITY);
  });

  it('refuses /v1/ws/app from an Origin not in POSTERN_APP_ORIGINS, or with none: 403', async () => {
    await start();
    const origins = [
      'http://evil.example',
      'null',
      '',
      SHOP,
      'https://app.example:8080',
      'http://app.example:8081',
      'http://app.example:8080.evil.example',
      'http://app.example:8080/console',
      'http://user@app.example:8080',
    ];
    for (const origin of origins) {
      expectRefused(
        await handshake({ path: APP_PATH, headers: [['Origin', origin]] }),
        'HTTP/1.1 403 Forbidden',
      );
    }
    expectRefused(await handshake({ path: APP_PATH }), 'HTTP/1.1 403 Forbidden');
    await expectDrained(harness, CAPACITY);
    // The listed origin, however it is spelled, is let in.
    expectUpgraded(
      await handshake({ path: APP_PATH, headers: [['Origin', 'HTTP://APP.example:8080/']] }),
    );
  });

  it('lets /v1/ws/app in without Origin only with POSTERN_APP_ALLOW_NO_ORIGIN=1', async () => {
    await start({ POSTERN_APP_ALLOW_NO_ORIGIN: '1' });
    expectUpgraded(await handshake({ path: APP_PATH }));
    // A present but foreign Origin is still refused.
    expectRefused(
      await handshake({ path: APP_PATH, headers: [['Origin', 'http://evil.example']] }),
      'HTTP/1.1 403 Forbidden',
    );
  });

  it('refuses /v1/ws/widget without Origin: 403', async () => {
    await start();
    expectRefused(await handshake({ path: WIDGET }), 'HTTP/1.1 403 Forbidden');
  });

  it('refuses two Origin header lines on /v1/ws/app, even two allowed ones: 403', async () => {
    await start();
    for (const second of [APP, 'http://evil.example']) {
      expectRefused(
        await handshake({
          path: APP_PATH,
          headers: [
            ['Origin', APP],
            ['Origin', second],
          ],
        }),
        'HTTP/1.1 403 Forbidden',
      );
    }
  });

  it('answers a broken handshake 400 with nothing from the WebSocket library', async () => {
    await start();
    const broken: RawHandshakeOptions[] = [
      { path: WIDGET, headers: [['Sec-WebSocket-Key', null]] },
      { path: WIDGET, headers: [['Sec-WebSocket-Key', 'not-a-key']] },
      { path: WIDGET, headers: [['Sec-WebSocket-Key', 'AAAAAAAAAAAAAAAAAAAAAAAAAA==']] },
      { path: WIDGET, headers: [['Sec-WebSocket-Version', '12']] },
      { path: WIDGET, headers: [['Sec-WebSocket-Version', null]] },
      { path: WIDGET, headers: [['Upgrade', 'h2c']] },
      { path: WIDGET, method: 'POST' },
    ];
    for (const options of broken) {
      const response = await handshake({
        ...options,
        headers: [['Origin', SHOP], ...(options.headers ?? [])],
      });
      expectRefused(response, 'HTTP/1.1 400 Bad Request');
      expect(response.headers.has('sec-websocket-version')).toBe(false);
      expect(response.headers.has('content-type')).toBe(false);
    }
    await expectDrained(harness, CAPACITY);
  });

  it('never selects a subprotocol, whatever the client offers', async () => {
    await start();
    const response = await handshake({
      path: WIDGET,
      headers: [
        ['Origin', SHOP],
        ['Sec-WebSocket-Protocol', 'evil, chat'],
      ],
    });
    expectUpgraded(response);
    expect(response.headers.has('sec-websocket-protocol')).toBe(false);
  });

  it('never negotiates compression, even when permessage-deflate is offered', async () => {
    await start();
    const response = await handshake({
      path: WIDGET,
      headers: [
        ['Origin', SHOP],
        ['Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'],
      ],
    });
    expectUpgraded(response);
    expect(response.headers.has('sec-websocket-extensions')).toBe(false);
  });
});

describe('WebSocket handshake > per-IP attempt rate (POSTERN_CONN_RATE)', () => {
  it('closes 4008 with a coarse retry hint when over, answers 429 when far over; other IPs go on', async () => {
    // Two attempts a minute; the pre-upgrade 429 starts beyond four times that.
    await start({ POSTERN_CONN_RATE: '2' });
    const flooder = '127.0.0.2';
    const within = [
      await open(harness, WIDGET, { Origin: SHOP }, flooder),
      await open(harness, WIDGET, { Origin: SHOP }, flooder),
    ];
    for (let attempt = 3; attempt <= 8; attempt++) {
      const socket = await open(harness, WIDGET, { Origin: SHOP }, flooder);
      const close = await socket.closed();
      expect(close.code).toBe(4008);
      expect(RETRY_REASONS).toContain(close.reason);
    }
    const refused = await handshake({
      path: WIDGET,
      headers: [['Origin', SHOP]],
      localAddress: flooder,
    });
    expectRefused(refused, 'HTTP/1.1 429 Too Many Requests');
    expect(RETRY_AFTER_VALUES).toContain(refused.headers.get('retry-after')?.[0]);
    // Sockets opened within the rate are not disturbed by the flood that followed.
    for (const socket of within) expect(socket.isClosed).toBe(false);

    // A forged X-Forwarded-For (no proxy is trusted) or X-Real-IP changes nothing.
    for (const [name, value] of [
      ['X-Forwarded-For', '203.0.113.9'],
      ['X-Forwarded-For', '198.51.100.1, 127.0.0.3'],
      ['X-Real-IP', '203.0.113.10'],
    ] as const) {
      expectRefused(
        await handshake({
          path: WIDGET,
          headers: [
            ['Origin', SHOP],
            [name, value],
          ],
          localAddress: flooder,
        }),
        'HTTP/1.1 429 Too Many Requests',
      );
    }

    // Another address has its own budget: it upgrades and authenticates normally.
    const other = '127.0.0.3';
    expectUpgraded(
      await handshake({ path: WIDGET, headers: [['Origin', SHOP]], localAddress: other }),
    );
    const visitor = await newVisitor(harness);
    const socket = await open(harness, WIDGET, { Origin: SHOP }, other);
    socket.send({ type: 'auth', token: visitor.visitorToken });
    expect((await socket.next())['type']).toBe('ready');

    for (const held of [...within, socket]) held.ws.close();
    for (const raw of rawSockets.splice(0)) raw.destroy();
    await expectDrained(harness, CAPACITY);
  });
});

describe('WebSocket handshake > global capacity (POSTERN_MAX_SOCKETS)', () => {
  it('answers 503 before the upgrade when full, and takes sockets again once one closes', async () => {
    await start({ POSTERN_MAX_SOCKETS: '2' });
    const first = await open(harness, WIDGET, { Origin: SHOP });
    await open(harness, APP_PATH, { Origin: APP });
    const full = await handshake({ path: WIDGET, headers: [['Origin', SHOP]] });
    expectRefused(full, 'HTTP/1.1 503 Service Unavailable');
    expect(RETRY_AFTER_VALUES).toContain(full.headers.get('retry-after')?.[0]);
    // Another address is refused too: the limit is the process's.
    expectRefused(
      await handshake({ path: WIDGET, headers: [['Origin', SHOP]], localAddress: '127.0.0.4' }),
      'HTTP/1.1 503 Service Unavailable',
    );

    first.ws.close();
    await first.closed();
    // The slot comes back as soon as the server has seen the close (it may lag the client).
    expectUpgraded(await upgradeWithin(2000, { path: WIDGET, headers: [['Origin', SHOP]] }));
  });
});

/** Retries an upgrade until it is accepted or `timeoutMs` has passed; answers the last reply. */
async function upgradeWithin(
  timeoutMs: number,
  options: RawHandshakeOptions,
): Promise<RawResponse> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const response = await handshake(options);
    if (response.status === 101 || performance.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('WebSocket handshake > guard order', () => {
  it('checks path, then attempt rate, then capacity, then Origin, then the handshake itself', async () => {
    await start({ POSTERN_MAX_SOCKETS: '1', POSTERN_CONN_RATE: '1' });
    const client = '127.0.0.5';
    const stranger = '127.0.0.6';
    await open(harness, WIDGET, { Origin: SHOP }, client); // attempt 1: the only slot

    // Full: capacity is answered before Origin, the path before capacity.
    const badOrigin = { path: APP_PATH, headers: [['Origin', 'http://evil.example']] } as const;
    expectRefused(
      await handshake({ ...badOrigin, localAddress: stranger }),
      'HTTP/1.1 503 Service Unavailable',
    );
    expectRefused(
      await handshake({ path: '/v1/ws/nope', localAddress: stranger }),
      'HTTP/1.1 404 Not Found',
    );
    // Attempts 2–4 from the client: over the rate but not far over, and the process is full.
    for (let attempt = 2; attempt <= 4; attempt++) {
      expectRefused(
        await handshake({ ...badOrigin, localAddress: client }),
        'HTTP/1.1 503 Service Unavailable',
      );
    }
    // Attempt 5 is far over (> 4 × 1): the rate is answered before capacity and Origin.
    expectRefused(
      await handshake({ ...badOrigin, localAddress: client }),
      'HTTP/1.1 429 Too Many Requests',
    );
    // An unknown path is still just unknown, and is not an attempt.
    expectRefused(
      await handshake({ path: '/v1/ws/nope', localAddress: client }),
      'HTTP/1.1 404 Not Found',
    );
  });

  it('checks Origin before the handshake headers', async () => {
    await start();
    expectRefused(
      await handshake({
        path: APP_PATH,
        headers: [
          ['Origin', 'http://evil.example'],
          ['Sec-WebSocket-Key', null],
        ],
      }),
      'HTTP/1.1 403 Forbidden',
    );
  });
});

describe('WebSocket handshake > refusals after the upgrade', () => {
  it('closes a widget socket whose Origin is present but invalid with 4003', async () => {
    await start();
    for (const origin of [
      'null',
      'file://',
      'http://shop.example:8080/page',
      'chrome-extension://abc',
    ]) {
      const socket = await open(harness, WIDGET, { Origin: origin });
      expect(await socket.closed()).toMatchObject({ code: 4003, reason: 'forbidden_origin' });
    }
    // Two Origin lines on the widget endpoint: a browser never sends that.
    const twice = await handshake({
      path: WIDGET,
      headers: [
        ['Origin', SHOP],
        ['Origin', SHOP],
      ],
    });
    expectUpgraded(twice);
    expect(await rawClosed(twice.socket, twice.rest)).toEqual({
      code: 4003,
      reason: 'forbidden_origin',
    });
    await expectDrained(harness, CAPACITY);
  });

  it('closes 4008 when the open sockets of one IP reach POSTERN_MAX_SOCKETS_PER_IP', async () => {
    await start({ POSTERN_MAX_SOCKETS_PER_IP: '2' });
    const ip = '127.0.0.7';
    const held = [
      await open(harness, WIDGET, { Origin: SHOP }, ip),
      await open(harness, WIDGET, { Origin: SHOP }, ip),
    ];
    const third = await open(harness, WIDGET, { Origin: SHOP }, ip);
    const close = await third.closed();
    expect(close.code).toBe(4008);
    expect(RETRY_REASONS).toContain(close.reason);
    // Another address is not affected, and the held sockets still work.
    const visitor = await newVisitor(harness);
    const elsewhere = await readyVisitor(harness, visitor.visitorToken);
    held[0]?.send({ type: 'auth', token: visitor.visitorToken });
    expect((await held[0]?.next())?.['type']).toBe('ready');
    for (const socket of [...held, elsewhere.socket]) socket.ws.close();
    await expectDrained(harness, CAPACITY);
  });

  // A client refused right after the upgrade may already have sent a broken frame; ws reports it
  // as an 'error' event, which must never go unhandled (it would crash the process).
  it.each([
    ['an oversized frame', clientFrame(1, Buffer.alloc(5000, 0x61))],
    ['invalid UTF-8', clientFrame(1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))],
    ['a reserved opcode', clientFrame(3, Buffer.from('x'))],
  ])('survives %s from a widget socket refused with 4003', async (_name, frame) => {
    await start({ POSTERN_MAX_FRAME_BYTES: '1024' });
    const response = await handshake({
      path: WIDGET,
      headers: [['Origin', 'null']],
      trailing: frame,
    });
    expectUpgraded(response);
    expect(await rawClosed(response.socket, response.rest)).toEqual({
      code: 4003,
      reason: 'forbidden_origin',
    });
    await waitFor(
      () => harness.logs.some((line) => line['event'] === 'ws_protocol_error'),
      'the protocol error to be seen',
    );
    expect((await fetch(`${harness.base}/healthz`)).status).toBe(200);
  });

  it('survives a broken frame from a socket refused with 4008 (attempt rate)', async () => {
    await start({ POSTERN_CONN_RATE: '1', POSTERN_MAX_FRAME_BYTES: '1024' });
    await open(harness, WIDGET, { Origin: SHOP });
    const response = await handshake({
      path: WIDGET,
      headers: [['Origin', SHOP]],
      trailing: clientFrame(1, Buffer.alloc(5000, 0x61)),
    });
    const close = await rawClosed(response.socket, response.rest);
    expect(close.code).toBe(4008);
    await waitFor(
      () => harness.logs.some((line) => line['event'] === 'ws_protocol_error'),
      'the protocol error to be seen',
    );
  });
});
