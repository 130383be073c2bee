import type { DialogSummary } from '@postern/protocol';
import { describe, expect, it } from 'vitest';
import {
  type DialogListEvent,
  type DialogListState,
  dialogRows,
  emptyDialogList,
  reduceDialogList,
  SEEN_MAX,
} from '../../console/src/dialog-list.js';

function dialog(id: string, overrides: Partial<DialogSummary> = {}): DialogSummary {
  return {
    dialog_id: id,
    site_id: 'demo-shop',
    state: 'open',
    handoff: { state: 'assistant' },
    last_seq: 1,
    last_message_at: 1_000,
    created_at: 500,
    ...overrides,
  };
}

function reduceAll(events: readonly DialogListEvent[], start = emptyDialogList): DialogListState {
  return events.reduce(reduceDialogList, start);
}

const ids = (state: DialogListState) => dialogRows(state).map((row) => row.dialog_id);

describe('reduceDialogList', () => {
  it('builds the list from the snapshot and applies later changes in place', () => {
    const state = reduceAll([
      { type: 'dialog', dialog: dialog('a') },
      { type: 'dialog', dialog: dialog('b') },
      { type: 'dialog', dialog: dialog('a', { last_seq: 4, handoff: { state: 'requested' } }) },
    ]);
    expect(state.dialogs.size).toBe(2);
    expect(state.dialogs.get('a')).toMatchObject({ last_seq: 4, handoff: { state: 'requested' } });
  });

  it('drops a dialog once it is closed, with its seen marker', () => {
    const state = reduceAll([
      { type: 'dialog', dialog: dialog('a') },
      { type: 'seen', dialogId: 'a', seq: 1 },
      { type: 'dialog', dialog: dialog('a', { state: 'closed', handoff: { state: 'closed' } }) },
    ]);
    expect(state.dialogs.has('a')).toBe(false);
    expect(state.seen.has('a')).toBe(false);
  });

  it('ignores a close of a dialog it never listed', () => {
    const before = reduceAll([{ type: 'dialog', dialog: dialog('a') }]);
    const after = reduceDialogList(before, {
      type: 'dialog',
      dialog: dialog('z', { state: 'closed' }),
    });
    expect(after).toBe(before);
  });

  it('empties the list on reset (a new snapshot follows ready) but keeps what was seen', () => {
    const state = reduceAll([
      { type: 'dialog', dialog: dialog('a', { last_seq: 3 }) },
      { type: 'seen', dialogId: 'a', seq: 3 },
      { type: 'truncated' },
      { type: 'reset' },
    ]);
    expect(state.dialogs.size).toBe(0);
    expect(state.truncated).toBe(false);
    const again = reduceDialogList(state, { type: 'dialog', dialog: dialog('a', { last_seq: 3 }) });
    expect(dialogRows(again)[0]?.unread).toBe(false);
  });

  it('records dialogs_truncated once', () => {
    const once = reduceAll([{ type: 'truncated' }]);
    expect(once.truncated).toBe(true);
    expect(reduceDialogList(once, { type: 'truncated' })).toBe(once);
  });

  it('marks a dialog unread while its last_seq is above what was seen', () => {
    let state = reduceAll([{ type: 'dialog', dialog: dialog('a', { last_seq: 2 }) }]);
    expect(dialogRows(state)[0]?.unread).toBe(true);
    state = reduceDialogList(state, { type: 'seen', dialogId: 'a', seq: 2 });
    expect(dialogRows(state)[0]?.unread).toBe(false);
    state = reduceDialogList(state, { type: 'dialog', dialog: dialog('a', { last_seq: 3 }) });
    expect(dialogRows(state)[0]?.unread).toBe(true);
  });

  it('never moves seen backwards', () => {
    const state = reduceAll([{ type: 'seen', dialogId: 'a', seq: 5 }]);
    expect(reduceDialogList(state, { type: 'seen', dialogId: 'a', seq: 2 })).toBe(state);
    expect(state.seen.get('a')).toBe(5);
  });

  it('keeps at most SEEN_MAX seen markers, forgetting the least recently seen', () => {
    let state = emptyDialogList;
    for (let i = 0; i <= SEEN_MAX; i++) {
      state = reduceDialogList(state, { type: 'seen', dialogId: `d${i}`, seq: 1 });
    }
    expect(state.seen.size).toBe(SEEN_MAX);
    expect(state.seen.has('d0')).toBe(false);
    expect(state.seen.has(`d${SEEN_MAX}`)).toBe(true);
  });
});

describe('dialogRows', () => {
  it('puts dialogs waiting for a person first, then the latest activity', () => {
    const state = reduceAll([
      { type: 'dialog', dialog: dialog('old', { last_message_at: 1_000 }) },
      { type: 'dialog', dialog: dialog('new', { last_message_at: 3_000 }) },
      {
        type: 'dialog',
        dialog: dialog('waiting', { last_message_at: 500, handoff: { state: 'requested' } }),
      },
    ]);
    expect(ids(state)).toEqual(['waiting', 'new', 'old']);
  });

  it('orders ties stably by creation, then id', () => {
    const state = reduceAll([
      { type: 'dialog', dialog: dialog('b', { created_at: 1 }) },
      { type: 'dialog', dialog: dialog('a', { created_at: 1 }) },
      { type: 'dialog', dialog: dialog('c', { created_at: 2 }) },
    ]);
    expect(ids(state)).toEqual(['c', 'a', 'b']);
  });
});
