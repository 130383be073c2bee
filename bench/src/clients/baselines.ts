/**
 * The baselines' side of the load, over the same raw `ws` sockets as Postern's:
 *
 * - bare `ws`: `auth` → `ready`; `join` → `joined`; `send` → `ack` + the peer's `message`;
 * - Socket.IO: its wire format spoken directly (engine.io v4 packets over the websocket
 *   transport, Socket.IO v5 packets inside). A `socket.io-client` per socket would cost the
 *   generator several times what a raw socket does and so slow the very server it measures
 *   (both share two cores); raw framing keeps the client side equal for all three. The server
 *   is the real Socket.IO, which would drop a socket that spoke it wrongly.
 */
import type WebSocket from 'ws';
import { sourceAddress } from '../net.js';
import {
  type ChatEndpoint,
  endpointOf,
  jsonFrame,
  nextText,
  openSocket,
  startSocket,
} from './socket.js';

/** A token of the length of a real visitor token, so every server reads as many bytes. */
export function fakeToken(length: number): string {
  return 'x'.repeat(length);
}

export async function admitBare(port: number, address: string, token: string): Promise<WebSocket> {
  const ws = await openSocket(`ws://127.0.0.1:${port}/`, { localAddress: address });
  const ready = nextText(
    ws,
    (text) => (jsonFrame(text)?.['type'] === 'ready' ? true : undefined),
    'ready',
  );
  ws.send(JSON.stringify({ type: 'auth', token }));
  try {
    await ready;
  } catch (error) {
    ws.terminate();
    throw error;
  }
  return ws;
}

function bareEndpoint(ws: WebSocket, room: string): ChatEndpoint {
  const endpoint = endpointOf(ws, (tag, text) =>
    ws.send(JSON.stringify({ type: 'send', dialog_id: room, client_msg_id: tag, text })),
  );
  ws.on('message', (data) => {
    const frame = jsonFrame(String(data));
    if (frame?.['type'] === 'ack') endpoint.onAck(String(frame['client_msg_id']));
    else if (frame?.['type'] === 'message') endpoint.onPeer(String(frame['client_msg_id']));
  });
  return endpoint;
}

export async function bareRoom(
  port: number,
  index: number,
  block: number,
  token: string,
): Promise<[ChatEndpoint, ChatEndpoint]> {
  const room = `room-${index}`;
  const join = async () => {
    const ws = await admitBare(port, sourceAddress(block, index), token);
    const joined = nextText(
      ws,
      (text) => (jsonFrame(text)?.['type'] === 'joined' ? true : undefined),
      'joined',
    );
    ws.send(JSON.stringify({ type: 'join', room }));
    await joined;
    return bareEndpoint(ws, room);
  };
  return [await join(), await join()];
}

const SOCKET_IO_PATH = '/socket.io/?EIO=4&transport=websocket';

/** engine.io `ping` (`2`) → `pong` (`3`); Socket.IO closes a socket that stops answering. */
function answerEnginePings(ws: WebSocket): void {
  ws.on('message', (data) => {
    if (String(data) === '2') ws.send('3');
  });
}

/**
 * The payload of a Socket.IO EVENT (`42[…]`) or ACK (`43<id>[…]`) packet: the array after the
 * packet type and the optional ack id.
 */
function packetArgs(text: string): unknown[] | undefined {
  const start = text.indexOf('[');
  if (start < 0) return undefined;
  try {
    const value: unknown = JSON.parse(text.slice(start));
    return Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Open packet, CONNECT with `auth: {token}`, then the server's `ready` event. */
export async function admitSocketIo(
  port: number,
  address: string,
  token: string,
  idle = true,
): Promise<WebSocket> {
  const { ws, opened } = startSocket(`ws://127.0.0.1:${port}${SOCKET_IO_PATH}`, {
    localAddress: address,
  });
  // Engine.io sends its open packet with the handshake: listen before the socket is open.
  const open = nextText(ws, (text) => (text.startsWith('0{') ? true : undefined), 'engine.io open');
  try {
    await Promise.all([opened, open]);
    const ready = nextText(
      ws,
      (text) => {
        if (text.startsWith('44')) return new Error(`connect refused: ${text}`);
        return text.startsWith('42["ready"') ? true : undefined;
      },
      'ready',
    );
    ws.send(`40${JSON.stringify({ token })}`);
    await ready;
  } catch (error) {
    ws.terminate();
    throw error;
  }
  if (idle) answerEnginePings(ws);
  return ws;
}

function socketIoEndpoint(ws: WebSocket, room: string, firstAckId: number): ChatEndpoint {
  let ackId = firstAckId;
  const endpoint = endpointOf(ws, (tag, text) => {
    const frame = JSON.stringify(['send', { dialog_id: room, client_msg_id: tag, text }]);
    ws.send(`42${ackId++}${frame}`);
  });
  ws.on('message', (data) => {
    const text = String(data);
    if (text === '2') {
      ws.send('3');
    } else if (text.startsWith('43')) {
      const answer = packetArgs(text)?.[0];
      const tag = (answer as { client_msg_id?: unknown } | undefined)?.client_msg_id;
      if (typeof tag === 'string') endpoint.onAck(tag);
    } else if (text.startsWith('42["message"')) {
      const message = packetArgs(text)?.[1];
      const tag = (message as { client_msg_id?: unknown } | undefined)?.client_msg_id;
      if (typeof tag === 'string') endpoint.onPeer(tag);
    }
  });
  return endpoint;
}

export async function socketIoRoom(
  port: number,
  index: number,
  block: number,
  token: string,
): Promise<[ChatEndpoint, ChatEndpoint]> {
  const room = `room-${index}`;
  const join = async () => {
    const ws = await admitSocketIo(port, sourceAddress(block, index), token, false);
    const joined = nextText(ws, (text) => (text.startsWith('430[') ? true : undefined), 'join ack');
    ws.send(`420${JSON.stringify(['join', room])}`);
    await joined;
    return socketIoEndpoint(ws, room, 1);
  };
  return [await join(), await join()];
}
