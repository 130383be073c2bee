/**
 * Postern's side of the load: visitors (a session over HTTP, then the widget socket with `auth`)
 * and operators (the app socket, `subscribe`, `handoff take`), speaking SPEC §4 frame by frame.
 */
import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import { httpCall, sourceAddress } from '../net.js';
import { APP_ORIGIN, SHOP_ORIGIN } from '../postern-server.js';
import { operatorToken, siteToken } from '../tokens.js';
import { type ChatEndpoint, endpointOf, jsonFrame, nextText, openSocket } from './socket.js';

export interface Visitor {
  readonly token: string;
  readonly dialogId: string;
  readonly address: string;
}

/** `POST /v1/widget/session` from `address`: a new visitor with its dialog. */
export async function newVisitor(port: number, site: string, address: string): Promise<Visitor> {
  const answer = await httpCall({
    port,
    method: 'POST',
    path: `/v1/widget/session?site_token=${encodeURIComponent(site)}`,
    headers: { origin: SHOP_ORIGIN, 'content-type': 'application/json' },
    body: '{}',
    localAddress: address,
  });
  if (answer.status !== 200) throw new Error(`session refused: ${answer.status} ${answer.text}`);
  const body = JSON.parse(answer.text) as Record<string, unknown>;
  return {
    token: String(body['visitor_token']),
    dialogId: String(body['dialog_id']),
    address,
  };
}

/** Answers the server's `ping` frames from now on, so an idle socket stays up. */
export function answerPings(ws: WebSocket): void {
  ws.on('message', (data) => {
    const text = String(data);
    if (!text.includes('"ping"')) return;
    const frame = jsonFrame(text);
    if (frame?.['type'] === 'ping') ws.send(JSON.stringify({ type: 'pong', id: frame['id'] }));
  });
}

const readyOf = (text: string) => (jsonFrame(text)?.['type'] === 'ready' ? true : undefined);

/**
 * A widget socket of `visitor`, authenticated (`ready` received); with `idle`, it answers pings
 * from then on (a socket used for chat answers them in its own frame handler).
 */
export async function admitVisitor(
  port: number,
  visitor: Visitor,
  idle = true,
): Promise<WebSocket> {
  const ws = await openSocket(`ws://127.0.0.1:${port}/v1/ws/widget`, {
    origin: SHOP_ORIGIN,
    localAddress: visitor.address,
  });
  const ready = nextText(ws, readyOf, 'ready');
  ws.send(JSON.stringify({ type: 'auth', token: visitor.token }));
  try {
    await ready;
  } catch (error) {
    ws.terminate();
    throw error;
  }
  if (idle) answerPings(ws);
  return ws;
}

async function admitOperator(port: number, token: string, address: string): Promise<WebSocket> {
  const ws = await openSocket(`ws://127.0.0.1:${port}/v1/ws/app`, {
    origin: APP_ORIGIN,
    localAddress: address,
  });
  const ready = nextText(ws, readyOf, 'operator ready');
  ws.send(JSON.stringify({ type: 'auth', token }));
  await ready;
  return ws;
}

/**
 * The chat side of an authenticated socket: `send` frames out; `ack`, peer `message` and
 * `error` frames in; `ping` answered. `self` is the sender this socket's own copies carry.
 */
function chatEndpoint(ws: WebSocket, dialogId: string, self: 'visitor' | 'operator'): ChatEndpoint {
  const endpoint = endpointOf(ws, (tag, text) =>
    ws.send(JSON.stringify({ type: 'send', dialog_id: dialogId, client_msg_id: tag, text })),
  );
  ws.on('message', (data) => {
    const frame = jsonFrame(String(data));
    if (!frame) return;
    switch (frame['type']) {
      case 'ack':
        endpoint.onAck(String(frame['client_msg_id']));
        break;
      case 'message':
        // Every socket of the dialog gets every message, its sender's own socket included.
        if (frame['sender'] !== self && typeof frame['client_msg_id'] === 'string') {
          endpoint.onPeer(frame['client_msg_id']);
        }
        break;
      case 'error':
        endpoint.onRefused(String(frame['ref']), String(frame['code']));
        break;
      case 'ping':
        ws.send(JSON.stringify({ type: 'pong', id: frame['id'] }));
        break;
    }
  });
  return endpoint;
}

/**
 * Dialog `index` with its visitor and its operator, ready for both to write: a site of its own
 * (so the operator's feed carries this dialog only, like a room), a first visitor message (an
 * operator sees a dialog from its first message), then `subscribe` and `handoff take`.
 */
export async function posternRoom(
  port: number,
  index: number,
  block: number,
): Promise<[ChatEndpoint, ChatEndpoint]> {
  const siteId = `bench-site-${index}`;
  const address = sourceAddress(block, index);
  const visitor = await newVisitor(port, await siteToken(siteId), address);
  const visitorWs = await admitVisitor(port, visitor, false);
  const first = randomUUID();
  const acked = nextText(
    visitorWs,
    (text) => (jsonFrame(text)?.['client_msg_id'] === first ? true : undefined),
    'first ack',
  );
  visitorWs.send(
    JSON.stringify({ type: 'send', dialog_id: visitor.dialogId, client_msg_id: first, text: 'hi' }),
  );
  await acked;
  const token = await operatorToken(`bench-op-${index}`, siteId);
  const operatorWs = await admitOperator(port, token, address);
  const taken = nextText(
    operatorWs,
    (text) => {
      const frame = jsonFrame(text);
      if (frame?.['type'] === 'error') return new Error(`operator refused: ${text}`);
      return frame?.['type'] === 'handoff' && frame['state'] === 'operator' ? true : undefined;
    },
    'handoff to the operator',
  );
  operatorWs.send(JSON.stringify({ type: 'subscribe', dialog_id: visitor.dialogId }));
  operatorWs.send(JSON.stringify({ type: 'handoff', dialog_id: visitor.dialogId, action: 'take' }));
  await taken;
  return [
    chatEndpoint(visitorWs, visitor.dialogId, 'visitor'),
    chatEndpoint(operatorWs, visitor.dialogId, 'operator'),
  ];
}
