/**
 * The chat half of the SQLite store: messages with per-dialog gapless seqs, history pages,
 * operator listings, the handoff compare-and-set, idle close and the purge of empty data.
 * Every method is one transaction; better-sqlite3 runs it synchronously, so none interleave.
 */
import type Database from 'better-sqlite3';
import {
  checkAppendInput,
  checkHandoffChange,
  checkLimit,
  checkSeqBound,
  systemInput,
} from './chat-rules.js';
import {
  DIALOG_COLUMNS,
  type DialogRow,
  MESSAGE_COLUMNS,
  type MessageRow,
  messageParams,
  toDialog,
  toMessage,
} from './sqlite-rows.js';
import type {
  AppendInput,
  AppendResult,
  ChatStore,
  DialogRecord,
  HandoffChange,
  HandoffResult,
  IdleClosure,
  MessageRecord,
  SystemMessage,
} from './types.js';

/** Larger than any seq: the open upper bound of a page. */
const NO_BOUND = Number.MAX_SAFE_INTEGER;
const ACTIVE = `state = 'open' AND last_seq > 0`;
const ACTIVITY = 'coalesce(last_message_at, created_at)';

/** The chat SQL, by statement (exported so a test can check every plan uses an index). */
export const CHAT_SQL = {
  findDialog: `SELECT ${DIALOG_COLUMNS} FROM dialogs WHERE id = ?`,
  findByClientMsg: `SELECT ${MESSAGE_COLUMNS} FROM messages
    WHERE dialog_id = ? AND sender = ? AND sender_id = ? AND client_msg_id = ?`,
  insertMessage: `INSERT INTO messages (${MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  // last_message_at never moves back, whatever the callers' clocks do.
  advanceDialog: `UPDATE dialogs
    SET last_seq = @seq, last_message_at = max(coalesce(last_message_at, @ts), @ts) WHERE id = @id`,
  pageAfter: `SELECT ${MESSAGE_COLUMNS} FROM messages
    WHERE dialog_id = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?`,
  pageBefore: `SELECT * FROM (
      SELECT ${MESSAGE_COLUMNS} FROM messages
      WHERE dialog_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?)
    ORDER BY seq`,
  activeAll: `SELECT ${DIALOG_COLUMNS} FROM dialogs
    WHERE ${ACTIVE} ORDER BY last_message_at DESC, id DESC LIMIT ?`,
  activeInSites: `SELECT ${DIALOG_COLUMNS} FROM dialogs
    WHERE ${ACTIVE} AND site_id IN (SELECT value FROM json_each(?))
    ORDER BY last_message_at DESC, id DESC LIMIT ?`,
  heldAll: `SELECT ${DIALOG_COLUMNS} FROM dialogs
    WHERE handoff_state = 'operator' ORDER BY holder_id, id`,
  heldBy: `SELECT ${DIALOG_COLUMNS} FROM dialogs
    WHERE handoff_state = 'operator' AND holder_id = ? ORDER BY id`,
  setHandoff: `UPDATE dialogs
    SET handoff_state = ?, holder_id = ?, holder_name = ?, state = ?, closed_at = ? WHERE id = ?`,
  idle: `SELECT ${DIALOG_COLUMNS} FROM dialogs
    WHERE state = 'open' AND ${ACTIVITY} < ? ORDER BY ${ACTIVITY}, id LIMIT ?`,
  close: `UPDATE dialogs
    SET state = 'closed', handoff_state = 'closed', holder_id = NULL, holder_name = NULL,
        closed_at = ?
    WHERE id = ?`,
  purgeOldEmptyDialogs: 'DELETE FROM dialogs WHERE last_seq = 0 AND created_at < @olderThan',
  // Visitors created before @olderThan with no dialog holding messages: first their (recent,
  // empty) dialogs, so the count is exact, then themselves; families and tokens go by cascade.
  // This walks every visitor older than the cut, kept ones included (one index probe each).
  purgeDialogsOfEmptyVisitors: `DELETE FROM dialogs WHERE last_seq = 0 AND visitor_id IN (
      SELECT id FROM visitors v WHERE v.created_at < @olderThan AND NOT EXISTS (
        SELECT 1 FROM dialogs d WHERE d.visitor_id = v.id AND d.last_seq > 0))`,
  purgeEmptyVisitors: `DELETE FROM visitors WHERE created_at < @olderThan AND NOT EXISTS (
      SELECT 1 FROM dialogs d WHERE d.visitor_id = visitors.id AND d.last_seq > 0)`,
} as const;

type ChatStatements = { readonly [K in keyof typeof CHAT_SQL]: Database.Statement };

function prepareStatements(db: Database.Database): ChatStatements {
  const entries = Object.entries(CHAT_SQL).map(([name, sql]) => [name, db.prepare(sql)]);
  return Object.fromEntries(entries) as ChatStatements;
}

/** The chat methods over `db`; `guard` throws once the store is closed. */
export function sqliteChatStore(db: Database.Database, guard: () => void): ChatStore {
  const s = prepareStatements(db);

  const findDialog = (id: string): DialogRecord | null => {
    const row = s.findDialog.get(id) as DialogRow | undefined;
    return row ? toDialog(row) : null;
  };

  /** Stores `input` as message `seq` of its dialog; moving the dialog's head is the caller's. */
  const insertAt = (input: AppendInput, seq: number): MessageRecord => {
    const { dialogId, id, clientMsgId, sender, senderId, text, ts } = input;
    const message = { dialogId, seq, id, clientMsgId, sender, senderId, text, ts };
    s.insertMessage.run(...messageParams(message));
    return message;
  };

  /** Stores `input` as the message after `lastSeq` of its (open, existing) dialog. */
  const insertAfter = (input: AppendInput, lastSeq: number): MessageRecord => {
    const message = insertAt(input, lastSeq + 1);
    s.advanceDialog.run({ seq: message.seq, ts: message.ts, id: message.dialogId });
    return message;
  };

  /** A dialog's head while a batch is appended: its row as read, and what the batch added. */
  interface BatchHead {
    readonly row: DialogRow | undefined;
    lastSeq: number;
    maxTs: number;
  }

  // Each dialog is read once per batch and its head written once at the end: the UPDATE
  // rewrites four dialog indexes, and a batch often holds several messages of one dialog.
  const appendBatch = db.transaction((batch: readonly AppendInput[]) => {
    const heads = new Map<string, BatchHead>();
    const results = batch.map((input): AppendResult => {
      let head = heads.get(input.dialogId);
      if (!head) {
        const row = s.findDialog.get(input.dialogId) as DialogRow | undefined;
        head = { row, lastSeq: row?.last_seq ?? 0, maxTs: Number.NEGATIVE_INFINITY };
        heads.set(input.dialogId, head);
      }
      const { row } = head;
      if (!row) return { kind: 'not_found' };
      if (input.clientMsgId !== null) {
        // Rows inserted earlier in this transaction are visible here: a repeat within one batch
        // is a duplicate of the first, as across batches.
        const { dialogId, sender, senderId, clientMsgId } = input;
        const original = s.findByClientMsg.get(dialogId, sender, senderId, clientMsgId);
        if (original) return { kind: 'duplicate', message: toMessage(original as MessageRow) };
      }
      if (row.state === 'closed') return { kind: 'dialog_closed' };
      const message = insertAt(input, head.lastSeq + 1);
      head.lastSeq = message.seq;
      head.maxTs = Math.max(head.maxTs, message.ts);
      return { kind: 'appended', message };
    });
    // advanceDialog keeps last_message_at from moving back, so the batch's latest ts is enough.
    for (const [id, head] of heads) {
      if (head.row && head.lastSeq > head.row.last_seq) {
        s.advanceDialog.run({ seq: head.lastSeq, ts: head.maxTs, id });
      }
    }
    return results;
  });

  const setHandoff = db.transaction(
    (dialogId: string, change: HandoffChange, system: SystemMessage): HandoffResult => {
      const dialog = findDialog(dialogId);
      if (!dialog) return { kind: 'not_found' };
      if (dialog.state === 'closed') return { kind: 'dialog_closed' };
      const holderMismatch =
        change.expectHolderId !== undefined && dialog.holder?.id !== change.expectHolderId;
      if (!change.from.includes(dialog.handoff) || holderMismatch) {
        return { kind: 'conflict', dialog };
      }
      const message = insertAfter(systemInput(dialogId, system), dialog.lastSeq);
      const closing = change.to === 'closed';
      const { holder } = change;
      s.setHandoff.run(
        change.to,
        holder?.id ?? null,
        holder?.name ?? null,
        closing ? 'closed' : 'open',
        closing ? system.ts : null,
        dialogId,
      );
      return { kind: 'changed', dialog: findDialog(dialogId) as DialogRecord, message };
    },
  );

  const closeIdle = db.transaction(
    (idleSince: number, now: number, text: string, newId: () => string, limit: number) => {
      const rows = s.idle.all(idleSince, limit) as DialogRow[];
      return rows.map((row): IdleClosure => {
        const message =
          row.last_seq > 0
            ? insertAfter(systemInput(row.id, { id: newId(), text, ts: now }), row.last_seq)
            : null;
        s.close.run(now, row.id);
        return { dialog: findDialog(row.id) as DialogRecord, message };
      });
    },
  );

  const purge = db.transaction((olderThan: number) => {
    const cut = { olderThan };
    const dialogs =
      s.purgeOldEmptyDialogs.run(cut).changes + s.purgeDialogsOfEmptyVisitors.run(cut).changes;
    const visitors = s.purgeEmptyVisitors.run(cut).changes;
    return { visitors, dialogs };
  });

  return {
    async appendMessages(batch) {
      guard();
      for (const input of batch) checkAppendInput(input);
      return batch.length === 0 ? [] : appendBatch(batch);
    },
    async listMessages(dialogId, { afterSeq, beforeSeq, limit }) {
      guard();
      checkLimit(limit);
      checkSeqBound(afterSeq);
      checkSeqBound(beforeSeq);
      const rows =
        afterSeq === undefined
          ? s.pageBefore.all(dialogId, beforeSeq ?? NO_BOUND, limit)
          : s.pageAfter.all(dialogId, afterSeq, beforeSeq ?? NO_BOUND, limit);
      return (rows as MessageRow[]).map(toMessage);
    },
    async listOpenDialogs({ sites, limit }) {
      guard();
      checkLimit(limit);
      const rows =
        sites === '*' ? s.activeAll.all(limit) : s.activeInSites.all(JSON.stringify(sites), limit);
      return (rows as DialogRow[]).map(toDialog);
    },
    async listHeldDialogs(holderId) {
      guard();
      const rows = holderId === undefined ? s.heldAll.all() : s.heldBy.all(holderId);
      return (rows as DialogRow[]).map(toDialog);
    },
    async setHandoff(dialogId, change, system) {
      guard();
      checkHandoffChange(change);
      checkAppendInput(systemInput(dialogId, system));
      return setHandoff(dialogId, change, system);
    },
    async closeIdleDialogs(idleSince, now, systemText, newId, limit) {
      guard();
      if (limit !== undefined) checkLimit(limit);
      if (!Number.isSafeInteger(now)) throw new TypeError('now must be an integer');
      return closeIdle(idleSince, now, systemText, newId, limit ?? -1);
    },
    async purgeEmpty(olderThan) {
      guard();
      return purge(olderThan);
    },
  };
}
