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
  parseHistoryPageLean,
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
  const page = response.ok && parseHistoryPageLean(await response.json().catch(() => null));
  if (page) return page;
  const detail = response.ok ? 'malformed' : String(response.status);
  throw new PosternError('ERR_HISTORY', detail, { detail });
}

export interface DialogSync {
  /** The current dialog, known from the first `ready`. */
  readonly dialogId: string | null;
  /** The last `seq` delivered. */
  readonly lastSeq: number;
  /** `ready` named this dialog; a different one starts from nothing. */
  enter(dialogId: string): void;
  reset(): void;
  /** Where to resume from, when there is a dialog to resume. */
  point(): ResumePoint | undefined;
  /** A replay was asked for; `resumed` ends it. */
  begin(): void;
  /** The socket ended: a replay asked for on it will not finish (a running backfill will). */
  interrupt(): void;
  accept(message: ChatMessage): void;
  resumed(gap: boolean, headSeq: number): void;
}

export function createDialogSync(handlers: SyncHandlers): DialogSync {
  let dialogId: string | null = null;
  let lastSeq = 0;
  const early = new Map<number, ChatMessage>();
  let cycle: { delivered: number; gap: boolean } | null = null;
  let target = 0;
  let backfilling = false;
  // Bumped when the dialog changes: a page arriving for the old one is dropped.
  let generation = 0;

  const push = (message: ChatMessage) => {
    lastSeq = message.seq;
    if (cycle) cycle.delivered += 1;
    handlers.deliver(message);
  };

  const finish = () => {
    const done = cycle;
    cycle = null;
    if (done) handlers.resynced({ replayed: done.delivered, gap: done.gap });
  };

  const backfill = async (headSeq: number) => {
    sync.begin();
    if (cycle) cycle.gap = true;
    target = Math.max(target, headSeq);
    const dialog = dialogId;
    if (backfilling || dialog === null) return;
    backfilling = true;
    const started = generation;
    try {
      while (lastSeq < target) {
        const before = lastSeq;
        const page = await handlers.page(dialog, before);
        if (started !== generation) return;
        for (const message of page.messages) sync.accept(message);
        if (lastSeq === before || page.next_after_seq === null) break;
      }
    } catch (error) {
      if (started !== generation) return;
      // Not caught up: no `resynced`. The next resume or live jump tries again.
      backfilling = false;
      target = 0;
      cycle = null;
      handlers.failed(error);
      return;
    }
    backfilling = false;
    target = 0;
    finish();
  };

  const sync: DialogSync = {
    get dialogId() {
      return dialogId;
    },
    get lastSeq() {
      return lastSeq;
    },
    enter(id) {
      if (id === dialogId) return;
      sync.reset();
      dialogId = id;
    },
    reset() {
      generation += 1;
      dialogId = null;
      lastSeq = target = 0;
      early.clear();
      cycle = null;
      backfilling = false;
    },
    point: () => (dialogId === null ? undefined : { dialog_id: dialogId, after_seq: lastSeq }),
    begin() {
      cycle ??= { delivered: 0, gap: false };
    },
    interrupt() {
      if (!backfilling) cycle = null;
    },
    accept(message) {
      if (message.dialog_id !== dialogId || message.seq <= lastSeq) return;
      if (message.seq > lastSeq + 1) {
        if (early.size < EARLY_MAX) early.set(message.seq, message);
        // A live jump: some messages passed while this client was not listening.
        if (!cycle) void backfill(message.seq - 1);
        return;
      }
      push(message);
      for (let next = early.get(message.seq + 1); next; next = early.get(next.seq + 1)) {
        early.delete(next.seq);
        push(next);
      }
    },
    resumed(gap, headSeq) {
      sync.begin();
      if (gap) void backfill(headSeq);
      else if (!backfilling) finish();
    },
  };
  return sync;
}
