/**
 * Black box: a reader that stops reading is cut off through fan-out (SPEC §4 close 4014). An
 * operator subscribed to a busy dialog freezes; the server must not buffer for it without bound,
 * and the visitor and the other operators must not notice.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Frame,
  newVisitor,
  operatorSocket,
  type Tracked,
  visitorSocket,
} from './support/chat.js';
import { loopbackPool, type ServerProcess, startServer } from './support/server-process.js';
import { canReadTcpTable, kernelQueued, wireBytes } from './support/tcp-queues.js';
import { mintOperator, mintSite } from './support/tokens.js';

/** The smallest bound the server accepts, so the test needs little traffic to pass it. */
const MAX_BUFFERED_BYTES = 65_536;
/** The longest text a `send` may carry, in a character UTF-8 spends three bytes on. */
const BIG_TEXT = '€'.repeat(4000);
/** Loopback kernel buffers hold a few MB at most; this is far beyond them. */
const MAX_MESSAGES = 3_000;

const nextIp = loopbackPool(23);
let server: ServerProcess | undefined;
const sockets: Tracked[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.ws.terminate();
  await server?.dispose();
  server = undefined;
});

const isMessage = (cid: string) => (frame: Frame) =>
  frame['type'] === 'message' && frame['client_msg_id'] === cid;

/** The TCP socket under a `ws` client, to stop and restart reading it. */
const tcpOf = (socket: Tracked) => (socket.ws as unknown as { _socket: Socket })._socket;

/** Payload bytes (with frame headers) of the frames `socket` received from index `from` on. */
const bytesFrom = (socket: Tracked, from: number) =>
  socket.sizes.slice(from).reduce((sum, size) => sum + wireBytes(size), 0);

describe('black box: slow consumer through fan-out', () => {
  it.skipIf(!canReadTcpTable())(
    'closes a subscribed operator that stops reading 4014, and nobody else',
    async () => {
      server = await startServer({
        POSTERN_ASSISTANT: 'none',
        POSTERN_MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES),
        POSTERN_MSG_RATE: '1000000',
        POSTERN_VISITOR_MSG_RATE: '1000000',
        // No ping may reach the frozen socket: every byte it is owed is a chat frame.
        POSTERN_PING_INTERVAL_MS: '600000',
      });
      const visitor = await newVisitor(server, await mintSite(), nextIp());
      const widget = await visitorSocket(server, visitor);
      const healthy = await operatorSocket(server, await mintOperator(), nextIp());
      const slow = await operatorSocket(server, await mintOperator(), nextIp());
      sockets.push(widget, healthy, slow);
      for (const operator of [healthy, slow]) {
        operator.send({ type: 'subscribe', dialog_id: visitor.dialogId });
      }
      const send = () => {
        const cid = randomUUID();
        widget.send({
          type: 'send',
          dialog_id: visitor.dialogId,
          client_msg_id: cid,
          text: BIG_TEXT,
        });
        return cid;
      };
      // Both operators receive the first message and its dialog change, then all is quiet.
      const first = send();
      for (const operator of [healthy, slow]) {
        await operator.waitFor(isMessage(first), 'the first message');
        await operator.waitFor(
          (frame) => frame['type'] === 'dialog' && frame['last_seq'] === 1,
          'the first dialog change',
        );
      }
      expect(slow.frames).toHaveLength(healthy.frames.length);

      // The slow operator freezes. Both operators are owed the same frames from here on; once
      // more of them than the kernel holds plus the bound have been written, the server must
      // have given up on the frozen one.
      const tcp = tcpOf(slow);
      tcp.pause();
      const from = healthy.frames.length;
      const owedBeyondKernel = () =>
        bytesFrom(healthy, from) -
        kernelQueued(server?.port ?? 0, tcp.localPort ?? 0) -
        tcp.readableLength;
      let sent = 1;
      while (owedBeyondKernel() <= MAX_BUFFERED_BYTES) {
        expect(sent, 'the bound was never reached').toBeLessThan(MAX_MESSAGES);
        const cid = send();
        sent += 1;
        await widget.waitFor(isMessage(cid), `message ${sent} at the visitor`);
        await healthy.waitFor(isMessage(cid), `message ${sent} at the healthy operator`);
      }
      tcp.resume();
      // Right away: the server drops a peer that has not read its close frame a second later.
      const closedInTime = Promise.race([
        slow.closed,
        new Promise((resolve) => setTimeout(() => resolve('still open'), 5_000)),
      ]);
      expect(await closedInTime).toEqual({ code: 4014, reason: 'slow_consumer' });
      // What it did receive is a prefix of what the others received, in order.
      expect(slow.frames.length).toBeLessThan(healthy.frames.length);
      expect(slow.frames.slice(1)).toEqual(healthy.frames.slice(1, slow.frames.length));

      // The visitor and the other operator go on as if nothing happened.
      const last = send();
      sent += 1;
      const ack = await widget.waitFor(
        (frame) => frame['type'] === 'ack' && frame['client_msg_id'] === last,
        'the last ack',
      );
      expect(ack['seq']).toBe(sent);
      await healthy.waitFor(isMessage(last), 'the last message at the healthy operator');
      for (const reader of [widget, healthy]) {
        const seqs = reader.frames
          .filter((frame) => frame['type'] === 'message')
          .map((frame) => frame['seq']);
        expect(seqs).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
        expect(reader.isClosed()).toBe(false);
      }
      expect(widget.frames.filter((frame) => frame['type'] === 'error')).toEqual([]);
      await server.assertAlive();
    },
  );
});
