/**
 * Nothing outlives a socket (issue point 10): thousands of authenticated sockets — visitors in
 * their dialogs' fan-out, operators in the feed with subscriptions, some with sends in flight —
 * vanish without a close frame (TCP FIN or RST), and every table the server keeps per socket,
 * per address, per identity and per dialog is empty again.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { APP, type Harness, SHOP, startHarness } from '../support/harness.js';
import {
  expectDrained,
  newVisitor,
  open,
  SHARED_SERVER_ENV,
  type VisitorSession,
  type WatchedSocket,
  waitFor,
} from '../support/ws-client.js';

/** Each wave fills the process to just under its socket capacity, then drops everything. */
const CAPACITY = 250;
const WAVES = 10;
const VISITORS = 100;
const SOCKETS_PER_VISITOR = 2;
const OPERATORS = 10;
const SOCKETS_PER_OPERATOR = 4;
const SUBSCRIPTIONS_PER_SOCKET = 25;

let h: Harness;
afterEach(() => h?.close());

/** Every counter and table that holds something per open socket. */
function leftovers(harness: Harness) {
  const { global, perIp, perDialog, perVisitor, perOperator } = harness.server.limiters.sockets;
  const counter = (c: typeof perIp) => ({ keys: c.size, open: c.total, mismatches: c.mismatches });
  return {
    global: { inUse: global.inUse, mismatches: global.mismatches },
    perIp: counter(perIp),
    perDialog: counter(perDialog),
    perVisitor: counter(perVisitor),
    perOperator: counter(perOperator),
    registry: harness.server.registry.size,
    fanout: harness.server.chat.fanout.size,
    presence: harness.server.chat.presence.tracked,
    commits: harness.server.chat.commits.pending,
  };
}

const EMPTY = {
  global: { inUse: 0, mismatches: 0 },
  perIp: { keys: 0, open: 0, mismatches: 0 },
  perDialog: { keys: 0, open: 0, mismatches: 0 },
  perVisitor: { keys: 0, open: 0, mismatches: 0 },
  perOperator: { keys: 0, open: 0, mismatches: 0 },
  registry: 0,
  fanout: { dialogs: 0, members: 0, feed: 0 },
  presence: 0,
  commits: 0,
};

/** Drops a socket without a close frame: a FIN (`terminate`) or a reset, alternately. */
function drop(socket: WatchedSocket, index: number): void {
  if (index % 2 === 0) {
    socket.ws.terminate();
  } else {
    (socket.ws as unknown as { _socket: Socket })._socket.resetAndDestroy();
  }
}

/** Sends `auth` on a fresh socket from `address` and resolves once it is `ready`. */
async function ready(
  path: '/v1/ws/widget' | '/v1/ws/app',
  token: string,
  address: string,
): Promise<WatchedSocket> {
  const socket = await open(h, path, { Origin: path === '/v1/ws/app' ? APP : SHOP }, address);
  socket.send({ type: 'auth', token });
  expect((await socket.nextOf('ready', 5_000))['type']).toBe('ready');
  return socket;
}

async function wave(n: number, visitors: readonly VisitorSession[], operatorTokens: string[]) {
  const address = (i: number) => `127.${40 + n}.${Math.floor(i / 250)}.${(i % 250) + 1}`;
  let next = 0;
  const visitorSockets = await Promise.all(
    visitors.flatMap((visitor) =>
      Array.from({ length: SOCKETS_PER_VISITOR }, () =>
        ready('/v1/ws/widget', visitor.visitorToken, address(next++)),
      ),
    ),
  );
  const operatorSockets = await Promise.all(
    operatorTokens.flatMap((token) =>
      Array.from({ length: SOCKETS_PER_OPERATOR }, () =>
        ready('/v1/ws/app', token, address(next++)),
      ),
    ),
  );
  operatorSockets.forEach((socket, i) => {
    for (let k = 0; k < SUBSCRIPTIONS_PER_SOCKET; k++) {
      const visitor = visitors[(i * SUBSCRIPTIONS_PER_SOCKET + k) % visitors.length];
      socket.send({ type: 'subscribe', dialog_id: visitor?.dialogId });
    }
  });
  const memberships = visitorSockets.length + operatorSockets.length * SUBSCRIPTIONS_PER_SOCKET;
  await waitFor(
    () => h.server.chat.fanout.size.members === memberships,
    `${memberships} fan-out memberships`,
    10_000,
  );
  expect(h.server.chat.fanout.size.feed).toBe(operatorSockets.length);
  expect(h.server.registry.size).toBe(visitorSockets.length + operatorSockets.length);

  // A send from every visitor; half of them are dropped before their ack can arrive.
  visitors.forEach((visitor, i) => {
    visitorSockets[i * SOCKETS_PER_VISITOR]?.send({
      type: 'send',
      dialog_id: visitor.dialogId,
      client_msg_id: randomUUID(),
      text: `wave ${n}`,
    });
  });
  await Promise.all(
    visitorSockets
      .filter((_, i) => i % (2 * SOCKETS_PER_VISITOR) === 0)
      .map((socket) => socket.nextOf('ack', 5_000)),
  );
  [...visitorSockets, ...operatorSockets].forEach(drop);
  await waitFor(() => h.server.limiters.sockets.global.inUse === 0, 'every slot back', 10_000);
  expect(leftovers(h)).toEqual(EMPTY);
}

describe('socket tables', () => {
  it('hold nothing once thousands of authenticated sockets vanished without a close', async () => {
    h = await startHarness({
      env: {
        ...SHARED_SERVER_ENV,
        POSTERN_ASSISTANT: 'none',
        POSTERN_MAX_SOCKETS: String(CAPACITY),
        POSTERN_MAX_SUBSCRIPTIONS: String(SUBSCRIPTIONS_PER_SOCKET),
      },
    });
    const visitors: VisitorSession[] = [];
    for (let i = 0; i < VISITORS; i += 20) {
      visitors.push(...(await Promise.all(Array.from({ length: 20 }, () => newVisitor(h)))));
    }
    const operatorTokens = await Promise.all(
      Array.from({ length: OPERATORS }, (_, i) =>
        h.operatorToken({ operatorId: `op_leak_${i}`, scope: [] }),
      ),
    );
    expect(VISITORS * SOCKETS_PER_VISITOR + OPERATORS * SOCKETS_PER_OPERATOR).toBeLessThan(
      CAPACITY,
    );
    for (let n = 0; n < WAVES; n++) await wave(n, visitors, operatorTokens);
    // Every slot of the process can be taken again.
    await expectDrained(h, CAPACITY);
    expect(leftovers(h)).toEqual(EMPTY);
    // 2,400 authenticated sockets take ~7 s alone; the bound only catches a hang on a busy CI.
  }, 120_000);
});
