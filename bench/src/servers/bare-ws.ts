/**
 * Baseline 1: a hand-rolled `ws` server doing the plain version of Postern's work, and nothing
 * more — no token check, no origin check, no limits, no storage, no heartbeat, no logs.
 *
 * - admission: accept the upgrade, wait for a first JSON frame, answer a JSON `ready`;
 * - relay: `join {room}` puts the socket in a room; `send {dialog_id, client_msg_id, text}` is
 *   numbered per room, acknowledged to the sender and broadcast to the room's other sockets.
 *
 * Frames are JSON parsed and serialised like Postern's, and ws runs with Postern's options that
 * change the cost of a socket (no compression, no client tracking, same maximum payload).
 *
 * Prints `{"event":"listening","port":N}` once listening; PORT picks the port (default 0).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

type Frame = Record<string, unknown>;

const rooms = new Map<string, { name: string; seq: number; members: Set<WebSocket> }>();

function parse(data: unknown): Frame | null {
  try {
    const value: unknown = JSON.parse(String(data));
    return typeof value === 'object' && value !== null ? (value as Frame) : null;
  } catch {
    return null;
  }
}

function serve(ws: WebSocket): void {
  let joined: { name: string; seq: number; members: Set<WebSocket> } | null = null;
  let authenticated = false;
  ws.on('error', () => ws.terminate());
  ws.on('message', (data, isBinary) => {
    const frame = isBinary ? null : parse(data);
    if (frame === null) return void ws.close(4000, 'bad_request');
    if (!authenticated) {
      authenticated = true;
      ws.send(JSON.stringify({ type: 'ready', session_id: randomUUID(), server_time: Date.now() }));
      return;
    }
    if (frame['type'] === 'join' && typeof frame['room'] === 'string') {
      const room = frame['room'];
      joined = rooms.get(room) ?? { name: room, seq: 0, members: new Set() };
      rooms.set(room, joined);
      joined.members.add(ws);
      ws.send(JSON.stringify({ type: 'joined', room }));
    } else if (frame['type'] === 'send' && joined) {
      joined.seq += 1;
      const id = randomUUID();
      const { client_msg_id, dialog_id, text } = frame;
      ws.send(JSON.stringify({ type: 'ack', client_msg_id, id, seq: joined.seq }));
      const message = JSON.stringify({
        type: 'message',
        dialog_id,
        seq: joined.seq,
        id,
        client_msg_id,
        text,
        ts: Date.now(),
      });
      for (const peer of joined.members) if (peer !== ws) peer.send(message);
    }
  });
  ws.on('close', () => {
    if (!joined) return;
    joined.members.delete(ws);
    if (joined.members.size === 0) rooms.delete(joined.name);
  });
}

const wss = new WebSocketServer({
  noServer: true,
  clientTracking: false,
  perMessageDeflate: false,
  maxPayload: 16_384,
});
const http = createServer((_req, res) => res.writeHead(404).end());
http.on('upgrade', (req, socket, head) => {
  socket.on('error', () => socket.destroy());
  wss.handleUpgrade(req, socket, head, serve);
});
http.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ event: 'listening', port })}\n`);
});
process.once('SIGTERM', () => process.exit(0));
