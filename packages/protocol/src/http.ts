/**
 * The HTTP side of the contract (SPEC §3): paths, stable error codes, and the response bodies
 * clients read, with validators.
 */
import {
  FieldProblem,
  isRawObject,
  optional,
  type RawObject,
  readCount,
  readId,
  readString,
} from './fields.js';
import type { ChatMessage, DialogSummary } from './frames.js';
import { readChatMessage } from './parse-server.js';

/** Paths of the public endpoints. */
export const Paths = {
  WIDGET_SCRIPT: '/widget.js',
  WIDGET_SESSION: '/v1/widget/session',
  WIDGET_DIALOGS: '/v1/widget/dialogs',
  APP_DIALOGS: '/v1/app/dialogs',
  APP_REVOCATIONS: '/v1/app/revocations',
  WS_WIDGET: '/v1/ws/widget',
  WS_APP: '/v1/ws/app',
  HEALTHZ: '/healthz',
  READYZ: '/readyz',
  METRICS: '/metrics',
} as const;

/** Path of a dialog's message history for the widget or the app. */
export function messagesPath(audience: 'widget' | 'app', dialogId: string): string {
  const base = audience === 'widget' ? Paths.WIDGET_DIALOGS : Paths.APP_DIALOGS;
  return `${base}/${encodeURIComponent(dialogId)}/messages`;
}

/** Path of the immutable, versioned script-tag build (for `integrity` snippets). */
export function versionedWidgetPath(version: string): string {
  return `/widget/${encodeURIComponent(version)}/widget.js`;
}

/**
 * Stable error codes of HTTP error bodies (`{"error": "<code>"}`), with the status each comes
 * with. No body ever carries a stack, a library name, a secret or a limit value.
 */
export const HttpError = {
  bad_request: 400,
  invalid_body: 400,
  invalid_query: 400,
  unauthorized: 401,
  token_expired: 401,
  token_revoked: 401,
  refresh_invalid: 401,
  refresh_reused: 401,
  forbidden: 403,
  origin_not_allowed: 403,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type HttpErrorCode = keyof typeof HttpError;

/** Whether `value` is one of the stable HTTP error codes. */
export function isHttpErrorCode(value: unknown): value is HttpErrorCode {
  return typeof value === 'string' && Object.hasOwn(HttpError, value);
}

/** Body of `POST /v1/widget/session`: `{refresh_token?}`. */
export interface SessionRequest {
  readonly refresh_token?: string;
}

/** A successful `POST /v1/widget/session`. */
export interface SessionResponse {
  readonly visitor_token: string;
  readonly refresh_token: string;
  readonly visitor_id: string;
  readonly dialog_id: string;
  readonly expires_at: number;
}

/** A page of `GET …/dialogs/:id/messages`. */
export interface HistoryPage {
  readonly messages: readonly ChatMessage[];
  readonly next_after_seq: number | null;
}

/** `GET /v1/app/dialogs`: open dialogs in the operator's scope, latest activity first. */
export interface DialogList {
  readonly dialogs: readonly DialogSummary[];
  /** More open dialogs exist than `limit` allowed. */
  readonly truncated: boolean;
}

export type BodyResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly field: string };

function readBody<T>(value: unknown, read: (raw: RawObject) => T): BodyResult<T> {
  if (!isRawObject(value)) return { ok: false, field: '(body)' };
  try {
    return { ok: true, value: read(value) };
  } catch (problem) {
    if (problem instanceof FieldProblem) return { ok: false, field: problem.field };
    throw problem;
  }
}

/** Validates a session response body. */
export function parseSessionResponse(value: unknown): BodyResult<SessionResponse> {
  return readBody(value, (raw) => ({
    visitor_token: readString(raw, 'visitor_token'),
    refresh_token: readString(raw, 'refresh_token'),
    visitor_id: readId(raw, 'visitor_id'),
    dialog_id: readId(raw, 'dialog_id'),
    expires_at: readCount(raw, 'expires_at'),
  }));
}

/** Validates a history page body. */
export function parseHistoryPage(value: unknown): BodyResult<HistoryPage> {
  return readBody(value, (raw) => {
    const list = raw['messages'];
    if (!Array.isArray(list)) throw new FieldProblem('messages', 'type');
    const messages = list.map((item, index) => {
      if (!isRawObject(item)) throw new FieldProblem(`messages[${index}]`, 'type');
      return readChatMessage(item);
    });
    return { messages, next_after_seq: optional(raw, 'next_after_seq', readCount) ?? null };
  });
}

/** The error code of an error body, or `null` when the body is not one. */
export function parseErrorBody(value: unknown): HttpErrorCode | null {
  if (!isRawObject(value)) return null;
  const code = value['error'];
  return isHttpErrorCode(code) ? code : null;
}
