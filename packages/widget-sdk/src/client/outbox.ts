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

export class Outbox {
  // Insertion order is the order messages go out in.
  readonly #pending = new Map<string, Pending>();
  #bytes = 0;

  readonly #changed: (entry: OutboxEntry) => void;

  constructor(changed: (entry: OutboxEntry) => void) {
    this.#changed = changed;
  }

  /** Queues a message (or fails it at once as `invalid` or `overflow`). */
  add(id: string, text: string, now: number): void {
    const checked = checkMessageText(text);
    if (!checked.ok) {
      this.#changed({ id, text, status: 'failed', createdAt: now, reason: 'invalid' });
      return;
    }
    this.#expire(now);
    const bytes = new TextEncoder().encode(checked.text).byteLength;
    if (this.#pending.size >= OUTBOX_MAX_MESSAGES || this.#bytes + bytes > OUTBOX_MAX_BYTES) {
      this.#changed({
        id,
        text: checked.text,
        status: 'failed',
        createdAt: now,
        reason: 'overflow',
      });
      return;
    }
    const entry: Pending = { id, text: checked.text, createdAt: now, bytes, sent: false };
    this.#pending.set(id, entry);
    this.#bytes += bytes;
    this.#changed(view(entry));
  }

  /** Messages waiting to go out, oldest first; expired ones fail first. */
  due(now: number): readonly Pending[] {
    this.#expire(now);
    return [...this.#pending.values()].filter((entry) => !entry.sent);
  }

  markSent(id: string): void {
    const entry = this.#pending.get(id);
    if (!entry || entry.sent) return;
    entry.sent = true;
    this.#changed(view(entry));
  }

  /** The connection ended: whatever was sent without an ack goes out again on the next one. */
  requeue(): void {
    for (const entry of this.#pending.values()) {
      if (!entry.sent) continue;
      entry.sent = false;
      this.#changed(view(entry));
    }
  }

  /** An `ack` (or our own message echoed) settles it; an `error` with its id fails it. */
  settle(
    id: string,
    outcome: { readonly id: string; readonly seq: number } | OutboxFailure,
  ): boolean {
    const entry = this.#pending.get(id);
    if (!entry) return false;
    this.#pending.delete(id);
    this.#bytes -= entry.bytes;
    const base = { id, text: entry.text, createdAt: entry.createdAt };
    this.#changed(
      typeof outcome === 'string'
        ? { ...base, status: 'failed', reason: outcome }
        : { ...base, status: 'acked', messageId: outcome.id, seq: outcome.seq },
    );
    return true;
  }

  /** Snapshot of the messages not yet acknowledged. */
  list(): readonly OutboxEntry[] {
    return [...this.#pending.values()].map(view);
  }

  #expire(now: number): void {
    for (const entry of this.#pending.values()) {
      if (now - entry.createdAt >= OUTBOX_MAX_AGE_MS) this.settle(entry.id, 'expired');
    }
  }
}

function view(entry: Pending): OutboxEntry {
  const { id, text, createdAt } = entry;
  return { id, text, createdAt, status: entry.sent ? 'sent' : 'queued' };
}
