/**
 * Validation of server → client frames, for clients: a client trusts the server's authority but
 * not the bytes on the wire (a proxy, a bug or a newer server may send anything). Unknown types
 * are reported as such so clients can ignore them (forward compatibility); known types with bad
 * fields are protocol violations. Unknown extra fields are dropped.
 */
import {
  FieldProblem,
  type FieldRule,
  isRawObject,
  optional,
  type RawObject,
  readBoolean,
  readCount,
  readEnum,
  readId,
  readObject,
  readString,
  readUuid,
} from './fields.js';
import type {
  ChatMessage,
  DialogState,
  FrameErrorCode,
  HandoffState,
  HandoffStatus,
  OperatorRef,
  Sender,
  ServerFrame,
  ServerFrameType,
  TypingState,
} from './frames.js';
import { ID_MAX_LENGTH, OPERATOR_NAME_MAX } from './limits.js';

export type ServerFrameResult =
  | { readonly ok: true; readonly frame: ServerFrame }
  | { readonly ok: false; readonly problem: 'not_json' | 'not_object' | 'unknown_type' }
  | {
      readonly ok: false;
      readonly problem: 'invalid';
      readonly field: string;
      readonly rule: FieldRule;
    };

export const SENDERS: readonly Sender[] = Object.freeze([
  'visitor',
  'assistant',
  'operator',
  'system',
]);
export const HANDOFF_STATES: readonly HandoffState[] = Object.freeze([
  'assistant',
  'requested',
  'operator',
  'closed',
]);
export const FRAME_ERROR_CODES: readonly FrameErrorCode[] = Object.freeze([
  'invalid',
  'rate_limited',
  'not_found',
  'forbidden',
  'conflict',
  'not_holder',
  'dialog_closed',
  'limit',
]);
const TYPING_STATES: readonly TypingState[] = ['start', 'stop'];
const DIALOG_STATES: readonly DialogState[] = ['open', 'closed'];
const SESSION_ID_MAX = 128;

/** Copies `key` into `target` when present, so optional fields stay absent, not `undefined`. */
function withOptional<T extends object, K extends string, V>(
  target: T,
  key: K,
  value: V | undefined,
): T & { [P in K]?: V } {
  return value === undefined ? target : { ...target, [key]: value };
}

function readOperator(raw: RawObject, key: string): OperatorRef {
  return { name: readString(readObject(raw, key), 'name', OPERATOR_NAME_MAX) };
}

function readHandoffStatus(raw: RawObject, key: string): HandoffStatus {
  const object = readObject(raw, key);
  const status = { state: readEnum(object, 'state', HANDOFF_STATES) };
  return withOptional(status, 'operator', optional(object, 'operator', readOperator));
}

/**
 * One stored message: the fields of the `message` frame without `type`; also the shape of
 * history-page items.
 */
export function readChatMessage(raw: RawObject): ChatMessage {
  const message = {
    dialog_id: readId(raw, 'dialog_id'),
    seq: readCount(raw, 'seq'),
    id: readId(raw, 'id'),
    sender: readEnum(raw, 'sender', SENDERS),
    text: readString(raw, 'text'),
    ts: readCount(raw, 'ts'),
  };
  return withOptional(message, 'client_msg_id', optional(raw, 'client_msg_id', readUuid));
}

const READERS: { readonly [T in ServerFrameType]: (raw: RawObject) => ServerFrame } = {
  ready(raw) {
    let frame: ServerFrame & { type: 'ready' } = {
      type: 'ready',
      session_id: readString(raw, 'session_id', SESSION_ID_MAX),
      server_time: readCount(raw, 'server_time'),
      ping_interval_ms: readCount(raw, 'ping_interval_ms'),
      token_expires_at: readCount(raw, 'token_expires_at'),
    };
    frame = withOptional(frame, 'visitor_id', optional(raw, 'visitor_id', readId));
    frame = withOptional(frame, 'dialog_id', optional(raw, 'dialog_id', readId));
    frame = withOptional(frame, 'last_seq', optional(raw, 'last_seq', readCount));
    return withOptional(frame, 'handoff', optional(raw, 'handoff', readHandoffStatus));
  },
  ping: (raw) => ({ type: 'ping', id: readCount(raw, 'id') }),
  refresh_required: (raw) => ({
    type: 'refresh_required',
    expires_at: readCount(raw, 'expires_at'),
  }),
  refreshed: (raw) => ({ type: 'refreshed', token_expires_at: readCount(raw, 'token_expires_at') }),
  message: (raw) => ({ type: 'message', ...readChatMessage(raw) }),
  ack: (raw) => ({
    type: 'ack',
    client_msg_id: readUuid(raw, 'client_msg_id'),
    id: readId(raw, 'id'),
    seq: readCount(raw, 'seq'),
  }),
  typing: (raw) => ({
    type: 'typing',
    dialog_id: readId(raw, 'dialog_id'),
    sender: readEnum(raw, 'sender', SENDERS),
    state: readEnum(raw, 'state', TYPING_STATES),
  }),
  handoff: (raw) =>
    withOptional(
      {
        type: 'handoff' as const,
        dialog_id: readId(raw, 'dialog_id'),
        state: readEnum(raw, 'state', HANDOFF_STATES),
      },
      'operator',
      optional(raw, 'operator', readOperator),
    ),
  resumed: (raw) =>
    withOptional(
      {
        type: 'resumed' as const,
        dialog_id: readId(raw, 'dialog_id'),
        replayed: readCount(raw, 'replayed'),
        gap: readBoolean(raw, 'gap'),
        head_seq: readCount(raw, 'head_seq'),
      },
      'next_after_seq',
      optional(raw, 'next_after_seq', readCount),
    ),
  dialog: (raw) => ({
    type: 'dialog',
    dialog_id: readId(raw, 'dialog_id'),
    site_id: readId(raw, 'site_id'),
    state: readEnum(raw, 'state', DIALOG_STATES),
    handoff: readHandoffStatus(raw, 'handoff'),
    last_seq: readCount(raw, 'last_seq'),
    last_message_at: readCount(raw, 'last_message_at'),
    created_at: readCount(raw, 'created_at'),
  }),
  dialogs_truncated: () => ({ type: 'dialogs_truncated' }),
  error: (raw) =>
    withOptional(
      { type: 'error' as const, code: readEnum(raw, 'code', FRAME_ERROR_CODES) },
      'ref',
      optional(raw, 'ref', (object, key) => readString(object, key, ID_MAX_LENGTH)),
    ),
};

/** Every server frame type. */
export const SERVER_FRAME_TYPES: readonly ServerFrameType[] = /* @__PURE__ */ Object.freeze(
  /* @__PURE__ */ Object.keys(READERS) as ServerFrameType[],
);

/** Validates an already-parsed server frame. Never throws. */
export function parseServerFrame(value: unknown): ServerFrameResult {
  if (!isRawObject(value)) return { ok: false, problem: 'not_object' };
  const type = Object.hasOwn(value, 'type') ? value['type'] : undefined;
  if (typeof type !== 'string' || !Object.hasOwn(READERS, type)) {
    return { ok: false, problem: 'unknown_type' };
  }
  try {
    return { ok: true, frame: READERS[type as ServerFrameType](value) };
  } catch (problem) {
    if (problem instanceof FieldProblem) {
      return { ok: false, problem: 'invalid', field: problem.field, rule: problem.rule };
    }
    throw problem;
  }
}

/** Parses and validates the text of one server frame. Never throws. */
export function decodeServerFrame(text: string): ServerFrameResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not_json' };
  }
  return parseServerFrame(value);
}
