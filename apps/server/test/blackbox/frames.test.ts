/**
 * Black box: hostile WebSocket frames (SPEC §4 "Frame handling", §5 frame rate), from real `ws`
 * clients and from raw frame bytes, against the built server in its own process.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import {
  authenticate,
  closeOf,
  collect,
  nextFrame,
  stillServed,
  wsOpen,
} from './support/clients.js';
import { encodeFrame, Opcode, openRawWs, type RawWs } from './support/raw-ws.js';
import {
  APP_ORIGIN,
  httpStatus,
  loopbackPool,
  type ServerProcess,
  SHOP_ORIGIN,
  startServer,
} from './support/server-process.js';
import { mintOperator } from './support/tokens.js';

const MAX_FRAME_BYTES = 16_384;
const nextIp = loopbackPool(12);
let server: ServerProcess;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.dispose());

/** A widget socket before `auth` (any frame but a valid `auth` is a client bug there). */
const widgetSocket = () =>
  wsOpen(`${server.wsBase}/v1/ws/widget`, { origin: SHOP_ORIGIN, localAddress: nextIp() });

/** An operator socket past `auth`, so frames reach the frame handling proper. */
async function operatorSocket(): Promise<WebSocket> {
  const ws = await wsOpen(`${server.wsBase}/v1/ws/app`, {
    origin: APP_ORIGIN,
    localAddress: nextIp(),
  });
  ws.on('error', () => undefined);
  await authenticate(ws, await mintOperator());
  return ws;
}

const rawSocket = (path = '/v1/ws/widget', origin = SHOP_ORIGIN): Promise<RawWs> =>
  openRawWs(path, { Origin: origin }, { port: server.port, localAddress: nextIp() });

/** Sends `text` on a fresh socket before `auth` and resolves with the close code. */
async function closeCodeFor(data: string | Buffer): Promise<number | undefined> {
  const ws = await widgetSocket();
  ws.on('error', () => undefined);
  const closed = closeOf(ws);
  ws.send(data);
  return (await closed)?.code;
}

const uuid = '6f1c2a7e-8b3d-4c5e-9f6a-0b1c2d3e4f50';

describe('black box: frames', () => {
  it('authenticates an operator socket (the control case)', async () => {
    const ws = await operatorSocket();
    expect(await stillServed(ws)).toBe(true);
    ws.close();
    await server.assertAlive();
  });

  it('closes 1009 on a frame over 16384 bytes, before and after auth', async () => {
    const big = JSON.stringify({ type: 'auth', token: 'a'.repeat(MAX_FRAME_BYTES) });
    expect(await closeCodeFor(big)).toBe(1009);
    const ws = await operatorSocket();
    const closed = closeOf(ws);
    ws.send('x'.repeat(MAX_FRAME_BYTES + 1));
    expect((await closed)?.code).toBe(1009);
    await server.assertAlive();
  });

  it('closes 4000 on a binary frame', async () => {
    expect(await closeCodeFor(Buffer.from('{"type":"auth","token":"x"}'))).toBe(4000);
    const ws = await operatorSocket();
    const closed = closeOf(ws);
    ws.send(Buffer.from([0, 1, 2, 3]));
    expect((await closed)?.code).toBe(4000);
    await server.assertAlive();
  });

  it('closes 4000 on non-JSON, non-objects, unknown types and frames before auth', async () => {
    const frames = [
      'not json',
      '',
      '"auth"',
      '42',
      'null',
      '[]',
      '[{"type":"auth","token":"x"}]',
      '{}',
      '{"type":null}',
      '{"type":"nope"}',
      '{"type":"__proto__"}',
      '{"type":"constructor"}',
      '{"type":"toString"}',
      '{"type":"hasOwnProperty"}',
      '{"type":"typing","dialog_id":"abc","state":"start"}',
    ];
    const codes = await Promise.all(frames.map((frame) => closeCodeFor(frame)));
    expect(Object.fromEntries(frames.map((frame, i) => [frame, codes[i]]))).toEqual(
      Object.fromEntries(frames.map((frame) => [frame, 4000])),
    );
    await server.assertAlive();
  });

  it('closes 1007 on a text frame that is not UTF-8 (raw frame bytes)', async () => {
    const payloads = [
      Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      Buffer.concat([
        Buffer.from('{"type":"auth","token":"'),
        Buffer.from([0xc0, 0xaf, 0x22, 0x7d]),
      ]),
      Buffer.from([0xed, 0xa0, 0x80]), // an encoded lone surrogate
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
    ];
    for (const payload of payloads) {
      const raw = await rawSocket();
      raw.send(encodeFrame(Opcode.TEXT, payload));
      expect((await raw.closed(3_000))?.code, payload.toString('hex')).toBe(1007);
      raw.destroy();
    }
    await server.assertAlive();
  });

  it('closes 1002 on framing violations (RSV bits, unmasked, long control frame, bad close code)', async () => {
    const masked = encodeFrame(Opcode.TEXT, Buffer.from('{}'));
    const rsv = Buffer.from(masked);
    rsv[0] = (rsv[0] ?? 0) | 0x40;
    const unmasked = Buffer.from([0x81, 0x02, 0x7b, 0x7d]);
    const longPing = encodeFrame(Opcode.PING, Buffer.alloc(126));
    const fragmentedPing = encodeFrame(Opcode.PING, Buffer.from('x'), false);
    const badClose = encodeFrame(Opcode.CLOSE, Buffer.from([0x03, 0xe7])); // 999
    const badOpcode = encodeFrame(0x3, Buffer.from('x'));
    const cases = { rsv, unmasked, longPing, fragmentedPing, badClose, badOpcode };
    for (const [label, bytes] of Object.entries(cases)) {
      const raw = await rawSocket();
      raw.send(bytes);
      expect((await raw.closed(3_000))?.code, label).toBe(1002);
      raw.destroy();
    }
    await server.assertAlive();
  });

  it('survives deeply nested JSON within the frame limit (4000 or error, never a crash)', async () => {
    const arrays = '['.repeat(MAX_FRAME_BYTES - 10);
    const closedArrays = `${'['.repeat(8_000)}${']'.repeat(8_000)}`;
    const objects = `${'{"a":'.repeat(2_700)}1${'}'.repeat(2_700)}`;
    expect(await closeCodeFor(arrays)).toBe(4000);
    expect(await closeCodeFor(closedArrays)).toBe(4000);
    expect(await closeCodeFor(objects)).toBe(4000);
    // 100,000 levels do not fit in a frame: refused by size first.
    expect(await closeCodeFor('['.repeat(100_000))).toBe(1009);

    // Inside a known type, after auth: `invalid` (or a 4000), never 1011 and never a crash.
    const ws = await operatorSocket();
    const nested = `${'{"a":'.repeat(2_500)}1${'}'.repeat(2_500)}`;
    const deep = `{"type":"send","dialog_id":"abc","client_msg_id":"${uuid}","text":${nested}}`;
    expect(deep.length).toBeLessThan(MAX_FRAME_BYTES);
    const closed = closeOf(ws, 3_000);
    const error = nextFrame(ws, (frame) => frame['type'] === 'error', 3_000);
    ws.send(deep);
    const answer = await Promise.race([error, closed]);
    if (answer && 'code' in answer && typeof answer.code === 'number') {
      expect(answer.code).toBe(4000);
    } else {
      expect(answer).toMatchObject({ type: 'error', code: 'invalid' });
    }
    ws.close();
    await server.assertAlive();
  });

  it('answers __proto__ and constructor payloads with error invalid and keeps the socket', async () => {
    const before = [
      '{"__proto__":{"type":"auth","token":"x"}}',
      '{"constructor":{"prototype":{"type":"auth"}}}',
    ];
    for (const frame of before) expect(await closeCodeFor(frame), frame).toBe(4000);

    const ws = await operatorSocket();
    const hostile = [
      `{"type":"send","dialog_id":"abc","client_msg_id":"${uuid}","text":"hi","__proto__":{"polluted":1}}`,
      `{"type":"send","dialog_id":"abc","client_msg_id":"${uuid}","text":"hi","constructor":{"prototype":{"polluted":1}}}`,
      '{"type":"typing","dialog_id":"abc","state":"start","__proto__":{"state":"stop"}}',
      '{"type":"subscribe","dialog_id":"abc","constructor":{"prototype":{"isAdmin":true}}}',
      '{"type":"handoff","dialog_id":"abc","action":"take","__proto__":null}',
    ];
    for (const frame of hostile) {
      const error = nextFrame(ws, (value) => value['type'] === 'error', 3_000);
      ws.send(frame);
      expect(await error, frame).toMatchObject({ type: 'error', code: 'invalid' });
    }
    expect(await stillServed(ws)).toBe(true);
    ws.close();
    // And nothing leaked into the process: a fresh socket is handled exactly as before.
    const fresh = await operatorSocket();
    expect(await stillServed(fresh)).toBe(true);
    fresh.close();
    await server.assertAlive();
  });

  it('rate-limits a burst of 1,000 frames: one error rate_limited, then 4008', async () => {
    const ws = await operatorSocket();
    const received = collect(ws);
    const closed = closeOf(ws, 5_000);
    const frame = JSON.stringify({ type: 'typing', dialog_id: 'abc', state: 'start' });
    for (let i = 0; i < 1_000; i++) ws.send(frame);
    const close = await closed;
    expect(close?.code).toBe(4008);
    expect(close?.reason).toMatch(/^(retry=(5|15|30|60|300))?$/);
    const limited = received.filter(
      (value) => (value as { code?: unknown }).code === 'rate_limited',
    );
    // One per 10 s window (two only if the burst straddled a window edge), never one per frame.
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(limited.length).toBeLessThanOrEqual(2);
    await server.assertAlive();
  });

  it('closes 1009 on a fragmented message whose continuations exceed the limit', async () => {
    const two = await rawSocket();
    two.send(encodeFrame(Opcode.TEXT, Buffer.alloc(10_000, 0x61), false));
    two.send(encodeFrame(Opcode.CONTINUATION, Buffer.alloc(10_000, 0x61), false));
    expect((await two.closed(3_000))?.code).toBe(1009);
    two.destroy();

    // Many small fragments, never a final one: the total still counts.
    const many = await rawSocket();
    many.send(encodeFrame(Opcode.TEXT, Buffer.alloc(100, 0x61), false));
    const fragments = Array.from({ length: 400 }, () =>
      encodeFrame(Opcode.CONTINUATION, Buffer.alloc(100, 0x61), false),
    );
    many.send(Buffer.concat(fragments));
    expect((await many.closed(3_000))?.code).toBe(1009);
    many.destroy();
    await server.assertAlive();
  });

  it('cuts a ping flood and keeps serving others meanwhile', async () => {
    const raw = await rawSocket('/v1/ws/app', APP_ORIGIN);
    raw.sendText(JSON.stringify({ type: 'auth', token: await mintOperator() }));
    expect(
      await raw.text((value) => (value as { type?: unknown }).type === 'ready', 3_000),
    ).not.toBe(null);
    const ping = encodeFrame(Opcode.PING, Buffer.alloc(125, 0x70));
    const started = Date.now();
    for (let batch = 0; batch < 20; batch++) {
      raw.send(Buffer.concat(Array.from({ length: 1_000 }, () => ping)));
      // Another client is answered promptly in the middle of the flood.
      if (batch === 10) expect(await httpStatus(server.port, '/healthz', 1_000)).toBe(200);
    }
    // The flooder is cut (ws stops answering once too many automatic pongs are pending) rather
    // than answered 20,000 times into a buffer it may never read.
    expect(await raw.closed(2_000)).not.toBe(null);
    const pongs = raw.frames.filter((frame) => frame.opcode === Opcode.PONG).length;
    expect(pongs).toBeLessThan(20_000);
    expect(Date.now() - started).toBeLessThan(10_000);
    raw.destroy();
    await server.assertAlive();
  });

  it('exits 0 within 5 s of SIGTERM', async () => {
    const ws = await operatorSocket();
    const closed = closeOf(ws, 5_000);
    const exit = await server.stop('SIGTERM', 5_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect((await closed)?.code).toBe(1001);
  });
});
