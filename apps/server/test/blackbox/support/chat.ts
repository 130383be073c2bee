/**
 * Chat clients for the built server: visitors (session over HTTP, then the widget socket),
 * operators, sockets that record every frame, senders that keep `send` frames in flight and
 * record which were acknowledged, and history read back page by page. Like the rest of this
 * folder it imports nothing from `src`: what it sees is what a client sees.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { authenticate, type Closed, httpCall, wsOpen } from './clients.js';
import {
  APP_ORIGIN,
  type ServerProcess,
  SHOP_ORIGIN,
  startServer,
  type tempDir,
} from './server-process.js';

export type Frame = Record<string, unknown>;

/** A socket whose frames (and raw sizes) and close are recorded from the moment it opened. */
export interface Tracked {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  /** Payload bytes of every text frame received, in order (parallel to `frames`). */
  readonly sizes: number[];
  /** Resolves at the close, however long ago it happened. */
  readonly closed: Promise<Closed>;
  isClosed(): boolean;
  send(frame: unknown): void;
  /** The first frame (received so far or later) that `predicate` accepts. */
  waitFor(predicate: (frame: Frame) => boolean, what: string, timeoutMs?: number): Promise<Frame>;
}

export function track(ws: WebSocket): Tracked {
  const frames: Frame[] = [];
  const sizes: number[] = [];
  const wake = new Set<() => void>();
  let closeEvent: Closed | null = null;
  ws.on('error', () => undefined);
  ws.on('message', (data, isBinary) => {
    const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
    frames.push(isBinary ? { binary: true } : (JSON.parse(buffer.toString('utf8')) as Frame));
    sizes.push(buffer.length);
    for (const fn of [...wake]) fn();
  });
  const closed = new Promise<Closed>((resolve) => {
    ws.once('close', (code, reason) => {
      closeEvent = { code, reason: reason.toString('utf8') };
      resolve(closeEvent);
      for (const fn of [...wake]) fn();
    });
  });
  return {
    ws,
    frames,
    sizes,
    closed,
    isClosed: () => closeEvent !== null,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    waitFor(predicate, what, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.find(predicate);
          if (found) return finish(() => resolve(found));
          if (closeEvent) {
            const { code, reason } = closeEvent;
            finish(() => reject(new Error(`closed ${code} ${reason} while waiting for ${what}`)));
          }
        };
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          wake.delete(check);
          settle();
        };
        const timer = setTimeout(
          () => finish(() => reject(new Error(`timed out waiting for ${what}`))),
          timeoutMs,
        );
        wake.add(check);
        check();
      });
    },
  };
}

export interface VisitorSession {
  readonly visitorToken: string;
  readonly refreshToken: string;
  readonly visitorId: string;
  readonly dialogId: string;
  /** The address the visitor's requests and sockets come from. */
  readonly ip: string;
}

/** `POST /v1/widget/session` with `siteToken` from `ip`: a new visitor and its dialog. */
export async function newVisitor(
  server: ServerProcess,
  siteToken: string,
  ip: string,
): Promise<VisitorSession> {
  const answer = await httpCall({
    port: server.port,
    method: 'POST',
    path: `/v1/widget/session?site_token=${encodeURIComponent(siteToken)}`,
    headers: { Origin: SHOP_ORIGIN, 'Content-Type': 'application/json' },
    body: '{}',
    localAddress: ip,
  });
  if (answer.status !== 200) throw new Error(`session refused: ${answer.status} ${answer.text}`);
  const body = answer.json as Record<string, unknown>;
  return {
    visitorToken: String(body['visitor_token']),
    refreshToken: String(body['refresh_token']),
    visitorId: String(body['visitor_id']),
    dialogId: String(body['dialog_id']),
    ip,
  };
}

/** A widget socket of `visitor` that is `ready`; the `ready` frame is its first frame. */
export async function visitorSocket(
  server: ServerProcess,
  visitor: VisitorSession,
): Promise<Tracked> {
  const ws = await wsOpen(`${server.wsBase}/v1/ws/widget`, {
    origin: SHOP_ORIGIN,
    localAddress: visitor.ip,
  });
  const tracked = track(ws);
  await authenticate(ws, visitor.visitorToken);
  await tracked.waitFor((frame) => frame['type'] === 'ready', 'ready');
  return tracked;
}

/** An operator socket that is `ready`. */
export async function operatorSocket(
  server: ServerProcess,
  token: string,
  ip: string,
): Promise<Tracked> {
  const ws = await wsOpen(`${server.wsBase}/v1/ws/app`, { origin: APP_ORIGIN, localAddress: ip });
  const tracked = track(ws);
  await authenticate(ws, token);
  await tracked.waitFor((frame) => frame['type'] === 'ready', 'ready');
  return tracked;
}

/** Who reads a history: the visitor (widget route) or an operator (app route). */
export type Reader =
  | { readonly kind: 'visitor'; readonly token: string; readonly ip: string }
  | { readonly kind: 'operator'; readonly token: string; readonly ip: string };

/** The whole history of a dialog, read forward page by page with `after_seq`. */
export async function readHistory(
  server: ServerProcess,
  dialogId: string,
  reader: Reader,
): Promise<Frame[]> {
  const prefix = reader.kind === 'visitor' ? '/v1/widget/dialogs' : '/v1/app/dialogs';
  const origin = reader.kind === 'visitor' ? SHOP_ORIGIN : APP_ORIGIN;
  const messages: Frame[] = [];
  let after: number | null = 0;
  for (let page = 0; after !== null; page++) {
    if (page > 10_000) throw new Error('history paging does not end');
    const answer = await httpCall({
      port: server.port,
      path: `${prefix}/${encodeURIComponent(dialogId)}/messages?after_seq=${after}&limit=100`,
      headers: { Authorization: `Bearer ${reader.token}`, Origin: origin },
      localAddress: reader.ip,
    });
    if (answer.status !== 200) throw new Error(`history refused: ${answer.status} ${answer.text}`);
    const body = answer.json as { messages: Frame[]; next_after_seq: number | null };
    messages.push(...body.messages);
    after = body.next_after_seq;
  }
  return messages;
}

/** An `ack` as the sender recorded it. */
export interface Ack {
  readonly clientMsgId: string;
  readonly id: string;
  readonly seq: number;
}

/** What one socket sent and what it was told. */
export interface SendLog {
  readonly dialogId: string;
  /** `client_msg_id`s in the order they were sent. */
  readonly sent: string[];
  readonly textOf: Map<string, string>;
  /** Acks in the order they arrived. */
  readonly acks: Ack[];
  /** Refusals (`error` frames) by `client_msg_id`. */
  readonly refused: Map<string, string>;
}

export interface Pump {
  readonly log: SendLog;
  /** Sent and neither acknowledged nor refused. */
  unacked(): string[];
  stop(): void;
}

/**
 * Keeps `window` `send` frames in flight on `socket` (a new one for every answer) until `stop()`
 * or the socket closes, each with a fresh `client_msg_id`.
 */
export function pump(socket: Tracked, dialogId: string, label: string, window = 16): Pump {
  const log: SendLog = { dialogId, sent: [], textOf: new Map(), acks: [], refused: new Map() };
  const answered = new Set<string>();
  let running = true;
  const sendOne = () => {
    if (!running || socket.ws.readyState !== WebSocket.OPEN) return;
    const clientMsgId = randomUUID();
    const text = `${label} #${log.sent.length + 1}`;
    log.sent.push(clientMsgId);
    log.textOf.set(clientMsgId, text);
    socket.send({ type: 'send', dialog_id: dialogId, client_msg_id: clientMsgId, text });
  };
  socket.ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Frame;
    const ref = frame['type'] === 'ack' ? frame['client_msg_id'] : frame['ref'];
    if (typeof ref !== 'string' || !log.textOf.has(ref) || answered.has(ref)) return;
    answered.add(ref);
    if (frame['type'] === 'ack') {
      log.acks.push({ clientMsgId: ref, id: String(frame['id']), seq: Number(frame['seq']) });
    } else if (frame['type'] === 'error') {
      log.refused.set(ref, String(frame['code']));
    } else {
      return;
    }
    sendOne();
  });
  for (let i = 0; i < window; i++) sendOne();
  return {
    log,
    unacked: () => log.sent.filter((id) => !answered.has(id)),
    stop: () => {
      running = false;
    },
  };
}

/**
 * What a dialog's stored history says about one sender's log. Everything is a list of problems,
 * empty when the history is right, so a failure names every broken message at once.
 */
export interface HistoryCheck {
  /** Seqs are 1..n without a gap or a repeat. */
  readonly seqProblems: string[];
  /** Acknowledged messages missing, stored more than once, or stored with another id/seq. */
  readonly ackProblems: string[];
  /** A `client_msg_id` stored more than once, stored but never sent, or stored altered. */
  readonly copyProblems: string[];
  /** Stored messages of this sender out of the order they were sent in. */
  readonly orderProblems: string[];
  /** Stored `client_msg_id`s, by seq order. */
  readonly stored: string[];
}

/**
 * Asserts that a {@link HistoryCheck} found nothing wrong, every problem list at once; `label`
 * (e.g. `{ visitor: 2 }`) names the history in a failure.
 */
export function expectHistoryIntact(
  check: HistoryCheck,
  label: Record<string, unknown> = {},
): void {
  expect({ ...label, ...check, stored: undefined }).toEqual({
    ...label,
    seqProblems: [],
    ackProblems: [],
    copyProblems: [],
    orderProblems: [],
    stored: undefined,
  });
}

export function checkHistory(messages: readonly Frame[], log: SendLog): HistoryCheck {
  const seqProblems: string[] = [];
  messages.forEach((message, index) => {
    if (message['seq'] !== index + 1) {
      seqProblems.push(`position ${index + 1} has seq ${String(message['seq'])}`);
    }
  });
  const byCid = new Map<string, Frame[]>();
  for (const message of messages) {
    const cid = message['client_msg_id'];
    if (typeof cid !== 'string') continue;
    byCid.set(cid, [...(byCid.get(cid) ?? []), message]);
  }
  const copyProblems: string[] = [];
  for (const [cid, copies] of byCid) {
    if (copies.length > 1) copyProblems.push(`${cid} stored ${copies.length} times`);
    if (!log.textOf.has(cid)) copyProblems.push(`${cid} stored but never sent`);
    else if (copies[0]?.['text'] !== log.textOf.get(cid)) copyProblems.push(`${cid} text changed`);
  }
  const ackProblems: string[] = [];
  for (const ack of log.acks) {
    const copies = byCid.get(ack.clientMsgId) ?? [];
    const [stored] = copies;
    if (copies.length !== 1 || !stored) {
      ackProblems.push(`acked ${ack.clientMsgId} (seq ${ack.seq}) stored ${copies.length} times`);
    } else if (stored['seq'] !== ack.seq || stored['id'] !== ack.id) {
      ackProblems.push(`acked ${ack.clientMsgId} as seq ${ack.seq}, stored as ${stored['seq']}`);
    }
  }
  const stored = messages
    .map((message) => message['client_msg_id'])
    .filter((cid): cid is string => typeof cid === 'string' && log.textOf.has(cid));
  const sentIndex = new Map(log.sent.map((cid, index) => [cid, index]));
  const orderProblems: string[] = [];
  for (let i = 1; i < stored.length; i++) {
    const before = sentIndex.get(stored[i - 1] as string) ?? -1;
    const after = sentIndex.get(stored[i] as string) ?? -1;
    if (after < before) orderProblems.push(`${stored[i]} stored after ${stored[i - 1]}`);
  }
  return { seqProblems, ackProblems, copyProblems, orderProblems, stored };
}

/** Acks in the order they arrived, by seq: a sender is told about commits in seq order. */
export function ackOrderProblems(log: SendLog): string[] {
  const problems: string[] = [];
  for (let i = 1; i < log.acks.length; i++) {
    const previous = log.acks[i - 1] as Ack;
    const current = log.acks[i] as Ack;
    if (current.seq <= previous.seq) {
      problems.push(`ack seq ${current.seq} arrived after ack seq ${previous.seq}`);
    }
  }
  return problems;
}

/**
 * Starts the built server again on the port and database of `previous` (which must be gone):
 * clients reconnect to the address they knew.
 */
export function restartServer(
  previous: ServerProcess,
  dir: ReturnType<typeof tempDir>,
  extra: Record<string, string> = {},
): Promise<ServerProcess> {
  return startServer({ ...extra, POSTERN_PORT: String(previous.port) }, { dir });
}

/** Visitors may send as fast as they like; the assistant stays out of the dialogs' seqs. */
export const FAST_SENDERS_ENV: Readonly<Record<string, string>> = Object.freeze({
  POSTERN_ASSISTANT: 'none',
  POSTERN_MSG_RATE: '1000000',
  POSTERN_VISITOR_MSG_RATE: '1000000',
  POSTERN_HTTP_RATE: '1000000',
});

/** Polls `condition` every 2 ms until it holds, or rejects after `timeoutMs`. */
export function waitUntil(
  condition: () => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (condition()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 2);
    };
    poll();
  });
}
