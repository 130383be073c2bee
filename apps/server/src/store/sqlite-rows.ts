/** Row shapes of the SQLite store and their mapping to records. */
import type {
  DialogRecord,
  HandoffState,
  MessageRecord,
  MessageSender,
  SiteTokenRecord,
} from './types.js';

export const DIALOG_COLUMNS = [
  'id, visitor_id, site_id, state, created_at',
  'last_seq, last_message_at, handoff_state, holder_id, holder_name',
].join(', ');

export const MESSAGE_COLUMNS = 'dialog_id, seq, id, client_msg_id, sender, sender_id, text, ts';

export const SITE_TOKEN_COLUMNS = 'jti, site_id, allowed_domains, assistant_id, expires_at';

export interface SiteTokenRow {
  jti: string;
  site_id: string;
  allowed_domains: string;
  assistant_id: string;
  expires_at: number | null;
}

export interface DialogRow {
  id: string;
  visitor_id: string;
  site_id: string;
  state: 'open' | 'closed';
  created_at: number;
  last_seq: number;
  last_message_at: number | null;
  handoff_state: HandoffState;
  holder_id: string | null;
  holder_name: string | null;
}

export interface MessageRow {
  dialog_id: string;
  seq: number;
  id: string;
  client_msg_id: string | null;
  sender: MessageSender;
  sender_id: string | null;
  text: string;
  ts: number;
}

export function toDialog(row: DialogRow): DialogRecord {
  return {
    id: row.id,
    visitorId: row.visitor_id,
    siteId: row.site_id,
    state: row.state,
    createdAt: row.created_at,
    lastSeq: row.last_seq,
    lastMessageAt: row.last_message_at,
    handoff: row.handoff_state,
    holder:
      row.holder_id === null ? null : { id: row.holder_id, name: row.holder_name ?? row.holder_id },
  };
}

export function toMessage(row: MessageRow): MessageRecord {
  return {
    dialogId: row.dialog_id,
    seq: row.seq,
    id: row.id,
    clientMsgId: row.client_msg_id,
    sender: row.sender,
    senderId: row.sender_id,
    text: row.text,
    ts: row.ts,
  };
}

/** The parameters inserting `message`, in `MESSAGE_COLUMNS` order. */
export function messageParams(message: MessageRecord): unknown[] {
  const { dialogId, seq, id, clientMsgId, sender, senderId, text, ts } = message;
  return [dialogId, seq, id, clientMsgId, sender, senderId, text, ts];
}

export function toSiteToken(row: SiteTokenRow): SiteTokenRecord {
  return {
    jti: row.jti,
    siteId: row.site_id,
    allowedDomains: JSON.parse(row.allowed_domains) as string[],
    assistantId: row.assistant_id,
    expiresAt: row.expires_at,
  };
}
