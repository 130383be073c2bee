/**
 * Chat traffic for the resume, history and lifecycle tests: messages sent over real sockets,
 * resume at `auth`, operator sockets, and the history and dialog-list endpoints over real HTTP.
 */
import { randomUUID } from 'node:crypto';
import { messagesPath, Paths } from '@postern/protocol';
import { expect } from 'vitest';
import { APP, type Harness, SHOP } from './harness.js';
import { appAuth, type Frame, open, type WatchedSocket, waitFor } from './ws-client.js';

export interface JsonAnswer {
  readonly status: number;
  readonly text: string;
  readonly body: Record<string, unknown>;
}

/** A `GET` with a bearer token from `origin`; the body parsed when it is JSON. */
export async function getJson(
  harness: Harness,
  path: string,
  token: string,
  origin: string | null,
): Promise<JsonAnswer> {
  const res = await fetch(`${harness.base}${path}`, {
    headers: {
      Authorization: `Bearer ${token}`,
      ...(origin === null ? {} : { Origin: origin }),
    },
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Bare statuses carry no JSON.
  }
  return { status: res.status, text, body };
}

/** `GET /v1/widget/dialogs/:id/messages?<query>` with a visitor token (from SHOP by default). */
export function widgetHistory(
  harness: Harness,
  visitorToken: string,
  dialogId: string,
  query = '',
  origin: string | null = SHOP,
): Promise<JsonAnswer> {
  const path = `${messagesPath('widget', dialogId)}${query ? `?${query}` : ''}`;
  return getJson(harness, path, visitorToken, origin);
}

/** `GET /v1/app/dialogs/:id/messages?<query>` with an operator token (from APP by default). */
export function appHistory(
  harness: Harness,
  operatorToken: string,
  dialogId: string,
  query = '',
  origin: string | null = APP,
): Promise<JsonAnswer> {
  const path = `${messagesPath('app', dialogId)}${query ? `?${query}` : ''}`;
  return getJson(harness, path, operatorToken, origin);
}

/** `GET /v1/app/dialogs?<query>` with an operator token from APP. */
export function appDialogs(
  harness: Harness,
  operatorToken: string,
  query = '',
): Promise<JsonAnswer> {
  return getJson(harness, `${Paths.APP_DIALOGS}${query ? `?${query}` : ''}`, operatorToken, APP);
}

/** The `message` frames a socket received so far. */
export function messagesOf(socket: WatchedSocket): Frame[] {
  return socket.frames.filter((frame) => frame['type'] === 'message');
}

/** A frame without its `type`: what a history item must equal. */
export function withoutType(frame: Frame): Frame {
  const { type: _type, ...rest } = frame;
  return rest;
}

/**
 * Sends `count` messages on a ready socket, pipelined, and resolves with their `message` frames
 * in seq order once every one of them came back (acks before copies, as SPEC §4 requires).
 */
export async function sendMessages(
  socket: WatchedSocket,
  dialogId: string,
  count: number,
  label = 'message',
): Promise<Frame[]> {
  const ids: string[] = Array.from({ length: count }, () => randomUUID());
  ids.forEach((id, i) => {
    socket.send({
      type: 'send',
      dialog_id: dialogId,
      client_msg_id: id,
      text: `${label} ${i + 1}`,
    });
  });
  const wanted = new Set(ids);
  const mine = () =>
    messagesOf(socket).filter((frame) => wanted.has(String(frame['client_msg_id'])));
  await waitFor(() => mine().length === count, `${count} messages back`, 10_000);
  return mine().sort((a, b) => Number(a['seq']) - Number(b['seq']));
}

/** A widget socket that sent `auth` with a resume point (nothing awaited after that). */
export async function resumeAtAuth(
  harness: Harness,
  visitorToken: string,
  dialogId: string,
  afterSeq: number,
  origin = SHOP,
): Promise<WatchedSocket> {
  const socket = await open(harness, '/v1/ws/widget', { Origin: origin });
  socket.send({
    type: 'auth',
    token: visitorToken,
    resume: { dialog_id: dialogId, after_seq: afterSeq },
  });
  return socket;
}

/** An operator socket past `ready` (its `dialog` snapshot may still be arriving). */
export async function readyOperator(harness: Harness, token: string): Promise<WatchedSocket> {
  const socket = await appAuth(harness, token);
  expect((await socket.next())['type']).toBe('ready');
  return socket;
}

/** Resolves with the first frame received so far or later that satisfies `match`. */
export async function frameMatching(
  socket: WatchedSocket,
  match: (frame: Frame) => boolean,
  what: string,
  timeoutMs = 3000,
): Promise<Frame> {
  await waitFor(() => socket.frames.some(match), what, timeoutMs);
  return socket.frames.find(match) as Frame;
}

/** `type` and `seq` of each frame, to assert an exact order compactly. */
export function shapeOf(frames: readonly Frame[]): string[] {
  return frames.map((frame) =>
    frame['type'] === 'message' ? `message ${String(frame['seq'])}` : String(frame['type']),
  );
}
