/**
 * Black box: SIGTERM in the middle of traffic (SPEC §4 close 1001). Every socket is told to come
 * back later, the process stops accepting and exits 0, and nothing it acknowledged is lost.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ackOrderProblems,
  checkHistory,
  expectHistoryIntact,
  FAST_SENDERS_ENV,
  newVisitor,
  operatorSocket,
  type Pump,
  pump,
  readHistory,
  restartServer,
  type Tracked,
  track,
  type VisitorSession,
  visitorSocket,
  waitUntil,
} from './support/chat.js';
import { wsOpen } from './support/clients.js';
import {
  APP_ORIGIN,
  loopbackPool,
  type ServerProcess,
  SHOP_ORIGIN,
  startServer,
  tempDir,
} from './support/server-process.js';
import { mintOperator, mintSite } from './support/tokens.js';

const VISITORS = 5;
const ACKS_BEFORE_SIGTERM = 100;
/** The retry hints SPEC §4 allows in a close reason. */
const RETRY_SECONDS = [5, 15, 30, 60, 300];

const nextIp = loopbackPool(22);
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Whether a close reason is `retry=<s>` with an allowed `s`. */
const isRetryHint = (reason: string) => {
  const seconds = /^retry=(\d+)$/.exec(reason)?.[1];
  return seconds !== undefined && RETRY_SECONDS.includes(Number(seconds));
};

describe('black box: shutdown under traffic', () => {
  it('closes every socket 1001 with a retry hint, refuses new ones, exits 0, loses no ack', async () => {
    const dir = tempDir();
    cleanup.push(() => dir.remove());
    const server: ServerProcess = await startServer(FAST_SENDERS_ENV, { dir });
    cleanup.push(() => server.dispose());
    const siteToken = await mintSite();
    const visitors: VisitorSession[] = [];
    const sockets: Tracked[] = [];
    for (let i = 0; i < VISITORS; i++) {
      const visitor = await newVisitor(server, siteToken, nextIp());
      visitors.push(visitor);
      sockets.push(await visitorSocket(server, visitor));
    }
    // An operator following every dialog, and a socket that never got as far as `auth`.
    const operator = await operatorSocket(server, await mintOperator(), nextIp());
    for (const visitor of visitors) {
      operator.send({ type: 'subscribe', dialog_id: visitor.dialogId });
    }
    const pending = track(
      await wsOpen(`${server.wsBase}/v1/ws/widget`, {
        origin: SHOP_ORIGIN,
        localAddress: nextIp(),
      }),
    );
    const everyone = [...sockets, operator, pending];
    cleanup.push(() => {
      for (const socket of everyone) socket.ws.terminate();
    });

    const pumps: Pump[] = sockets.map((socket, i) =>
      pump(socket, visitors[i]?.dialogId ?? '', `visitor ${i}`),
    );
    const acked = () => pumps.reduce((sum, each) => sum + each.log.acks.length, 0);
    await waitUntil(() => acked() >= ACKS_BEFORE_SIGTERM, `${ACKS_BEFORE_SIGTERM} acks`);
    await operator.waitFor((frame) => frame['type'] === 'message', 'fan-out to the operator');

    const exit = server.stop('SIGTERM', 10_000);
    const first = await Promise.race(everyone.map((socket) => socket.closed));
    expect(first.code).toBe(1001);
    // Once sockets are being closed, the server takes no new ones.
    const attempts = await Promise.allSettled([
      wsOpen(`${server.wsBase}/v1/ws/widget`, { origin: SHOP_ORIGIN, localAddress: nextIp() }),
      wsOpen(`${server.wsBase}/v1/ws/app`, { origin: APP_ORIGIN, localAddress: nextIp() }),
    ]);
    for (const attempt of attempts) {
      if (attempt.status === 'fulfilled') attempt.value.terminate();
    }
    expect(attempts.map((attempt) => attempt.status)).toEqual(['rejected', 'rejected']);

    const closes = await Promise.all(everyone.map((socket) => socket.closed));
    expect(closes.map(({ code }) => code)).toEqual(everyone.map(() => 1001));
    expect(closes.filter(({ reason }) => !isRetryHint(reason))).toEqual([]);
    expect(await exit).toEqual({ code: 0, signal: null });
    // Sends still arriving while it stops are not errors: nothing is logged at error level.
    expect(
      server
        .stdout()
        .split('\n')
        .filter((line) => line.includes('"level":"error"')),
    ).toEqual([]);
    for (const each of pumps) {
      each.stop();
      expect(each.log.refused).toEqual(new Map());
      expect(ackOrderProblems(each.log)).toEqual([]);
    }

    // Everything acknowledged before the shutdown is in the database the next process opens.
    const next = await restartServer(server, dir, FAST_SENDERS_ENV);
    cleanup.push(() => next.dispose());
    for (const [i, visitor] of visitors.entries()) {
      const { log } = pumps[i] as Pump;
      const reader = { kind: 'visitor', token: visitor.visitorToken, ip: visitor.ip } as const;
      const check = checkHistory(await readHistory(next, visitor.dialogId, reader), log);
      expectHistoryIntact(check, { visitor: i });
      expect(log.acks.length).toBeGreaterThan(0);
    }
  });
});
