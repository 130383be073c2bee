/**
 * The console's list of live dialogs, as pure state: built from the `dialog` snapshot that
 * follows every `ready` and kept current by the `dialog` changes after it (SPEC §4). Unread is
 * "the dialog's `last_seq` is above what this operator has seen".
 */
import type { DialogSummary } from '@postern/protocol';

export interface DialogListState {
  /** Open dialogs by id. */
  readonly dialogs: ReadonlyMap<string, DialogSummary>;
  /** Highest `seq` the operator has seen, per dialog; survives reconnects (bounded). */
  readonly seen: ReadonlyMap<string, number>;
  /** The server had more open dialogs than its snapshot carries (`dialogs_truncated`). */
  readonly truncated: boolean;
}

export type DialogListEvent =
  /** A new `ready`: the server sends a fresh snapshot next, so the old list is dropped. */
  | { readonly type: 'reset' }
  | { readonly type: 'dialog'; readonly dialog: DialogSummary }
  | { readonly type: 'truncated' }
  | { readonly type: 'seen'; readonly dialogId: string; readonly seq: number };

/** A row of the list. */
export interface DialogRow extends DialogSummary {
  readonly unread: boolean;
}

/** Most `seen` entries kept; the oldest are forgotten first (a forgotten dialog reads unread). */
export const SEEN_MAX = 2_000;

export const emptyDialogList: DialogListState = Object.freeze({
  dialogs: new Map(),
  seen: new Map(),
  truncated: false,
});

function withSeen(
  seen: ReadonlyMap<string, number>,
  dialogId: string,
  seq: number,
): ReadonlyMap<string, number> {
  const previous = seen.get(dialogId) ?? 0;
  if (seq <= previous) return seen;
  const next = new Map(seen);
  // Re-inserted at the end: the map's order is least recently seen first.
  next.delete(dialogId);
  next.set(dialogId, seq);
  for (const key of next.keys()) {
    if (next.size <= SEEN_MAX) break;
    next.delete(key);
  }
  return next;
}

/** Applies one event; returns the same state object when nothing changed. */
export function reduceDialogList(state: DialogListState, event: DialogListEvent): DialogListState {
  switch (event.type) {
    case 'reset':
      if (state.dialogs.size === 0 && !state.truncated) return state;
      return { dialogs: new Map(), seen: state.seen, truncated: false };
    case 'truncated':
      return state.truncated ? state : { ...state, truncated: true };
    case 'seen': {
      const seen = withSeen(state.seen, event.dialogId, event.seq);
      return seen === state.seen ? state : { ...state, seen };
    }
    case 'dialog': {
      const { dialog } = event;
      const dialogs = new Map(state.dialogs);
      if (dialog.state === 'closed') {
        // A closed dialog leaves the live list; nothing more will happen in it.
        if (!dialogs.delete(dialog.dialog_id)) return state;
        const seen = new Map(state.seen);
        seen.delete(dialog.dialog_id);
        return { ...state, dialogs, seen };
      }
      dialogs.set(dialog.dialog_id, dialog);
      return { ...state, dialogs };
    }
  }
}

/** Whether the operator has not seen the dialog's latest message. */
export function isUnread(state: DialogListState, dialog: DialogSummary): boolean {
  return dialog.last_seq > (state.seen.get(dialog.dialog_id) ?? 0);
}

/**
 * Rows to show: dialogs waiting for a person (`requested`) first, then by latest activity; ties
 * by creation, then id, so the order is stable.
 */
export function dialogRows(state: DialogListState): DialogRow[] {
  const waiting = (dialog: DialogSummary) => (dialog.handoff.state === 'requested' ? 0 : 1);
  return [...state.dialogs.values()]
    .sort(
      (a, b) =>
        waiting(a) - waiting(b) ||
        b.last_message_at - a.last_message_at ||
        b.created_at - a.created_at ||
        (a.dialog_id < b.dialog_id ? -1 : a.dialog_id > b.dialog_id ? 1 : 0),
    )
    .map((dialog) => ({ ...dialog, unread: isUnread(state, dialog) }));
}
