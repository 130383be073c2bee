/**
 * Keeps the open dialog's messages filled from the history endpoint: the latest page when it
 * opens, earlier pages on request, and everything after the last held `seq` after a gap or a
 * reconnect (SPEC §4: a live `message` beyond `last + 1` is a client-side gap). Every await is
 * followed by a check that the same dialog is still open.
 */
import type { ChatMessage } from '@postern/protocol';
import { fetchHistoryWithToken, type HistoryQuery, type HistoryTokens } from './history.js';
import { contiguousUntil, firstSeq, lastSeq, type MessageLog } from './message-log.js';
import { historyErrorText } from './wording.js';

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export interface HistorySyncDeps {
  readonly serverOrigin: string;
  readonly tokens: HistoryTokens;
  readonly fetch: Fetch;
  /** The open dialog's log, read afresh after every await. */
  readonly getLog: () => MessageLog | null;
  /** Merges a page into the open log of `dialogId`. */
  readonly merge: (dialogId: string, messages: readonly ChatMessage[]) => void;
  /** A page could not be loaded; the text says why, in plain words. */
  readonly onProblem: (text: string) => void;
  /** Loading started or ended (for the view). */
  readonly onChange: () => void;
}

export interface HistorySync {
  /** Whether a page is loading for the open dialog. */
  readonly loading: boolean;
  latest(): Promise<void>;
  earlier(): Promise<void>;
  backfill(): Promise<void>;
}

/** Pages fetched by one backfill at most; the rest waits for the next gap or reconnect. */
export const BACKFILL_MAX_PAGES = 20;

export function createHistorySync(deps: HistorySyncDeps): HistorySync {
  let loadingFor: string | null = null;
  let backfillingFor: string | null = null;
  const openId = () => deps.getLog()?.dialogId ?? null;

  /** Loads one page into the open log; `false` when it failed or the dialog changed meanwhile. */
  async function loadInto(dialogId: string, query: HistoryQuery): Promise<number | null | false> {
    const result = await fetchHistoryWithToken(
      deps.fetch,
      deps.serverOrigin,
      deps.tokens,
      dialogId,
      query,
    ).catch(() => ({ ok: false, error: 'network' }) as const);
    if (openId() !== dialogId) return false;
    if (!result.ok) {
      deps.onProblem(historyErrorText(result.error));
      return false;
    }
    deps.merge(dialogId, result.page.messages);
    return result.page.next_after_seq;
  }

  /** One page, shown as loading meanwhile. */
  async function loadShown(dialogId: string, query: HistoryQuery): Promise<void> {
    loadingFor = dialogId;
    deps.onChange();
    await loadInto(dialogId, query);
    if (loadingFor === dialogId) loadingFor = null;
    deps.onChange();
  }

  return {
    get loading() {
      return loadingFor !== null && loadingFor === openId();
    },
    async latest() {
      const dialogId = openId();
      if (dialogId !== null) await loadShown(dialogId, { kind: 'latest' });
    },
    async earlier() {
      const log = deps.getLog();
      const first = log ? firstSeq(log) : null;
      if (log === null || first === null || first <= 1 || loadingFor === log.dialogId) return;
      await loadShown(log.dialogId, { kind: 'before', seq: first });
    },
    async backfill() {
      const log = deps.getLog();
      if (log === null || backfillingFor === log.dialogId) return;
      const { dialogId } = log;
      if (lastSeq(log) === 0) return loadShown(dialogId, { kind: 'latest' });
      backfillingFor = dialogId;
      try {
        for (let page = 0; page < BACKFILL_MAX_PAGES; page++) {
          const current = deps.getLog();
          if (current === null || current.dialogId !== dialogId) break;
          const from = contiguousUntil(current);
          const next = await loadInto(dialogId, { kind: 'after', seq: from });
          // Done when the server has nothing newer, or the page did not move us on.
          if (
            next === null ||
            next === false ||
            contiguousUntil(deps.getLog() ?? current) === from
          ) {
            break;
          }
        }
      } finally {
        if (backfillingFor === dialogId) backfillingFor = null;
      }
      deps.onChange();
    },
  };
}
