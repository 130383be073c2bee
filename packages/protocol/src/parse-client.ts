/**
 * Validation of client → server frames, exactly as SPEC §4 "Frame handling" splits it:
 * - the socket is closed with 4000 when a frame is not text, not JSON, not an object, has a
 *   missing or unknown `type`, or arrives before `auth`;
 * - a known type with missing or invalid fields, or with `__proto__`/`constructor` keys, gets
 *   `error {code: "invalid", ref}` and the socket stays open.
 * Unknown extra fields are dropped: the returned frame holds only the fields of its type.
 */
import { CloseCode } from './codes.js';
import {
  FieldProblem,
  type FieldRule,
  findPoisonedKey,
  isRawObject,
  optional,
  type RawObject,
  readCount,
  readEnum,
  readId,
  readMessageText,
  readObject,
  readString,
  readUuid,
} from './fields.js';
import type {
  ClientFrame,
  ClientFrameType,
  ErrorFrame,
  HandoffAction,
  ResumePoint,
  TypingState,
} from './frames.js';
import { isId, isUuid } from './text.js';

/**
 * Why a frame closes the socket with 4000. `binary` and `before_auth` are decided by the
 * connection (they need its state), the rest here; each doubles as the close reason.
 */
export type BadRequestProblem =
  | 'binary'
  | 'not_json'
  | 'not_object'
  | 'missing_type'
  | 'unknown_type'
  | 'before_auth';

/** Why a frame of a known type was refused with `error invalid` (for logs and tests only). */
export interface InvalidFrameProblem {
  readonly field: string;
  readonly rule: FieldRule | 'poisoned_key';
}

export type ClientFrameResult =
  | { readonly ok: true; readonly frame: ClientFrame }
  | {
      readonly ok: false;
      readonly kind: 'close';
      readonly code: typeof CloseCode.BAD_REQUEST;
      readonly problem: BadRequestProblem;
    }
  | {
      readonly ok: false;
      readonly kind: 'invalid';
      readonly type: ClientFrameType;
      /** The frame to send back. */
      readonly error: ErrorFrame;
      readonly problem: InvalidFrameProblem;
    };

const TYPING_STATES: readonly TypingState[] = ['start', 'stop'];
const HANDOFF_ACTIONS: readonly HandoffAction[] = ['request', 'take', 'release', 'close'];

function readResumePoint(object: RawObject): ResumePoint {
  return { dialog_id: readId(object, 'dialog_id'), after_seq: readCount(object, 'after_seq') };
}

const READERS: { readonly [T in ClientFrameType]: (raw: RawObject) => ClientFrame } = {
  auth(raw) {
    const token = readString(raw, 'token');
    const resume = optional(raw, 'resume', (object, key) => {
      try {
        return readResumePoint(readObject(object, key));
      } catch (problem) {
        // Name the nested field so logs say `resume.after_seq`, not `after_seq`.
        if (problem instanceof FieldProblem && problem.field !== key) {
          throw new FieldProblem(`${key}.${problem.field}`, problem.rule);
        }
        throw problem;
      }
    });
    return resume === undefined ? { type: 'auth', token } : { type: 'auth', token, resume };
  },
  refresh: (raw) => ({ type: 'refresh', token: readString(raw, 'token') }),
  pong: (raw) => ({ type: 'pong', id: readCount(raw, 'id') }),
  send: (raw) => ({
    type: 'send',
    dialog_id: readId(raw, 'dialog_id'),
    client_msg_id: readUuid(raw, 'client_msg_id'),
    text: readMessageText(raw, 'text'),
  }),
  typing: (raw) => ({
    type: 'typing',
    dialog_id: readId(raw, 'dialog_id'),
    state: readEnum(raw, 'state', TYPING_STATES),
  }),
  resume: (raw) => ({ type: 'resume', ...readResumePoint(raw) }),
  handoff: (raw) => ({
    type: 'handoff',
    dialog_id: readId(raw, 'dialog_id'),
    action: readEnum(raw, 'action', HANDOFF_ACTIONS),
  }),
  subscribe: (raw) => ({ type: 'subscribe', dialog_id: readId(raw, 'dialog_id') }),
  unsubscribe: (raw) => ({ type: 'unsubscribe', dialog_id: readId(raw, 'dialog_id') }),
};

/** Every client frame type. */
export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = /* @__PURE__ */ Object.freeze(
  /* @__PURE__ */ Object.keys(READERS) as ClientFrameType[],
);

function isClientFrameType(value: string): value is ClientFrameType {
  return Object.hasOwn(READERS, value);
}

function badRequest(problem: BadRequestProblem): ClientFrameResult {
  return { ok: false, kind: 'close', code: CloseCode.BAD_REQUEST, problem };
}

/**
 * The `ref` of an `error` for this frame: its `client_msg_id` for `send`, else its `dialog_id`.
 * Echoed only when well-formed, so an error never reflects arbitrary client strings.
 */
function refOf(type: ClientFrameType, raw: RawObject): string | undefined {
  if (type === 'send' && isUuid(raw['client_msg_id'])) return raw['client_msg_id'];
  const dialogId = raw['dialog_id'];
  return isId(dialogId) ? dialogId : undefined;
}

function invalid(
  type: ClientFrameType,
  raw: RawObject,
  problem: InvalidFrameProblem,
): ClientFrameResult {
  const ref = refOf(type, raw);
  const error: ErrorFrame =
    ref === undefined
      ? { type: 'error', code: 'invalid' }
      : { type: 'error', code: 'invalid', ref };
  return { ok: false, kind: 'invalid', type, error, problem };
}

/** Validates an already-parsed client frame. Never throws. */
export function parseClientFrame(value: unknown): ClientFrameResult {
  if (!isRawObject(value)) return badRequest('not_object');
  const type = Object.hasOwn(value, 'type') ? value['type'] : undefined;
  if (type === undefined) return badRequest('missing_type');
  if (typeof type !== 'string' || !isClientFrameType(type)) return badRequest('unknown_type');
  const poisoned = findPoisonedKey(value);
  if (poisoned !== null) return invalid(type, value, { field: poisoned, rule: 'poisoned_key' });
  try {
    return { ok: true, frame: READERS[type](value) };
  } catch (problem) {
    if (problem instanceof FieldProblem) {
      return invalid(type, value, { field: problem.field, rule: problem.rule });
    }
    throw problem;
  }
}

/** Parses and validates the text of one client frame. Never throws. */
export function decodeClientFrame(text: string): ClientFrameResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return badRequest('not_json');
  }
  return parseClientFrame(value);
}
