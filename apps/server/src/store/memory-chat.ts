/**
 * The chat half of the memory store (see memory.ts). Each method plans its whole change first
 * and refuses (throws) before writing anything, then applies it: the same all-or-nothing outcome
 * a database transaction gives, and nothing awaits in between, so calls never interleave.
 */
import {
  checkAppendInput,
  checkHandoffChange,
  checkLimit,
  checkSeqBound,
  systemInput,
} from './chat-rules.js';
import { clientMsgKey, type MemoryState, violated } from './memory-state.js';
import type {
  AppendInput,
  AppendResult,
  ChatStore,
  DialogRecord,
  IdleClosure,
  MessageRecord,
} from './types.js';

const activity = (d: DialogRecord): number => d.lastMessageAt ?? d.createdAt;
/** Ids are opaque ASCII, where this order is SQLite's BINARY collation. */
const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byId = (a: DialogRecord, b: DialogRecord): number => compareIds(a.id, b.id);

function toMessage(input: AppendInput, seq: number): MessageRecord {
  const { dialogId, id, clientMsgId, sender, senderId, text, ts } = input;
  return Object.freeze({ dialogId, seq, id, clientMsgId, sender, senderId, text, ts });
}

/** The chat methods over `state`; `guard` throws once the store is closed. */
export function memoryChatStore(state: MemoryState, guard: () => void): ChatStore {
  const updateDialog = (dialog: DialogRecord, change: Partial<DialogRecord>): DialogRecord => {
    const next = Object.freeze({ ...dialog, ...change });
    state.dialogs.set(dialog.id, next);
    if (next.state === 'closed') state.openDialogOf.delete(next.visitorId);
    return next;
  };

  /** Stores a planned message (its seq is its dialog's next) and moves the dialog's head. */
  const commit = (message: MessageRecord): void => {
    state.messages.get(message.dialogId)?.push(message);
    state.messageIds.add(message.id);
    if (message.clientMsgId !== null) state.byClientMsg.set(clientMsgKey(message), message);
    const dialog = state.dialogs.get(message.dialogId) as DialogRecord;
    const lastMessageAt = Math.max(dialog.lastMessageAt ?? message.ts, message.ts);
    updateDialog(dialog, { lastSeq: message.seq, lastMessageAt });
  };

  const refuseUsedIds = (ids: readonly string[]): void => {
    if (new Set(ids).size !== ids.length || ids.some((id) => state.messageIds.has(id))) {
      violated('messages.id');
    }
  };

  const deleteDialog = (dialog: DialogRecord): void => {
    state.dialogs.delete(dialog.id);
    state.messages.delete(dialog.id);
    if (state.openDialogOf.get(dialog.visitorId) === dialog.id) {
      state.openDialogOf.delete(dialog.visitorId);
    }
  };

  const deleteVisitor = (visitorId: string): void => {
    state.visitors.delete(visitorId);
    for (const family of state.families.values()) {
      if (family.visitorId !== visitorId) continue;
      state.families.delete(family.id);
      for (const [hash, token] of state.tokens) {
        if (token.familyId === family.id) state.tokens.delete(hash);
      }
    }
  };

  return {
    async appendMessages(batch) {
      guard();
      for (const input of batch) checkAppendInput(input);
      const heads = new Map<string, number>();
      const planned = new Map<string, MessageRecord>();
      const results = batch.map((input): AppendResult => {
        const dialog = state.dialogs.get(input.dialogId);
        if (!dialog) return { kind: 'not_found' };
        if (input.clientMsgId !== null) {
          const key = clientMsgKey(input);
          const original = state.byClientMsg.get(key) ?? planned.get(key);
          if (original) return { kind: 'duplicate', message: original };
        }
        if (dialog.state === 'closed') return { kind: 'dialog_closed' };
        const message = toMessage(input, (heads.get(dialog.id) ?? dialog.lastSeq) + 1);
        heads.set(dialog.id, message.seq);
        if (message.clientMsgId !== null) planned.set(clientMsgKey(message), message);
        return { kind: 'appended', message };
      });
      const appended = results.flatMap((r) => (r.kind === 'appended' ? [r.message] : []));
      refuseUsedIds(appended.map((message) => message.id));
      for (const message of appended) commit(message);
      return results;
    },

    async listMessages(dialogId, { afterSeq, beforeSeq, limit }) {
      guard();
      checkLimit(limit);
      checkSeqBound(afterSeq);
      checkSeqBound(beforeSeq);
      const all = state.messages.get(dialogId) ?? [];
      // Index i holds seq i + 1, so "seq < beforeSeq" is "index < beforeSeq - 1".
      const end = beforeSeq === undefined ? all.length : Math.max(0, beforeSeq - 1);
      if (afterSeq !== undefined) return all.slice(afterSeq, end).slice(0, limit);
      return limit === 0 ? [] : all.slice(0, end).slice(-limit);
    },

    async listOpenDialogs({ sites, limit }) {
      guard();
      checkLimit(limit);
      const inScope = (d: DialogRecord) => sites === '*' || sites.includes(d.siteId);
      return [...state.dialogs.values()]
        .filter((d) => d.state === 'open' && d.lastSeq > 0 && inScope(d))
        .sort((a, b) => (b.lastMessageAt ?? 0) - (a.lastMessageAt ?? 0) || byId(b, a))
        .slice(0, limit);
    },

    async listHeldDialogs(holderId) {
      guard();
      return [...state.dialogs.values()]
        .filter(
          (d) => d.handoff === 'operator' && (holderId === undefined || d.holder?.id === holderId),
        )
        .sort((a, b) => compareIds(a.holder?.id ?? '', b.holder?.id ?? '') || byId(a, b));
    },

    async setHandoff(dialogId, change, system) {
      guard();
      checkHandoffChange(change);
      const input = systemInput(dialogId, system);
      checkAppendInput(input);
      const dialog = state.dialogs.get(dialogId);
      if (!dialog) return { kind: 'not_found' };
      if (dialog.state === 'closed') return { kind: 'dialog_closed' };
      const holderMismatch =
        change.expectHolderId !== undefined && dialog.holder?.id !== change.expectHolderId;
      if (!change.from.includes(dialog.handoff) || holderMismatch) {
        return { kind: 'conflict', dialog };
      }
      refuseUsedIds([input.id]);
      const message = toMessage(input, dialog.lastSeq + 1);
      commit(message);
      const closing = change.to === 'closed';
      const holder =
        change.holder && Object.freeze({ id: change.holder.id, name: change.holder.name });
      const next = updateDialog(state.dialogs.get(dialogId) as DialogRecord, {
        handoff: change.to,
        holder,
        state: closing ? 'closed' : 'open',
      });
      return { kind: 'changed', dialog: next, message };
    },

    async closeIdleDialogs(idleSince, now, systemText, newId, limit) {
      guard();
      if (limit !== undefined) checkLimit(limit);
      if (!Number.isSafeInteger(now)) throw new TypeError('now must be an integer');
      const idle = [...state.dialogs.values()]
        .filter((d) => d.state === 'open' && activity(d) < idleSince)
        .sort((a, b) => activity(a) - activity(b) || byId(a, b))
        .slice(0, limit);
      const planned = idle.map((dialog) => ({
        dialog,
        message:
          dialog.lastSeq > 0
            ? toMessage(
                systemInput(dialog.id, { id: newId(), text: systemText, ts: now }),
                dialog.lastSeq + 1,
              )
            : null,
      }));
      refuseUsedIds(planned.flatMap((p) => (p.message ? [p.message.id] : [])));
      return planned.map(({ dialog, message }): IdleClosure => {
        if (message) commit(message);
        const current = state.dialogs.get(dialog.id) as DialogRecord;
        const closed = { state: 'closed', handoff: 'closed', holder: null } as const;
        return { dialog: updateDialog(current, closed), message };
      });
    },

    async purgeEmpty(olderThan) {
      guard();
      const dialogs = [...state.dialogs.values()];
      const kept = new Set(dialogs.filter((d) => d.lastSeq > 0).map((d) => d.visitorId));
      const visitors = [...state.visitors.values()]
        .filter((v) => v.createdAt < olderThan && !kept.has(v.id))
        .map((v) => v.id);
      const purgedVisitors = new Set(visitors);
      const emptyDialogs = dialogs.filter(
        (d) => d.lastSeq === 0 && (d.createdAt < olderThan || purgedVisitors.has(d.visitorId)),
      );
      for (const dialog of emptyDialogs) deleteDialog(dialog);
      for (const visitorId of visitors) deleteVisitor(visitorId);
      return { visitors: visitors.length, dialogs: emptyDialogs.length };
    },
  };
}
