/**
 * Frames on an upgraded socket (SPEC §4 "Frame handling", §5 `POSTERN_MSG_RATE`): the first-frame
 * `auth` deadline, what closes 4000 and what only earns `error invalid`, frame size and encoding
 * (closed by the WebSocket layer itself), and the per-socket frame rate.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { type Harness, SHOP, startHarness } from '../support/harness.js';
import {
  closeOpened,
  expectDrained,
  newVisitor,
  open,
  readyVisitor,
  refreshVisitor,
  SHARED_SERVER_ENV,
  testClock,
  type WatchedSocket,
} from '../support/ws-client.js';

const CAPACITY = 6;
const WIDGET = '/v1/ws/widget';

/** The server of the running test: its own (limits under test) or the file's shared one. */
let harness: Harness;
let own: Harness | undefined;
let shared: Harness | undefined;
afterEach(async () => {
  if (shared) await closeOpened(shared);
  await own?.close();
  own = undefined;
});
afterAll(() => shared?.close());

/** A server of the test's own, with `env` on top of the defaults. */
async function start(env: Record<string, string> = {}, now?: () => number): Promise<Harness> {
  own = await startHarness({
    env: { POSTERN_MAX_SOCKETS: String(CAPACITY), ...env },
    ...(now ? { now } : {}),
  });
  harness = own;
  return harness;
}

/** The file's shared server (default limits), for tests of frame shapes. */
async function useShared(): Promise<Harness> {
  shared ??= await startHarness({
    env: { ...SHARED_SERVER_ENV, POSTERN_MAX_SOCKETS: String(CAPACITY) },
  });
  harness = shared;
  return harness;
}

/** An unauthenticated widget socket. */
function fresh(): Promise<WatchedSocket> {
  return open(harness, WIDGET, { Origin: SHOP });
}

/** A ready visitor socket and its session. */
async function ready() {
  const visitor = await newVisitor(harness);
  const { socket } = await readyVisitor(harness, visitor.visitorToken);
  return { visitor, socket };
}

describe('WebSocket frames > the auth deadline', () => {
  it('closes 4007 auth_timeout when no auth arrives within POSTERN_AUTH_TIMEOUT_MS', async () => {
    await start({ POSTERN_AUTH_TIMEOUT_MS: '200' });
    const socket = await fresh();
    const close = await socket.closed();
    expect(close).toMatchObject({ code: 4007, reason: 'auth_timeout' });
    const elapsed = close.at - socket.openedAt;
    // Not at once, and within three times the deadline.
    expect(elapsed).toBeGreaterThan(100);
    expect(elapsed).toBeLessThan(600);
    await expectDrained(harness, CAPACITY);
  });

  it('keeps an authenticated socket past the auth deadline', async () => {
    await start({ POSTERN_AUTH_TIMEOUT_MS: '200' });
    const { socket } = await ready();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(socket.isClosed).toBe(false);
  });
});

describe('WebSocket frames > 4000 BAD_REQUEST', () => {
  const cases: [string, string | Buffer, boolean, string][] = [
    ['a binary frame', Buffer.from('{"type":"auth","token":"x"}'), true, 'binary'],
    ['text that is not JSON', '{"type":"auth",', false, 'not_json'],
    ['an empty text frame', '', false, 'not_json'],
    ['a JSON array', '[{"type":"auth","token":"x"}]', false, 'not_object'],
    ['a JSON string', '"auth"', false, 'not_object'],
    ['a JSON number', '5', false, 'not_object'],
    ['JSON null', 'null', false, 'not_object'],
    ['an object without type', '{"token":"x"}', false, 'missing_type'],
    ['an unknown type', '{"type":"hello"}', false, 'unknown_type'],
    ['a non-string type', '{"type":5}', false, 'unknown_type'],
    ['an inherited name as type', '{"type":"__proto__"}', false, 'unknown_type'],
    ['another inherited name as type', '{"type":"toString"}', false, 'unknown_type'],
  ];

  it.each(cases)('closes on %s before auth', async (_name, data, binary, reason) => {
    await useShared();
    const socket = await fresh();
    socket.ws.send(data, { binary });
    expect(await socket.closed()).toMatchObject({ code: 4000, reason });
  });

  it.each(cases)('closes on %s after auth too', async (_name, data, binary, reason) => {
    await useShared();
    const { socket } = await ready();
    socket.ws.send(data, { binary });
    expect(await socket.closed()).toMatchObject({ code: 4000, reason });
    await expectDrained(harness, CAPACITY);
  });

  it.each([
    ['pong', { type: 'pong', id: 1 }],
    ['refresh', { type: 'refresh', token: 'x' }],
    ['send', { type: 'send', dialog_id: 'd1', client_msg_id: crypto.randomUUID(), text: 'hi' }],
    ['resume', { type: 'resume', dialog_id: 'd1', after_seq: 0 }],
    ['typing', { type: 'typing', dialog_id: 'd1', state: 'start' }],
    ['subscribe', { type: 'subscribe', dialog_id: 'd1' }],
    // Ill-formed or poisoned, a frame of another type before auth is still out of turn.
    ['an invalid send', { type: 'send' }],
    ['a typing with bad fields', { type: 'typing', dialog_id: 5, state: 'sideways' }],
  ])('closes 4000 before_auth on %s before auth', async (_name, frame) => {
    await useShared();
    const socket = await fresh();
    socket.send(frame);
    expect(await socket.closed()).toMatchObject({ code: 4000, reason: 'before_auth' });
    expect(socket.frames).toEqual([]);
    await expectDrained(harness, CAPACITY);
  });

  it('closes 4000 before_auth on a poisoned frame of another type before auth', async () => {
    await useShared();
    const socket = await fresh();
    socket.send('{"type":"pong","id":1,"__proto__":{"polluted":true}}');
    expect(await socket.closed()).toMatchObject({ code: 4000, reason: 'before_auth' });
  });
});

describe('WebSocket frames > error invalid keeps the socket open', () => {
  it('answers an auth with invalid fields with error invalid, then accepts a valid one', async () => {
    await useShared();
    const visitor = await newVisitor(harness);
    const socket = await fresh();
    for (const frame of [
      { type: 'auth', token: 5 },
      { type: 'auth' },
      { type: 'auth', token: '' },
      { type: 'auth', token: visitor.visitorToken, resume: { dialog_id: 'x'.repeat(65) } },
    ]) {
      socket.send(frame);
      expect(await socket.next()).toEqual({ type: 'error', code: 'invalid' });
    }
    expect(socket.isClosed).toBe(false);
    socket.send({ type: 'auth', token: visitor.visitorToken });
    expect(await socket.next()).toMatchObject({ type: 'ready', visitor_id: visitor.visitorId });
  });

  it.each([
    [
      '__proto__ at the top',
      (token: string) => `{"type":"auth","token":"${token}","__proto__":{}}`,
    ],
    [
      'constructor at the top',
      (token: string) => `{"type":"auth","token":"${token}","constructor":1}`,
    ],
    [
      '__proto__ nested',
      (token: string) =>
        `{"type":"auth","token":"${token}","resume":{"dialog_id":"d1","after_seq":0,"__proto__":{"x":1}}}`,
    ],
    [
      '__proto__ deep in an extra field',
      (token: string) => `{"type":"auth","token":"${token}","x":[{"__proto__":{}}]}`,
    ],
  ])('refuses %s with error invalid, never ready', async (_name, text) => {
    await useShared();
    const visitor = await newVisitor(harness);
    const socket = await fresh();
    socket.send(text(visitor.visitorToken));
    expect(await socket.next()).toEqual({ type: 'error', code: 'invalid' });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    socket.send({ type: 'auth', token: visitor.visitorToken });
    expect((await socket.next())['type']).toBe('ready');
  });

  it('ignores unknown extra fields', async () => {
    await useShared();
    const visitor = await newVisitor(harness);
    const socket = await fresh();
    socket.send({
      type: 'auth',
      token: visitor.visitorToken,
      sender: 'operator',
      visitor_id: 'someone-else',
      nested: { deep: [1, 2, { x: 'y' }] },
    });
    expect(await socket.next()).toMatchObject({ type: 'ready', visitor_id: visitor.visitorId });
  });

  it('answers a later auth with error invalid and stays open', async () => {
    await useShared();
    const { visitor, socket } = await ready();
    socket.send({ type: 'auth', token: visitor.visitorToken });
    expect(await socket.next()).toEqual({ type: 'error', code: 'invalid' });
    expect(socket.isClosed).toBe(false);
  });

  it('answers frames in order: a pipelined auth and invalid frame get ready, then error', async () => {
    await useShared();
    const visitor = await newVisitor(harness);
    const socket = await fresh();
    socket.send({ type: 'auth', token: visitor.visitorToken });
    socket.send({ type: 'typing', dialog_id: visitor.dialogId, state: 'sideways' });
    expect((await socket.next())['type']).toBe('ready');
    expect(await socket.next()).toEqual({ type: 'error', code: 'invalid', ref: visitor.dialogId });
  });
});

describe('WebSocket frames > size and encoding', () => {
  it('closes 1009 on a frame over POSTERN_MAX_FRAME_BYTES, before or after auth', async () => {
    await start({ POSTERN_MAX_FRAME_BYTES: '1024' });
    const early = await fresh();
    early.ws.send(`{"type":"auth","token":"${'x'.repeat(1100)}"}`);
    expect((await early.closed()).code).toBe(1009);
    const { socket } = await ready();
    socket.ws.send('x'.repeat(1025));
    expect((await socket.closed()).code).toBe(1009);
    await expectDrained(harness, CAPACITY);
  });

  it('takes a frame of exactly POSTERN_MAX_FRAME_BYTES', async () => {
    await start({ POSTERN_MAX_FRAME_BYTES: '1024' });
    const visitor = await newVisitor(harness);
    const socket = await fresh();
    const frame = JSON.stringify({ type: 'auth', token: visitor.visitorToken, pad: '' });
    socket.ws.send(frame.replace('"pad":""', `"pad":"${'p'.repeat(1024 - frame.length)}"`));
    expect((await socket.next())['type']).toBe('ready');
  });

  it('closes 1007 on a text frame that is not UTF-8', async () => {
    await start();
    const socket = await fresh();
    sendRawText(socket.ws, Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d]));
    expect((await socket.closed()).code).toBe(1007);
    const { socket: authed } = await ready();
    sendRawText(authed.ws, Buffer.from([0xed, 0xa0, 0x80])); // a UTF-16 surrogate, as UTF-8
    expect((await authed.closed()).code).toBe(1007);
    await expectDrained(harness, CAPACITY);
  });
});

/** Sends bytes as a text frame without any encoding check. */
function sendRawText(ws: WebSocket, bytes: Buffer): void {
  ws.send(bytes, { binary: false });
}

/** The answers to frames 2–4 under a limit of 3: two `invalid`, one `rate_limited`, any order. */
async function expectThrottledAfterTwo(socket: WatchedSocket): Promise<void> {
  const codes = [];
  for (let i = 0; i < 3; i++) codes.push((await socket.nextOf('error'))['code']);
  expect(codes.sort()).toEqual(['invalid', 'invalid', 'rate_limited']);
}

describe('WebSocket frames > per-socket frame rate (POSTERN_MSG_RATE)', () => {
  // 3 frames per 10 s window; `auth` is the first of them. The clock starts 1 s into a window so
  // the fixed windows never roll over during a test.
  const env = { POSTERN_MSG_RATE: '3' };
  const invalidTyping = (dialogId: string) => ({ type: 'typing', dialog_id: dialogId, state: 'x' });

  it('sends error rate_limited once per window, then closes 4008 over twice the limit', async () => {
    await start(env, testClock({ alignTo: 10_000 }).now);
    const { visitor, socket } = await ready();
    // Frames 2–3 are answered (each an `error invalid`); frame 4 is refused with the one
    // `rate_limited` of this window (sent at once, so it may come before the other two).
    for (let frame = 2; frame <= 4; frame++) socket.send(invalidTyping(visitor.dialogId));
    const replies = [await socket.next(), await socket.next(), await socket.next()];
    expect(replies.map((reply) => reply['code']).sort()).toEqual([
      'invalid',
      'invalid',
      'rate_limited',
    ]);
    // Frames 5–6 are dropped without a word; frame 7 (over 2 × 3) closes.
    for (let frame = 5; frame <= 7; frame++) socket.send(invalidTyping(visitor.dialogId));
    const close = await socket.closed();
    expect(close).toMatchObject({ code: 4008, reason: 'retry=15' });
    expect(socket.frames).toHaveLength(4);
    await expectDrained(harness, CAPACITY);
  });

  it('tells a burst why before closing it: one error rate_limited, then 4008', async () => {
    await start(env, testClock({ alignTo: 10_000 }).now);
    const { visitor, socket } = await ready();
    for (let frame = 0; frame < 200; frame++) socket.send(invalidTyping(visitor.dialogId));
    expect(await socket.closed()).toMatchObject({ code: 4008, reason: 'retry=15' });
    const limited = socket.frames.filter((frame) => frame['code'] === 'rate_limited');
    expect(limited).toEqual([{ type: 'error', code: 'rate_limited' }]);
    await expectDrained(harness, CAPACITY);
  });

  it('does not count pong frames', async () => {
    await start(env, testClock({ alignTo: 10_000 }).now);
    const { visitor, socket } = await ready();
    for (let i = 0; i < 20; i++) socket.send({ type: 'pong', id: i });
    for (let frame = 2; frame <= 4; frame++) socket.send(invalidTyping(visitor.dialogId));
    await expectThrottledAfterTwo(socket);
    // Still throttled, not closed: more pongs keep it alive.
    for (let i = 0; i < 20; i++) socket.send({ type: 'pong', id: 100 + i });
    socket.send({ type: 'auth', token: visitor.visitorToken }); // frame 5: dropped silently
    socket.send({ type: 'pong', id: 999 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(socket.isClosed).toBe(false);
    expect(socket.frames).toHaveLength(4);
  });

  it('does not count refresh frames, and handles them while throttled', async () => {
    const clock = testClock({ alignTo: 10_000 });
    await start(env, clock.now);
    const { visitor, socket } = await ready();
    for (let frame = 2; frame <= 4; frame++) socket.send(invalidTyping(visitor.dialogId));
    await expectThrottledAfterTwo(socket);
    // A later token (the clock moved on by two seconds) is taken even now.
    clock.advance(2000);
    const renewed = await refreshVisitor(harness, visitor);
    socket.send({ type: 'refresh', token: renewed.visitorToken });
    expect(await socket.next()).toEqual({ type: 'refreshed', token_expires_at: renewed.expiresAt });
    expect(socket.isClosed).toBe(false);
  });
});
