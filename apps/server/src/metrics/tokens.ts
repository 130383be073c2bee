/**
 * Counts token verifications by kind and result around a {@link TokenService}, so every
 * verification — HTTP, WebSocket `auth` and in-band `refresh` — is counted without a hook at each
 * call site. Signing is passed through untouched.
 */
import { ErrorCode, PosternError } from '../errors.js';
import type { TokenKind, TokenService } from '../security/tokens.js';
import type { TokenResult } from './labels.js';
import type { Metrics } from './metrics.js';

function resultOf(error: unknown): TokenResult {
  if (!(error instanceof PosternError)) return 'error';
  if (error.code === ErrorCode.AUTH_EXPIRED) return 'expired';
  return error.code === ErrorCode.AUTH_FAILED ? 'failed' : 'error';
}

function counted<C>(
  metrics: Metrics,
  kind: TokenKind,
  verify: (token: unknown) => Promise<C>,
): (token: unknown) => Promise<C> {
  return async (token) => {
    try {
      const claims = await verify(token);
      metrics.tokenVerified(kind, 'ok');
      return claims;
    } catch (error) {
      metrics.tokenVerified(kind, resultOf(error));
      throw error;
    }
  };
}

/** `tokens` with its three verifiers counted. */
export function countedTokens(tokens: TokenService, metrics: Metrics): TokenService {
  return Object.freeze({
    ...tokens,
    verifySite: counted(metrics, 'site', tokens.verifySite),
    verifyVisitor: counted(metrics, 'visitor', tokens.verifyVisitor),
    verifyOperator: counted(metrics, 'operator', tokens.verifyOperator),
  });
}
