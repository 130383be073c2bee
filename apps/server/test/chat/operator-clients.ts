/**
 * Clients for the operator and handoff tests: ready visitor and operator sockets on a given site,
 * a `send` that waits for its ack, an in-order barrier (so "nothing arrived" is asserted after
 * the server has provably handled everything before it), and the operators' history route.
 */
import { randomUUID } from 'node:crypto';
import { messagesPath } from '@postern/protocol';
import { expect } from 'vitest';
import { APP, type Harness } from '../support/harness.js';
import {
  appAuth,
  type Frame,
  newVisitor,
  readyVisitor,
  type VisitorSession,
  type WatchedSocket,
  waitFor,
} from '../support/ws-client.js';

/** Limits high enough that the tests of these files never trip one they do not test. */
export const CHAT_TEST_ENV: Readonly<Record<string, string>> = Object.freeze({
  POSTERN_CONN_RATE: '100000',
  POSTERN_SESSION_RATE: '100000',
  POSTERN_HTTP_RATE: '100000',
  POSTERN_MSG_RATE: '100000',
  POSTERN_VISITOR_MSG_RATE: '100000',
});

/** The eight fields of a `dialog` frame (SPEC §4), and nothing else: never text. */
export const DIALOG_FRAME_KEYS = [
  'created_at',
  'dialog_id',
  'handoff',
  'last_message_at',
  'last_seq',
  'site_id',
  'state',
  'type',
];

export interface Visitor extends VisitorSession {
  readonly socket: WatchedSocket;
}

/** A new visitor of `siteId` with a ready widget socket. */
export async function visitorOn(h: Harness, siteId: string): Promise<Visitor> {
  const session = await newVisitor(h, await h.siteToken({ siteId }));
  const { socket } = await readyVisitor(h, session.visitorToken);
  return { ...session, socket };
}

/** A ready operator socket; its snapshot (if any) follows `ready`. */
export async function readyOperator(
  h: Harness,
  input: { operatorId?: string; sites?: readonly string[] | '*'; expiresInS?: number } = {},
): Promise<WatchedSocket> {
  const socket = await appAuth(h, await h.operatorToken(input));
  expect(await socket.next()).toMatchObject({ type: 'ready' });
  return socket;
}

/** The frames received since `mark` (an earlier `socket.frames.length`). */
export function since(socket: WatchedSocket, mark: number): Frame[] {
  return socket.frames.slice(mark);
}

/** The first frame since `mark` that `match` accepts, waiting for it. */
export async function frameWhere(
  socket: WatchedSocket,
  match: (frame: Frame) => boolean,
  what: string,
  mark = 0,
  timeoutMs = 3000,
): Promise<Frame> {
  let found: Frame | undefined;
  await waitFor(
    () => {
      found = since(socket, mark).find(match);
      return found !== undefined || socket.isClosed;
    },
    what,
    timeoutMs,
  );
  if (found === undefined) throw new Error(`socket closed while waiting for ${what}`);
  return found;
}

/**
 * Frames on a socket are handled one at a time, in order, and answered in order: once the answer
 * to this probe (a `subscribe` of a dialog that does not exist, refused with `error` whatever the
 * caller) is in, every frame the server sent before it is in too.
 */
export async function barrier(socket: WatchedSocket): Promise<void> {
  const probe = randomUUID();
  socket.send({ type: 'subscribe', dialog_id: probe });
  await frameWhere(
    socket,
    (frame) => frame['type'] === 'error' && frame['ref'] === probe,
    'the barrier answer',
  );
}

/** Sends `text` into the visitor's (or a held) dialog and resolves with the committed seq. */
export async function say(socket: WatchedSocket, dialogId: string, text: string): Promise<number> {
  const clientMsgId = randomUUID();
  const mark = socket.frames.length;
  socket.send({ type: 'send', dialog_id: dialogId, client_msg_id: clientMsgId, text });
  const answer = await frameWhere(
    socket,
    (frame) =>
      (frame['type'] === 'ack' || frame['type'] === 'error') &&
      (frame['client_msg_id'] === clientMsgId || frame['ref'] === clientMsgId),
    `the answer to send ${clientMsgId}`,
    mark,
  );
  expect(answer['type'], JSON.stringify(answer)).toBe('ack');
  return Number(answer['seq']);
}

/** Sends a frame and resolves with the `error` refusing it (matched by `ref`). */
export async function refusal(
  socket: WatchedSocket,
  frame: Record<string, unknown>,
  ref: string,
): Promise<Frame> {
  const mark = socket.frames.length;
  socket.send(frame);
  return frameWhere(
    socket,
    (f) => f['type'] === 'error' && f['ref'] === ref,
    `an error for ${JSON.stringify(frame)}`,
    mark,
  );
}

/** Every message of a dialog, from the operators' history route (as an all-sites operator). */
export async function history(h: Harness, dialogId: string): Promise<Frame[]> {
  const res = await fetch(`${h.base}${messagesPath('app', dialogId)}?limit=100`, {
    headers: { Authorization: `Bearer ${await h.operatorToken()}`, Origin: APP },
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { messages: Frame[] };
  return body.messages;
}

/** The `dialog` frames for `dialogId` since `mark`. */
export function dialogFrames(socket: WatchedSocket, dialogId: string, mark = 0): Frame[] {
  return since(socket, mark).filter((f) => f['type'] === 'dialog' && f['dialog_id'] === dialogId);
}
