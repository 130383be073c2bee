/**
 * Errors of the client, each with a stable `code` an application can switch on. Messages are
 * short on purpose (every byte of them ships in the widget): the code and `detail` say what
 * happened.
 */

/** Every code a {@link PosternError} can carry. */
export type PosternErrorCode =
  /** Options that cannot work (bad `serverUrl`, no token source, no WebSocket). */
  | 'ERR_CONFIG'
  /** An application listener threw; `cause` holds what it threw. */
  | 'ERR_LISTENER'
  /** The server sent a frame this client cannot read. */
  | 'ERR_PROTOCOL'
  /** The server refused a frame with `error {code}`; `detail` is that code. */
  | 'ERR_REFUSED'
  /** The server closed with a code that means this client is broken; `detail` is the code. */
  | 'ERR_CLIENT_BUG'
  /** A history page could not be loaded; the next resume tries again. */
  | 'ERR_HISTORY'
  | TokenErrorCode;

/** Outcomes of a token request that are not a token. */
export type TokenErrorCode =
  /** The credential is refused for good: stop, do not retry. */
  | 'ERR_TOKEN_UNAUTHORIZED'
  /** The server does not serve this site's chat on this origin: stop. */
  | 'ERR_TOKEN_ORIGIN_NOT_ALLOWED'
  /** A passing failure (network, overload, rate limit): try again later. */
  | 'ERR_TOKEN_RETRY';

/** The base class of every error the client reports. */
export class PosternError extends Error {
  override readonly name: string = 'PosternError';
  /** Stable code, e.g. `ERR_PROTOCOL`. */
  readonly code: PosternErrorCode;
  /** A stable sub-code where one exists (the server's error code, the close code). */
  readonly detail: string | undefined;

  constructor(
    code: PosternErrorCode,
    message: string,
    options: { readonly cause?: unknown; readonly detail?: string } = {},
  ) {
    // `Error` reads only `cause` from its options, and only when the property exists.
    super(message, options);
    this.code = code;
    this.detail = options.detail;
  }
}

/**
 * What a token source throws when it has no token. `ERR_TOKEN_UNAUTHORIZED` and
 * `ERR_TOKEN_ORIGIN_NOT_ALLOWED` stop the client (it never retries a refused credential);
 * `ERR_TOKEN_RETRY` — and anything else a custom `getToken` throws — means "try again later".
 *
 * @example
 * getToken: async () => {
 *   const response = await fetch('/my/postern-token');
 *   if (response.status === 403) throw new TokenError('ERR_TOKEN_UNAUTHORIZED');
 *   if (!response.ok) throw new TokenError('ERR_TOKEN_RETRY');
 *   return response.text();
 * }
 */
export class TokenError extends PosternError {
  override readonly name: string = 'TokenError';
  declare readonly code: TokenErrorCode;
  /** How long the server asked to wait (`Retry-After`), when it did. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: TokenErrorCode,
    options: {
      readonly retryAfterMs?: number;
      readonly cause?: unknown;
      readonly detail?: string;
    } = {},
  ) {
    super(code, options.detail ?? code, options);
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Whether the client must stop rather than try again. */
  get stop(): boolean {
    return this.code !== 'ERR_TOKEN_RETRY';
  }
}

/** A token source's failure as a {@link PosternError}: anything unexpected means "try again". */
export function toTokenError(error: unknown): PosternError {
  return error instanceof PosternError
    ? error
    : new TokenError('ERR_TOKEN_RETRY', { cause: error });
}
