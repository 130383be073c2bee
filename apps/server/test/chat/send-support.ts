/**
 * Shared pieces of the `send`/`typing` integration tests (SPEC §4): visitor tabs and operator
 * sockets that are ready, `send` frames, subscriptions that are known to be in place, and views
 * of what a socket received.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { Harness } from '../support/harness.js';
import {
  appAuth,
  type Frame,
  readyVisitor,
  type WatchedSocket,
  waitFor,
} from '../support/ws-client.js';

/** Generous: a 2-core machine runs other suites beside this one. */
export const SLOW_MS = 10_000;

/** Exactly the fields SPEC §4 gives a `message` frame (all present for a visitor's own send). */
export const MESSAGE_FIELDS = [
  'client_msg_id',
  'dialog_id',
  'id',
  'sender',
  'seq',
  'text',
  'ts',
  'type',
];

/** A `send` frame with a fresh `client_msg_id` unless one is given. */
export function sendFrame(
  dialogId: string,
  text: string,
  clientMsgId: string = randomUUID(),
): { type: 'send'; dialog_id: string; client_msg_id: string; text: string } {
  return { type: 'send', dialog_id: dialogId, client_msg_id: clientMsgId, text };
}

/** A `ready` widget socket (one browser tab) for a visitor token. */
export async function tab(h: Harness, token: string): Promise<WatchedSocket> {
  return (await readyVisitor(h, token)).socket;
}

/** A `ready` operator socket (its snapshot may still be arriving). */
export async function operatorSocket(
  h: Harness,
  options: { operatorId?: string; sites?: readonly string[] | '*' } = {},
): Promise<WatchedSocket> {
  const socket = await appAuth(
    h,
    await h.operatorToken({
      operatorId: options.operatorId ?? 'op_1',
      sites: options.sites ?? '*',
    }),
  );
  expect((await socket.next())['type']).toBe('ready');
  return socket;
}

/**
 * Subscribes an operator socket and waits until the server has joined it to the dialog
 * (`subscribe` has no reply of its own): fan-out then counts one more member.
 */
export async function subscribe(h: Harness, op: WatchedSocket, dialogId: string): Promise<void> {
  const before = h.server.chat.fanout.membersOf(dialogId);
  op.send({ type: 'subscribe', dialog_id: dialogId });
  await waitFor(() => h.server.chat.fanout.membersOf(dialogId) > before, 'the subscription');
}

/** An operator takes a dialog and sees its own `handoff` frame saying so. */
export async function take(op: WatchedSocket, dialogId: string): Promise<void> {
  op.send({ type: 'handoff', dialog_id: dialogId, action: 'take' });
  const frame = await waitForFrame(
    op,
    (f) => f['type'] === 'handoff' && f['dialog_id'] === dialogId && f['state'] === 'operator',
    'the handoff to the operator',
  );
  expect(frame['operator']).toBeDefined();
}

/** Waits until a frame matching `match` has arrived (looking at every frame so far). */
export async function waitForFrame(
  socket: WatchedSocket,
  match: (frame: Frame) => boolean,
  what: string,
  timeoutMs = SLOW_MS,
): Promise<Frame> {
  await waitFor(() => socket.frames.some(match), what, timeoutMs);
  return socket.frames.find(match) as Frame;
}

/** The `message` frames a socket received so far, in arrival order. */
export function messages(socket: WatchedSocket, dialogId?: string): Frame[] {
  return socket.frames.filter(
    (f) => f['type'] === 'message' && (dialogId === undefined || f['dialog_id'] === dialogId),
  );
}

/** The frames of `type` a socket received so far. */
export function framesOf(socket: WatchedSocket, type: string): Frame[] {
  return socket.frames.filter((f) => f['type'] === type);
}

/** `1 … n`. */
export function upTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}
