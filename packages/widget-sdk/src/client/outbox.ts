/**
 * Messages the visitor sent that the server has not acknowledged yet. Each has the
 * `client_msg_id` `send()` returned; it is re-sent with that same id after every reconnect until
 * the `ack` arrives, and the server's idempotency turns a re-send of a committed message into the
 * original `ack`, so nothing is lost and nothing is stored twice. Bounded in count, bytes and age
 * so a client offline for a day cannot grow without limit.
 */
import { checkMessageText } from '@postern/protocol';

/** Pending messages at most. */
export const OUTBOX_MAX_MESSAGES = 100;
/** Pending text at most, in UTF-8 bytes. */
export const OUTBOX_MAX_BYTES = 256 * 1024;
/** A message not acknowledged within this long fails as `expired`. */
export const OUTBOX_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** `queued` (waiting for a connection) → `sent` → `acked`, or `failed` with a reason. */
export type OutboxStatus = 'queued' | 'sent' | 'acked' | 'failed';

/**
 * Why a message failed: `invalid` (empty, too long, forbidden characters — checked before sending
 * and by the server), `rate_limited`, `dialog_closed`, `expired` (24 h without an ack),
 * `overflow` (the outbox was full).
 */
export type OutboxFailure = 'invalid' | 'rate_limited' | 'dialog_closed' | 'expired' | 'overflow';

/** One message's state, as the `outbox` event reports it. */
export interface OutboxEntry {
  /** The `client_msg_id` that `send()` returned. */
  readonly id: string;
  /** The text as it will be stored (trimmed). */
  readonly text: string;
  readonly status: OutboxStatus;
  /** When `send()` was called (client clock, ms). */
  readonly createdAt: number;
  /** Set when `status` is `failed`. */
  readonly reason?: OutboxFailure;
  /** The stored message's `id` and `seq`, set when `status` is `acked`. */
  readonly messageId?: string;
  readonly seq?: number;
}

interface Pending {
  readonly id: string;
  readonly text: string;
  readonly createdAt: number;
  readonly bytes: number;
  sent: boolean;
}

export interface Outbox {
  /** Queues a message (or fails it at once as `invalid` or `overflow`). */
  add(id: string, text: string, now: number): void;
  /** Messages waiting to go out, oldest first; expired ones fail first. */
  due(now: number): readonly Pending[];
  markSent(id: string): void;
  /** The connection ended: whatever was sent without an ack goes out again on the next one. */
  requeue(): void;
  /** An `ack` (or our own message echoed) settles it; an `error` with its id fails it. */
  settle(
    id: string,
    outcome: { readonly id: string; readonly seq: number } | OutboxFailure,
  ): boolean;
  /** Snapshot of the messages not yet acknowledged. */
  list(): readonly OutboxEntry[];
}

export function createOutbox(changed: (entry: OutboxEntry) => void): Outbox {
  // Insertion order is the order messages go out in.
  const pending = new Map<string, Pending>();
  let bytes = 0;

  const view = ({ id, text, createdAt, sent }: Pending): OutboxEntry => ({
    id,
    text,
    createdAt,
    status: sent ? 'sent' : 'queued',
  });
  const fail = (id: string, text: string, createdAt: number, reason: OutboxFailure) =>
    changed({ id, text, createdAt, status: 'failed', reason });
  const expire = (now: number) => {
    for (const entry of pending.values()) {
      if (now - entry.createdAt >= OUTBOX_MAX_AGE_MS) outbox.settle(entry.id, 'expired');
    }
  };

  const outbox: Outbox = {
    add(id, text, now) {
      const checked = checkMessageText(text);
      if (!checked.ok) return fail(id, text, now, 'invalid');
      expire(now);
      const size = new TextEncoder().encode(checked.text).byteLength;
      if (pending.size >= OUTBOX_MAX_MESSAGES || bytes + size > OUTBOX_MAX_BYTES) {
        return fail(id, checked.text, now, 'overflow');
      }
      const entry: Pending = { id, text: checked.text, createdAt: now, bytes: size, sent: false };
      pending.set(id, entry);
      bytes += size;
      changed(view(entry));
    },
    due(now) {
      expire(now);
      return [...pending.values()].filter((entry) => !entry.sent);
    },
    markSent(id) {
      const entry = pending.get(id);
      if (!entry || entry.sent) return;
      entry.sent = true;
      changed(view(entry));
    },
    requeue() {
      for (const entry of pending.values()) {
        if (!entry.sent) continue;
        entry.sent = false;
        changed(view(entry));
      }
    },
    settle(id, outcome) {
      const entry = pending.get(id);
      if (!entry) return false;
      pending.delete(id);
      bytes -= entry.bytes;
      if (typeof outcome === 'string') fail(id, entry.text, entry.createdAt, outcome);
      else {
        const { text, createdAt } = entry;
        changed({ id, text, createdAt, status: 'acked', messageId: outcome.id, seq: outcome.seq });
      }
      return true;
    },
    list: () => [...pending.values()].map(view),
  };
  return outbox;
}
