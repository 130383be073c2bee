/** `Authorization: Bearer <token>` (RFC 6750 §2.1); anything else is no token at all. */
import type { IncomingMessage } from 'node:http';
import { ErrorCode, PosternError } from '../errors.js';

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** The bearer token of a request; throws `ERR_AUTH_FAILED` when there is none. */
export function bearerToken(req: IncomingMessage): string {
  const match = BEARER.exec(req.headers.authorization ?? '');
  if (!match?.[1]) throw new PosternError(ErrorCode.AUTH_FAILED, 'missing bearer token');
  return match[1];
}
