/**
 * The messages of the dialog on screen, as pure state. Messages come from history pages and
 * from the live socket in any order and possibly twice; `seq` (per dialog, gapless,
 * server-assigned) orders and de-duplicates them. The operator's own sends wait as `pending`
 * until their `ack` and their copy of the `message` arrive (SPEC §4: `ack` first).
 */
import type { ChatMessage, FrameErrorCode } from '@postern/protocol';

export type PendingStatus = 'sending' | 'acked' | 'refused';

export interface PendingMessage {
  readonly clientMsgId: string;
  readonly text: string;
  readonly status: PendingStatus;
  /** Set by the `ack`. */
  readonly seq?: number;
  /** Set by an `error` whose `ref` is this `client_msg_id`. */
  readonly refusal?: FrameErrorCode;
}

export interface MessageLog {
  readonly dialogId: string;
  /** Ascending by `seq`, one per `seq`. */
  readonly messages: readonly ChatMessage[];
  readonly pending: readonly PendingMessage[];
}

/** Messages kept in memory for one dialog; older ones are dropped and can be paged back. */
export const LOG_MAX = 1_000;

export function emptyLog(dialogId: string): MessageLog {
  return { dialogId, messages: [], pending: [] };
}

/** The highest `seq` held, or 0. */
export function lastSeq(log: MessageLog): number {
  return log.messages.at(-1)?.seq ?? 0;
}

/** The lowest `seq` held, or `null` when none is. */
export function firstSeq(log: MessageLog): number | null {
  return log.messages[0]?.seq ?? null;
}

/** Whether older messages exist than the ones held (seqs start at 1). */
export function hasEarlier(log: MessageLog): boolean {
  const first = firstSeq(log);
  return first !== null && first > 1;
}

/**
 * Whether a live message would leave a hole after what is held (SPEC §4: a client-side gap): it
 * is kept, and the hole is paged in from {@link contiguousUntil}. An empty log has no gap: it
 * loads the latest page anyway.
 */
export function leavesGap(log: MessageLog, seq: number): boolean {
  const last = lastSeq(log);
  return last > 0 && seq > last + 1;
}

/**
 * The last `seq` before the first hole in what is held (or {@link lastSeq} when there is none):
 * where a backfill starts, so a live message that arrived past a gap is kept and the hole below
 * it is paged in.
 */
export function contiguousUntil(log: MessageLog): number {
  const { messages } = log;
  for (let index = 0; index + 1 < messages.length; index++) {
    const current = messages[index];
    const next = messages[index + 1];
    if (current !== undefined && next !== undefined && next.seq !== current.seq + 1) {
      return current.seq;
    }
  }
  return lastSeq(log);
}

/**
 * Merges messages of this dialog into the log: ordered by `seq`, the first copy of each `seq`
 * kept, other dialogs' messages ignored. A pending send whose message arrived is dropped.
 * Keeps the newest {@link LOG_MAX}.
 */
export function mergeMessages(log: MessageLog, incoming: readonly ChatMessage[]): MessageLog {
  const fresh = incoming.filter((message) => message.dialog_id === log.dialogId);
  if (fresh.length === 0) return log;
  const bySeq = new Map<number, ChatMessage>();
  for (const message of log.messages) bySeq.set(message.seq, message);
  let added = false;
  for (const message of fresh) {
    if (bySeq.has(message.seq)) continue;
    bySeq.set(message.seq, message);
    added = true;
  }
  if (!added) return log;
  const messages = [...bySeq.values()].sort((a, b) => a.seq - b.seq).slice(-LOG_MAX);
  const delivered = new Set<string>();
  const seqs = new Set<number>();
  for (const message of messages) {
    seqs.add(message.seq);
    if (message.client_msg_id !== undefined) delivered.add(message.client_msg_id);
  }
  const pending = log.pending.filter(
    (item) => !delivered.has(item.clientMsgId) && !(item.seq !== undefined && seqs.has(item.seq)),
  );
  return { ...log, messages, pending };
}

/** Adds an outgoing message, shown as sending until it is acknowledged. */
export function addPending(log: MessageLog, clientMsgId: string, text: string): MessageLog {
  if (log.pending.some((item) => item.clientMsgId === clientMsgId)) return log;
  return { ...log, pending: [...log.pending, { clientMsgId, text, status: 'sending' }] };
}

function updatePending(
  log: MessageLog,
  clientMsgId: string,
  update: (item: PendingMessage) => PendingMessage | null,
): MessageLog {
  const index = log.pending.findIndex((item) => item.clientMsgId === clientMsgId);
  const item = log.pending[index];
  if (item === undefined) return log;
  const next = update(item);
  const pending = [...log.pending];
  if (next === null) pending.splice(index, 1);
  else pending[index] = next;
  return { ...log, pending };
}

/**
 * The `ack` of a send: committed as `seq`. If that message is already held (its copy overtook
 * the ack on a resend), the pending entry simply goes.
 */
export function ackPending(log: MessageLog, clientMsgId: string, seq: number): MessageLog {
  const held = log.messages.some((message) => message.seq === seq);
  return updatePending(log, clientMsgId, (item) =>
    held ? null : { ...item, status: 'acked', seq },
  );
}

/** A send the server refused (`error` with `ref` = its `client_msg_id`). */
export function refusePending(
  log: MessageLog,
  clientMsgId: string,
  refusal: FrameErrorCode,
): MessageLog {
  return updatePending(log, clientMsgId, (item) =>
    item.status === 'acked' ? item : { ...item, status: 'refused', refusal },
  );
}

/** Removes a refused message the operator dismissed (or is about to resend). */
export function dropPending(log: MessageLog, clientMsgId: string): MessageLog {
  return updatePending(log, clientMsgId, () => null);
}

/** Pending sends not yet acknowledged, to resend with the same `client_msg_id` after a reconnect. */
export function unacknowledged(log: MessageLog): PendingMessage[] {
  return log.pending.filter((item) => item.status === 'sending');
}
