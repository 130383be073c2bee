/**
 * Loads a dialog's history from `GET /v1/app/dialogs/:id/messages` with the operator's bearer
 * token (SPEC §3 "History page"). Bodies are validated before use; errors come back as the
 * server's stable code, never thrown.
 */
import {
  type HistoryPage,
  type HttpErrorCode,
  messagesPath,
  parseErrorBody,
  parseHistoryPage,
} from '@postern/protocol';
import type { GetToken } from './token-source.js';

export type HistoryQuery =
  | { readonly kind: 'latest' }
  | { readonly kind: 'before'; readonly seq: number }
  | { readonly kind: 'after'; readonly seq: number };

export type HistoryResult =
  | { readonly ok: true; readonly page: HistoryPage }
  | { readonly ok: false; readonly error: HttpErrorCode | 'network' | 'invalid_response' };

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

/** Page size asked for: the protocol's largest, so paging back takes few requests. */
export const HISTORY_LIMIT = 100;

export function historyUrl(serverOrigin: string, dialogId: string, query: HistoryQuery): string {
  const params = new URLSearchParams({ limit: String(HISTORY_LIMIT) });
  if (query.kind === 'before') params.set('before_seq', String(query.seq));
  if (query.kind === 'after') params.set('after_seq', String(query.seq));
  return `${serverOrigin}${messagesPath('app', dialogId)}?${params.toString()}`;
}

export async function fetchHistory(
  fetchFn: Fetch,
  serverOrigin: string,
  token: string,
  dialogId: string,
  query: HistoryQuery,
): Promise<HistoryResult> {
  let response: Response;
  let body: unknown;
  try {
    response = await fetchFn(historyUrl(serverOrigin, dialogId, query), {
      headers: { Authorization: `Bearer ${token}` },
      // Bearer auth only: no cookie exists and none may be sent.
      credentials: 'omit',
      cache: 'no-store',
    });
    body = await response.json();
  } catch {
    return { ok: false, error: 'network' };
  }
  if (!response.ok) return { ok: false, error: parseErrorBody(body) ?? 'invalid_response' };
  const page = parseHistoryPage(body);
  return page.ok ? { ok: true, page: page.value } : { ok: false, error: 'invalid_response' };
}

/** Hands out operator tokens: the remembered one, or a new one. */
export interface HistoryTokens {
  readonly current: GetToken;
  readonly fresh: GetToken;
}

/**
 * {@link fetchHistory} with the operator's token; a token that expired in between is renewed
 * once. `unauthorized` when the token source refuses.
 */
export async function fetchHistoryWithToken(
  fetchFn: Fetch,
  serverOrigin: string,
  tokens: HistoryTokens,
  dialogId: string,
  query: HistoryQuery,
): Promise<HistoryResult> {
  for (const renew of [false, true]) {
    const token = await (renew ? tokens.fresh() : tokens.current());
    if (token.kind !== 'token') break;
    const result = await fetchHistory(fetchFn, serverOrigin, token.token, dialogId, query);
    if (result.ok || result.error !== 'token_expired' || renew) return result;
  }
  return { ok: false, error: 'unauthorized' };
}
