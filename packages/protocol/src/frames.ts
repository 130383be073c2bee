/**
 * Frame types for both directions (SPEC §4). Every frame is one JSON object in one text frame,
 * discriminated by `type`. Times (`*_at`, `ts`, `server_time`) are integer milliseconds since the
 * Unix epoch; durations end in `_ms`.
 */

// ---------------------------------------------------------------------------------------------
// Client → server
// ---------------------------------------------------------------------------------------------

/** Where a reconnecting client left off in a dialog. */
export interface ResumePoint {
  readonly dialog_id: string;
  /** Last `seq` the client holds; 0 when it holds none. */
  readonly after_seq: number;
}

export interface AuthFrame {
  readonly type: 'auth';
  readonly token: string;
  readonly resume?: ResumePoint;
}

export interface RefreshFrame {
  readonly type: 'refresh';
  readonly token: string;
}

export interface PongFrame {
  readonly type: 'pong';
  readonly id: number;
}

export interface SendFrame {
  readonly type: 'send';
  readonly dialog_id: string;
  /** A UUID chosen by the client; makes `send` idempotent. */
  readonly client_msg_id: string;
  /** Already trimmed by the validator. */
  readonly text: string;
}

export type TypingState = 'start' | 'stop';

export interface ClientTypingFrame {
  readonly type: 'typing';
  readonly dialog_id: string;
  readonly state: TypingState;
}

export interface ResumeFrame extends ResumePoint {
  readonly type: 'resume';
}

/** `request` is the visitor's; `take`, `release` and `close` are the operator's. */
export type HandoffAction = 'request' | 'take' | 'release' | 'close';

export interface HandoffActionFrame {
  readonly type: 'handoff';
  readonly dialog_id: string;
  readonly action: HandoffAction;
}

export interface SubscribeFrame {
  readonly type: 'subscribe';
  readonly dialog_id: string;
}

export interface UnsubscribeFrame {
  readonly type: 'unsubscribe';
  readonly dialog_id: string;
}

export type ClientFrame =
  | AuthFrame
  | RefreshFrame
  | PongFrame
  | SendFrame
  | ClientTypingFrame
  | ResumeFrame
  | HandoffActionFrame
  | SubscribeFrame
  | UnsubscribeFrame;

export type ClientFrameType = ClientFrame['type'];

// ---------------------------------------------------------------------------------------------
// Server → client
// ---------------------------------------------------------------------------------------------

export type Sender = 'visitor' | 'assistant' | 'operator' | 'system';

/** Who is answering a dialog. */
export type HandoffState = 'assistant' | 'requested' | 'operator' | 'closed';

export interface OperatorRef {
  readonly name: string;
}

export interface HandoffStatus {
  readonly state: HandoffState;
  readonly operator?: OperatorRef;
}

export interface ReadyFrame {
  readonly type: 'ready';
  /** For correlating logs only. */
  readonly session_id: string;
  readonly server_time: number;
  readonly ping_interval_ms: number;
  readonly token_expires_at: number;
  /** Widget connections only. */
  readonly visitor_id?: string;
  readonly dialog_id?: string;
  readonly last_seq?: number;
  readonly handoff?: HandoffStatus;
}

export interface PingFrame {
  readonly type: 'ping';
  readonly id: number;
}

export interface RefreshRequiredFrame {
  readonly type: 'refresh_required';
  readonly expires_at: number;
}

export interface RefreshedFrame {
  readonly type: 'refreshed';
  readonly token_expires_at: number;
}

/** A stored chat message; history pages carry exactly these fields (without `type`). */
export interface ChatMessage {
  readonly dialog_id: string;
  /** Per dialog, from 1, without gaps, assigned by the server. */
  readonly seq: number;
  readonly id: string;
  readonly client_msg_id?: string;
  readonly sender: Sender;
  readonly text: string;
  readonly ts: number;
}

export interface MessageFrame extends ChatMessage {
  readonly type: 'message';
}

export interface AckFrame {
  readonly type: 'ack';
  readonly client_msg_id: string;
  readonly id: string;
  readonly seq: number;
}

export interface ServerTypingFrame {
  readonly type: 'typing';
  readonly dialog_id: string;
  readonly sender: Sender;
  readonly state: TypingState;
}

export interface HandoffFrame {
  readonly type: 'handoff';
  readonly dialog_id: string;
  readonly state: HandoffState;
  readonly operator?: OperatorRef;
}

export interface ResumedFrame {
  readonly type: 'resumed';
  readonly dialog_id: string;
  readonly replayed: number;
  /** More messages exist than were replayed: page the history up to `head_seq`. */
  readonly gap: boolean;
  readonly head_seq: number;
  readonly next_after_seq?: number;
}

export type DialogState = 'open' | 'closed';

/** Operators' view of a dialog: metadata, never text. */
export interface DialogSummary {
  readonly dialog_id: string;
  readonly site_id: string;
  readonly state: DialogState;
  readonly handoff: HandoffStatus;
  readonly last_seq: number;
  readonly last_message_at: number;
  readonly created_at: number;
}

export interface DialogFrame extends DialogSummary {
  readonly type: 'dialog';
}

/** Sent once after the snapshot when more open dialogs exist than the snapshot holds. */
export interface DialogsTruncatedFrame {
  readonly type: 'dialogs_truncated';
}

/** Why one frame was refused; the socket stays open. */
export type FrameErrorCode =
  | 'invalid'
  | 'rate_limited'
  | 'not_found'
  | 'forbidden'
  | 'conflict'
  | 'not_holder'
  | 'dialog_closed'
  | 'limit';

export interface ErrorFrame {
  readonly type: 'error';
  readonly code: FrameErrorCode;
  /** The refused frame's `client_msg_id` for `send`, else its `dialog_id`. */
  readonly ref?: string;
}

export type ServerFrame =
  | ReadyFrame
  | PingFrame
  | RefreshRequiredFrame
  | RefreshedFrame
  | MessageFrame
  | AckFrame
  | ServerTypingFrame
  | HandoffFrame
  | ResumedFrame
  | DialogFrame
  | DialogsTruncatedFrame
  | ErrorFrame;

export type ServerFrameType = ServerFrame['type'];
