/**
 * Baseline 2: Socket.IO 4 as people deploy it for chat — websocket transport only (no polling
 * upgrade dance), rooms, acknowledgements — doing the same plain work as the bare `ws` server:
 *
 * - admission: the CONNECT packet carries `auth: {token}` (Socket.IO's own place for it); a
 *   middleware accepts any string token, and the connection handler emits `ready`;
 * - relay: `join` (with ack) joins a room; `send` (with ack) is numbered per room, broadcast to
 *   the room's other sockets with `socket.to(room).emit('message', …)` and acknowledged.
 *
 * Compression off and the same maximum payload as Postern; heartbeat at Socket.IO's defaults
 * (25 s), like Postern's ping interval. Prints `{"event":"listening","port":N}`.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer((_req, res) => res.writeHead(404).end());
const io = new Server(http, {
  transports: ['websocket'],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 16_384,
  pingInterval: 25_000,
  pingTimeout: 20_000,
});

const sequences = new Map<string, number>();

io.use((socket, next) => {
  const auth: unknown = socket.handshake.auth;
  const token =
    typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : null;
  if (typeof token === 'string' && token.length > 0) next();
  else next(new Error('unauthorized'));
});

type Ack = (answer: unknown) => void;

io.on('connection', (socket) => {
  socket.emit('ready', { session_id: randomUUID(), server_time: Date.now() });
  socket.on('join', (room: unknown, ack?: Ack) => {
    if (typeof room !== 'string') return;
    void socket.join(room);
    ack?.({ room });
  });
  socket.on('send', (frame: Record<string, unknown>, ack?: Ack) => {
    const room = frame['dialog_id'];
    if (typeof room !== 'string' || !socket.rooms.has(room)) return;
    const seq = (sequences.get(room) ?? 0) + 1;
    sequences.set(room, seq);
    const id = randomUUID();
    const { client_msg_id, text } = frame;
    ack?.({ client_msg_id, id, seq });
    socket
      .to(room)
      .emit('message', { dialog_id: room, seq, id, client_msg_id, text, ts: Date.now() });
  });
});

http.listen(Number(process.env['PORT'] ?? 0), '127.0.0.1', () => {
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ event: 'listening', port })}\n`);
});
process.once('SIGTERM', () => process.exit(0));
