/**
 * Where the console gets operator tokens: its `getToken()` callback (SPEC §2). In the demo it
 * is the demo server's dev-only route; a real deployment points it at the customer's backend.
 */

export type TokenResult =
  | { readonly kind: 'token'; readonly token: string; readonly expiresAt: number }
  /** The token source said no for good (signed out, route absent): stop, do not retry. */
  | { readonly kind: 'unauthorized' };

/**
 * Resolves with a fresh operator token or a definite refusal; rejects when the source could not
 * be reached (a transient failure the caller backs off from).
 */
export type GetToken = () => Promise<TokenResult>;

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

function isTokenBody(value: unknown): value is { token: string; expires_at: number } {
  if (typeof value !== 'object' || value === null) return false;
  const { token, expires_at } = value as Record<string, unknown>;
  return typeof token === 'string' && token.length > 0 && Number.isSafeInteger(expires_at);
}

/**
 * `getToken()` backed by the demo's `POST /dev/operator-token` on the console's own origin.
 * 401/403/404 mean "no token for this page, ever" (cross-origin, production); anything else
 * that is not a token is transient.
 */
export function devTokenSource(fetchFn: Fetch, path = '/dev/operator-token'): GetToken {
  return async () => {
    const response = await fetchFn(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
      credentials: 'same-origin',
      cache: 'no-store',
    });
    if (response.status === 401 || response.status === 403 || response.status === 404) {
      return { kind: 'unauthorized' };
    }
    if (!response.ok) throw new Error(`token source answered ${response.status}`);
    const body: unknown = await response.json();
    if (!isTokenBody(body)) throw new Error('token source answered without a token');
    return { kind: 'token', token: body.token, expiresAt: body.expires_at };
  };
}

/** Shares tokens between the socket (which always wants a new one) and HTTP requests. */
export interface TokenKeeper {
  /** A new token, remembered for {@link TokenKeeper.current}. */
  readonly fresh: GetToken;
  /** The remembered token while it has more than `leadMs` left, else a new one. */
  readonly current: GetToken;
}

export function tokenKeeper(getToken: GetToken, now: () => number, leadMs = 60_000): TokenKeeper {
  let remembered: (TokenResult & { kind: 'token' }) | null = null;
  const fresh: GetToken = async () => {
    const result = await getToken();
    remembered = result.kind === 'token' ? result : null;
    return result;
  };
  return {
    fresh,
    current: () =>
      remembered !== null && remembered.expiresAt - now() > leadMs
        ? Promise.resolve(remembered)
        : fresh(),
  };
}
