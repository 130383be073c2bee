/**
 * Writing API responses: JSON bodies with the headers every API response carries, and errors as
 * `{"error": "<stable code>"}` — never a stack, a library name, a secret or a limit value.
 */
import type { ServerResponse } from 'node:http';
import type { HttpErrorCode } from '@postern/protocol';
import { HttpError } from '@postern/protocol';
import { errorMapping } from '../errors.js';

export type Headers = Record<string, string | number>;

const API_HEADERS = {
  'Content-Type': 'application/json; charset=utf-8',
  // Bearer-authenticated answers must never sit in a shared cache.
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
} as const;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Headers = {},
) {
  if (res.headersSent) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...API_HEADERS,
    ...headers,
    'Content-Length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

export function sendErrorCode(res: ServerResponse, code: HttpErrorCode, headers: Headers = {}) {
  sendJson(res, HttpError[code], { error: code }, headers);
}

/** Sends the client's view of any thrown value (unexpected ones become `500 internal`). */
export function sendError(res: ServerResponse, error: unknown, headers: Headers = {}) {
  const mapping = errorMapping(error);
  sendJson(res, mapping.status, { error: mapping.body }, headers);
}
