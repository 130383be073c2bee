/**
 * Errors are values with stable codes. One table maps each code to what a client sees: the
 * WebSocket close code (and reason) and the HTTP status with its `{"error": …}` body code.
 * Messages are for logs only; clients only ever see the mapped codes.
 */
import { CloseCode, CloseReason, type HttpErrorCode } from '@postern/protocol';

export const ErrorCode = {
  /** Bad signature/alg/typ/aud/iss, missing or malformed claims, garbage. */
  AUTH_FAILED: 'ERR_AUTH_FAILED',
  /** Valid signature, `exp` passed. */
  AUTH_EXPIRED: 'ERR_AUTH_EXPIRED',
  TOKEN_REVOKED: 'ERR_TOKEN_REVOKED',
  VISITOR_REVOKED: 'ERR_VISITOR_REVOKED',
  SITE_REVOKED: 'ERR_SITE_REVOKED',
  /** The origin is not allowed for the site, or not the token's origin. */
  ORIGIN_FORBIDDEN: 'ERR_ORIGIN_FORBIDDEN',
  /** Authenticated, but not allowed to do this (scope, site). */
  FORBIDDEN: 'ERR_FORBIDDEN',
  NOT_FOUND: 'ERR_NOT_FOUND',
  REFRESH_INVALID: 'ERR_REFRESH_INVALID',
  REFRESH_REUSED: 'ERR_REFRESH_REUSED',
  RATE_LIMITED: 'ERR_RATE_LIMITED',
  CONNECTION_LIMIT: 'ERR_CONNECTION_LIMIT',
  CAPACITY: 'ERR_CAPACITY',
  UNAVAILABLE: 'ERR_UNAVAILABLE',
  INTERNAL: 'ERR_INTERNAL',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An expected failure with a stable code; anything else that is thrown is a bug (1011/500). */
export class PosternError extends Error {
  readonly code: ErrorCodeValue;

  constructor(code: ErrorCodeValue, message: string = code, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PosternError';
    this.code = code;
  }
}

export interface ErrorMapping {
  readonly close: number;
  readonly reason: string;
  readonly status: number;
  readonly body: HttpErrorCode;
}

const TABLE: { readonly [K in ErrorCodeValue]: ErrorMapping } = {
  ERR_AUTH_FAILED: {
    close: CloseCode.AUTH_FAILED,
    reason: 'auth_failed',
    status: 401,
    body: 'unauthorized',
  },
  ERR_AUTH_EXPIRED: {
    close: CloseCode.AUTH_EXPIRED,
    reason: 'auth_expired',
    status: 401,
    body: 'token_expired',
  },
  ERR_TOKEN_REVOKED: {
    close: CloseCode.TOKEN_REVOKED,
    reason: CloseReason.TOKEN_REVOKED,
    status: 401,
    body: 'token_revoked',
  },
  ERR_VISITOR_REVOKED: {
    close: CloseCode.TOKEN_REVOKED,
    reason: CloseReason.VISITOR_REVOKED,
    status: 401,
    body: 'token_revoked',
  },
  ERR_SITE_REVOKED: {
    close: CloseCode.TOKEN_REVOKED,
    reason: CloseReason.SITE_REVOKED,
    status: 401,
    body: 'token_revoked',
  },
  ERR_ORIGIN_FORBIDDEN: {
    close: CloseCode.FORBIDDEN_ORIGIN,
    reason: 'forbidden_origin',
    status: 403,
    body: 'origin_not_allowed',
  },
  ERR_FORBIDDEN: {
    close: CloseCode.FORBIDDEN_ORIGIN,
    reason: 'forbidden',
    status: 403,
    body: 'forbidden',
  },
  ERR_NOT_FOUND: {
    close: CloseCode.NOT_FOUND,
    reason: 'not_found',
    status: 404,
    body: 'not_found',
  },
  ERR_REFRESH_INVALID: {
    close: CloseCode.AUTH_FAILED,
    reason: 'auth_failed',
    status: 401,
    body: 'refresh_invalid',
  },
  ERR_REFRESH_REUSED: {
    close: CloseCode.AUTH_FAILED,
    reason: 'auth_failed',
    status: 401,
    body: 'refresh_reused',
  },
  ERR_RATE_LIMITED: {
    close: CloseCode.RATE_LIMITED,
    reason: 'rate_limited',
    status: 429,
    body: 'rate_limited',
  },
  ERR_CONNECTION_LIMIT: {
    close: CloseCode.CONNECTION_LIMIT,
    reason: 'connection_limit',
    status: 429,
    body: 'rate_limited',
  },
  ERR_CAPACITY: {
    close: CloseCode.TRY_AGAIN_LATER,
    reason: 'capacity',
    status: 503,
    body: 'unavailable',
  },
  ERR_UNAVAILABLE: {
    close: CloseCode.GOING_AWAY,
    reason: 'unavailable',
    status: 503,
    body: 'unavailable',
  },
  ERR_INTERNAL: {
    close: CloseCode.INTERNAL_ERROR,
    reason: 'internal_error',
    status: 500,
    body: 'internal',
  },
};

/** What a client sees for an error: a known `PosternError` maps by code, anything else is internal. */
export function errorMapping(error: unknown): ErrorMapping {
  return error instanceof PosternError ? TABLE[error.code] : TABLE.ERR_INTERNAL;
}

/** The stable code of an error for logs and metrics (`ERR_INTERNAL` for unexpected ones). */
export function errorCodeOf(error: unknown): ErrorCodeValue {
  return error instanceof PosternError ? error.code : ErrorCode.INTERNAL;
}
