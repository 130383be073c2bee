/**
 * Black box: an acknowledged message survives the process (SPEC §4: `ack` comes after the
 * commit). Visitors keep `send` frames in flight, the built server is killed with SIGKILL in the
 * middle of the stream, and a new process on the same port and database must hold every
 * acknowledged message exactly once, in order, with gapless seqs — and a resend of whatever was
 * not acknowledged must neither lose nor duplicate anything.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Ack,
  ackOrderProblems,
  checkHistory,
  expectHistoryIntact,
  FAST_SENDERS_ENV,
  newVisitor,
  type Pump,
  pump,
  readHistory,
  restartServer,
  type Tracked,
  type VisitorSession,
  visitorSocket,
  waitUntil,
} from './support/chat.js';
import {
  loopbackPool,
  type ServerProcess,
  startServer,
  tempDir,
} from './support/server-process.js';
import { mintSite } from './support/tokens.js';

/** Senders, and how many acks they collect before the process is killed under them. */
const VISITORS = 5;
const ACKS_BEFORE_KILL = 150;

const nextIp = loopbackPool(21);
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Resends `cids` (with their original texts) on a new socket; resolves with the acks. */
async function resend(
  server: ServerProcess,
  visitor: VisitorSession,
  cids: readonly string[],
  textOf: ReadonlyMap<string, string>,
): Promise<Map<string, Ack>> {
  const socket = await visitorSocket(server, visitor);
  cleanup.push(() => socket.ws.terminate());
  for (const cid of cids) {
    socket.send({
      type: 'send',
      dialog_id: visitor.dialogId,
      client_msg_id: cid,
      text: textOf.get(cid),
    });
  }
  const acks = new Map<string, Ack>();
  for (const cid of cids) {
    const ack = await socket.waitFor(
      (frame) => frame['type'] === 'ack' && frame['client_msg_id'] === cid,
      `the ack of resent ${cid}`,
    );
    acks.set(cid, { clientMsgId: cid, id: String(ack['id']), seq: Number(ack['seq']) });
  }
  socket.ws.close();
  return acks;
}

async function survivesSigkill(extra: Record<string, string>): Promise<void> {
  const dir = tempDir();
  cleanup.push(() => dir.remove());
  const first = await startServer({ ...FAST_SENDERS_ENV, ...extra }, { dir });
  cleanup.push(() => first.dispose());
  const siteToken = await mintSite();
  const visitors: VisitorSession[] = [];
  const sockets: Tracked[] = [];
  for (let i = 0; i < VISITORS; i++) {
    const visitor = await newVisitor(first, siteToken, nextIp());
    visitors.push(visitor);
    const socket = await visitorSocket(first, visitor);
    cleanup.push(() => socket.ws.terminate());
    sockets.push(socket);
  }
  const pumps: Pump[] = sockets.map((socket, i) =>
    pump(socket, visitors[i]?.dialogId ?? '', `visitor ${i}`),
  );
  const acked = () => pumps.reduce((sum, each) => sum + each.log.acks.length, 0);
  await waitUntil(() => acked() >= ACKS_BEFORE_KILL, `${ACKS_BEFORE_KILL} acks`);

  // Killed mid-stream: every socket still has sends in flight.
  expect(await first.stop('SIGKILL', 5_000)).toEqual({ code: null, signal: 'SIGKILL' });
  await Promise.all(sockets.map((socket) => socket.closed));
  for (const each of pumps) each.stop();
  const inFlight = pumps.map((each) => each.unacked().length);
  expect(inFlight.every((count) => count > 0)).toBe(true);
  for (const each of pumps) expect(each.log.refused).toEqual(new Map());

  const second = await restartServer(first, dir, { ...FAST_SENDERS_ENV, ...extra });
  cleanup.push(() => second.dispose());
  expect(second.port).toBe(first.port);

  for (const [i, visitor] of visitors.entries()) {
    const { log } = pumps[i] as Pump;
    const reader = { kind: 'visitor', token: visitor.visitorToken, ip: visitor.ip } as const;
    const before = checkHistory(await readHistory(second, visitor.dialogId, reader), log);
    expectHistoryIntact(before, { visitor: i });
    expect(ackOrderProblems(log)).toEqual([]);
    expect(before.stored.length).toBeGreaterThanOrEqual(log.acks.length);

    // Resending what was not acknowledged (and a few that were) with the same ids: the ones
    // committed before the kill get their original ack, the others are appended once.
    const unacked = (pumps[i] as Pump).unacked();
    const storedBefore = new Set(before.stored);
    const repeated = log.acks.slice(-3).map((ack) => ack.clientMsgId);
    const acks = await resend(second, visitor, [...unacked, ...repeated], log.textOf);
    const history = await readHistory(second, visitor.dialogId, reader);
    const seqOf = new Map(history.map((message) => [message['client_msg_id'], message['seq']]));
    for (const ack of log.acks) expect(acks.get(ack.clientMsgId) ?? ack).toEqual(ack);
    for (const cid of unacked) {
      const ack = acks.get(cid);
      expect(ack?.seq).toBe(seqOf.get(cid));
      // Committed before the kill: the original; otherwise appended after what was stored.
      if (!storedBefore.has(cid)) expect(ack?.seq).toBeGreaterThan(before.stored.length);
    }
    const after = checkHistory(history, {
      ...log,
      acks: [...log.acks, ...unacked.map((cid) => acks.get(cid) as Ack)],
    });
    expectHistoryIntact(after);
    // Everything ever sent is now stored, each exactly once.
    expect(new Set(after.stored)).toEqual(new Set(log.sent));
    expect(history).toHaveLength(log.sent.length);
  }

  // The restarted server still takes new messages, numbered after the recovered ones.
  const visitor = visitors[0] as VisitorSession;
  const fresh = randomUUID();
  const acks = await resend(second, visitor, [fresh], new Map([[fresh, 'after the restart']]));
  expect(acks.get(fresh)?.seq).toBe((pumps[0] as Pump).log.sent.length + 1);
}

describe('black box: durability across SIGKILL', () => {
  it('keeps every acknowledged message exactly once, and resends are idempotent', async () => {
    await survivesSigkill({});
  });

  it('does the same with POSTERN_DB_SYNC=full', async () => {
    await survivesSigkill({ POSTERN_DB_SYNC: 'full' });
  });
});
