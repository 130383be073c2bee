/**
 * A lean check of what a browser widget reads from the server: the frames a widget connection
 * receives, a history page and a session response. The server is trusted but verified: a proxy,
 * a bug or a newer server may send anything, and a client must never crash on it nor hand a
 * non-string to code that renders text. That needs the right type for every field (strings
 * non-empty, counts safe integers ≥ 0, enums from their list) and frames holding only their own
 * fields — not the field-by-field problem reports, id shapes and length caps of
 * {@link parseServerFrame}, which a widget has no use for and would pay for in bytes.
 *
 * Operator-only frames (`dialog`, `dialogs_truncated`) are not widget frames: they read as
 * `unknown_type`, which clients ignore.
 */
import { isRawObject } from './fields.js';
import type { ChatMessage, ServerFrame } from './frames.js';
import type { HistoryPage, SessionResponse } from './http.js';
import { isNonNegativeInteger } from './text.js';

export type LeanServerFrameResult =
  | { readonly ok: true; readonly frame: ServerFrame }
  | {
      readonly ok: false;
      readonly problem: 'not_json' | 'not_object' | 'unknown_type' | 'invalid';
    };

/** A field's check; a nested shape checks an object field. */
type Check = ((value: unknown) => boolean) | Shape;

/** Field name → check; a name ending in `?` is optional (absent or `null` is left out). */
interface Shape {
  readonly [field: string]: Check;
}

const string = (value: unknown) => typeof value === 'string' && value !== '';
const count = isNonNegativeInteger;
const boolean = (value: unknown) => typeof value === 'boolean';
const oneOf =
  (...allowed: string[]) =>
  (value: unknown) =>
    allowed.includes(value as string);

const sender = oneOf('visitor', 'assistant', 'operator', 'system');
const handoffState = oneOf('assistant', 'requested', 'operator', 'closed');
const operator: Shape = { name: string };
const handoff: Shape = { state: handoffState, 'operator?': operator };
const message: Shape = {
  dialog_id: string,
  seq: count,
  id: string,
  'client_msg_id?': string,
  sender,
  text: string,
  ts: count,
};

const FRAMES: Readonly<Record<string, Shape>> = {
  ready: {
    session_id: string,
    server_time: count,
    ping_interval_ms: count,
    token_expires_at: count,
    'visitor_id?': string,
    'dialog_id?': string,
    'last_seq?': count,
    'handoff?': handoff,
  },
  ping: { id: count },
  refresh_required: { expires_at: count },
  refreshed: { token_expires_at: count },
  message,
  ack: { client_msg_id: string, id: string, seq: count },
  typing: { dialog_id: string, sender, state: oneOf('start', 'stop') },
  handoff: { dialog_id: string, state: handoffState, 'operator?': operator },
  resumed: {
    dialog_id: string,
    replayed: count,
    gap: boolean,
    head_seq: count,
    'next_after_seq?': count,
  },
  error: {
    code: oneOf(
      'invalid',
      'rate_limited',
      'not_found',
      'forbidden',
      'conflict',
      'not_holder',
      'dialog_closed',
      'limit',
    ),
    'ref?': string,
  },
};

/**
 * A fresh object with the fields of `shape` read from `value`, or `null` when one is missing or
 * of the wrong type. Only the shape's own names are read and written, so keys such as `__proto__`
 * in the input are never copied.
 */
function pick(value: unknown, shape: Shape): Record<string, unknown> | null {
  if (!isRawObject(value)) return null;
  const picked: Record<string, unknown> = {};
  for (const [key, check] of Object.entries(shape)) {
    const optional = key.endsWith('?');
    const name = optional ? key.slice(0, -1) : key;
    const field = Object.hasOwn(value, name) ? value[name] : undefined;
    if (optional && field == null) continue;
    const read = typeof check === 'function' ? (check(field) ? field : null) : pick(field, check);
    if (read === null) return null;
    picked[name] = read;
  }
  return picked;
}

/** Checks an already-parsed widget frame. Never throws. */
export function parseServerFrameLean(value: unknown): LeanServerFrameResult {
  if (!isRawObject(value)) return { ok: false, problem: 'not_object' };
  const type = value['type'];
  if (typeof type !== 'string' || !Object.hasOwn(FRAMES, type)) {
    return { ok: false, problem: 'unknown_type' };
  }
  const fields = pick(value, FRAMES[type] as Shape);
  return fields
    ? { ok: true, frame: { type, ...fields } as unknown as ServerFrame }
    : { ok: false, problem: 'invalid' };
}

/** Parses and checks the text of one widget frame. Never throws. */
export function decodeServerFrameLean(text: string): LeanServerFrameResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not_json' };
  }
  return parseServerFrameLean(value);
}

/** A history page body (`{messages, next_after_seq}`), or `null` when it is not one. */
export function parseHistoryPageLean(value: unknown): HistoryPage | null {
  const list = isRawObject(value) ? value['messages'] : null;
  if (!Array.isArray(list)) return null;
  const messages = list.map((item) => pick(item, message));
  const next = pick(value, { 'next_after_seq?': count });
  if (!next || messages.includes(null)) return null;
  return {
    messages: messages as unknown as ChatMessage[],
    next_after_seq: (next['next_after_seq'] as number | undefined) ?? null,
  };
}

/** A session response body (`POST /v1/widget/session`), or `null` when it is not one. */
export function parseSessionResponseLean(value: unknown): SessionResponse | null {
  return pick(value, {
    visitor_token: string,
    refresh_token: string,
    visitor_id: string,
    dialog_id: string,
    expires_at: count,
  }) as SessionResponse | null;
}
