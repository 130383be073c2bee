/** Store records as the frames clients see (SPEC §4): the one place the wire shape is built. */
import type { DialogFrame, HandoffFrame, HandoffStatus, MessageFrame } from '@postern/protocol';
import type { DialogRecord, MessageRecord } from '../store/types.js';

export function messageFrame(message: MessageRecord): MessageFrame {
  return {
    type: 'message',
    dialog_id: message.dialogId,
    seq: message.seq,
    id: message.id,
    ...(message.clientMsgId === null ? {} : { client_msg_id: message.clientMsgId }),
    sender: message.sender,
    text: message.text,
    ts: message.ts,
  };
}

/** The handoff status of a dialog, with the holder's display name when an operator holds it. */
export function handoffStatus(dialog: DialogRecord): HandoffStatus {
  return dialog.handoff === 'operator' && dialog.holder
    ? { state: dialog.handoff, operator: { name: dialog.holder.name } }
    : { state: dialog.handoff };
}

export function handoffFrame(dialog: DialogRecord): HandoffFrame {
  return { type: 'handoff', dialog_id: dialog.id, ...handoffStatus(dialog) };
}

/** Operators' view of a dialog: metadata only, never text. */
export function dialogFrame(dialog: DialogRecord): DialogFrame {
  return {
    type: 'dialog',
    dialog_id: dialog.id,
    site_id: dialog.siteId,
    state: dialog.state,
    handoff: handoffStatus(dialog),
    last_seq: dialog.lastSeq,
    last_message_at: dialog.lastMessageAt ?? dialog.createdAt,
    created_at: dialog.createdAt,
  };
}
