/**
 * Keeping one dialog's messages complete, in order and without duplicates. `seq` is per dialog,
 * gapless and server-assigned, so the client keeps the last `seq` it delivered and:
 * - drops any message at or below it (a replay overlapping live delivery, a re-sent page);
 * - holds a message above `last + 1` back and fills the hole from the history endpoint;
 * - on `resumed {gap: true}` pages the history up to `head_seq`;
 * - reports each completed catch-up once, as `resynced {replayed, gap}`.
 */
import {
  type ChatMessage,
  HISTORY_PAGE_MAX,
  type HistoryPage,
  messagesPath,
  parseHistoryPage,
  type ResumePoint,
} from '@postern/protocol';
import { PosternError } from './errors.js';
import type { FetchLike } from './session.js';

/** Out-of-order live messages held while a hole is filled; beyond this they are refetched. */
const EARLY_MAX = 500;

/** A completed catch-up: how many messages it delivered, and whether the history was paged. */
export interface Resynced {
  readonly replayed: number;
  readonly gap: boolean;
}

export interface SyncHandlers {
  deliver(message: ChatMessage): void;
  page(dialogId: string, afterSeq: number): Promise<HistoryPage>;
  resynced(result: Resynced): void;
  failed(error: unknown): void;
}

/** One page of `GET /v1/widget/dialogs/:id/messages?after_seq=…`, with the visitor token. */
export async function fetchHistoryPage(
  fetch: FetchLike,
  api: (path: string) => string,
  token: string,
  dialogId: string,
  afterSeq: number,
): Promise<HistoryPage> {
  const url = `${api(messagesPath('widget', dialogId))}?after_seq=${afterSeq}&limit=${HISTORY_PAGE_MAX}`;
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) {
    throw new PosternError('ERR_HISTORY', 'history request failed', {
      detail: String(response.status),
    });
  }
  const page = parseHistoryPage(await response.json().catch(() => null));
  if (!page.ok)
    throw new PosternError('ERR_HISTORY', 'malformed history page', { detail: page.field });
  return page.value;
}

export class DialogSync {
  dialogId: string | null = null;
  lastSeq = 0;
  readonly #early = new Map<number, ChatMessage>();
  #cycle: { delivered: number; gap: boolean } | null = null;
  #target = 0;
  #backfilling = false;
  // Bumped when the dialog changes: a page arriving for the old one is dropped.
  #generation = 0;

  readonly #handlers: SyncHandlers;

  constructor(handlers: SyncHandlers) {
    this.#handlers = handlers;
  }

  /** `ready` named this dialog; a different one starts from nothing. */
  enter(dialogId: string): void {
    if (dialogId === this.dialogId) return;
    this.reset();
    this.dialogId = dialogId;
  }

  reset(): void {
    this.#generation += 1;
    this.dialogId = null;
    this.lastSeq = 0;
    this.#early.clear();
    this.#cycle = null;
    this.#target = 0;
    this.#backfilling = false;
  }

  /** Where to resume from, when there is a dialog to resume. */
  point(): ResumePoint | undefined {
    return this.dialogId === null
      ? undefined
      : { dialog_id: this.dialogId, after_seq: this.lastSeq };
  }

  /** A replay was asked for; `resumed` ends it. */
  begin(): void {
    this.#cycle ??= { delivered: 0, gap: false };
  }

  /** The socket ended: a replay asked for on it will not finish (a running backfill will). */
  interrupt(): void {
    if (!this.#backfilling) this.#cycle = null;
  }

  accept(message: ChatMessage): void {
    if (message.dialog_id !== this.dialogId || message.seq <= this.lastSeq) return;
    if (message.seq > this.lastSeq + 1) {
      if (this.#early.size < EARLY_MAX) this.#early.set(message.seq, message);
      // A live jump: some messages passed while this client was not listening.
      if (!this.#cycle) void this.#backfill(message.seq - 1);
      return;
    }
    this.#push(message);
    for (let next = this.#early.get(message.seq + 1); next; next = this.#early.get(next.seq + 1)) {
      this.#early.delete(next.seq);
      this.#push(next);
    }
  }

  resumed(gap: boolean, headSeq: number): void {
    this.begin();
    if (gap) void this.#backfill(headSeq);
    else if (!this.#backfilling) this.#finish();
  }

  #push(message: ChatMessage): void {
    this.lastSeq = message.seq;
    if (this.#cycle) this.#cycle.delivered += 1;
    this.#handlers.deliver(message);
  }

  async #backfill(headSeq: number): Promise<void> {
    this.begin();
    if (this.#cycle) this.#cycle.gap = true;
    this.#target = Math.max(this.#target, headSeq);
    const dialogId = this.dialogId;
    if (this.#backfilling || dialogId === null) return;
    this.#backfilling = true;
    const generation = this.#generation;
    try {
      while (this.lastSeq < this.#target) {
        const before = this.lastSeq;
        const page = await this.#handlers.page(dialogId, before);
        if (generation !== this.#generation) return;
        for (const message of page.messages) this.accept(message);
        if (this.lastSeq === before || page.next_after_seq === null) break;
      }
    } catch (error) {
      if (generation !== this.#generation) return;
      // Not caught up: no `resynced`. The next resume or live jump tries again.
      this.#backfilling = false;
      this.#target = 0;
      this.#cycle = null;
      this.#handlers.failed(error);
      return;
    }
    this.#backfilling = false;
    this.#target = 0;
    this.#finish();
  }

  #finish(): void {
    const cycle = this.#cycle;
    this.#cycle = null;
    if (cycle) this.#handlers.resynced({ replayed: cycle.delivered, gap: cycle.gap });
  }
}
