/**
 * One single-flight token source shared by the first connect, every reconnect, the in-band
 * `refresh` and history requests: concurrent callers share one request, and a request that was
 * overtaken by `forget()` never puts its answer in the cache.
 */
import { REFRESH_LEAD_MS } from '@postern/protocol';
import { TokenError } from './errors.js';

/** A function returning a visitor token; see {@link TokenError} for the ways to say "no". */
export type GetToken = () => Promise<string>;

export interface TokenSource {
  /**
   * The cached token, or a new one when `fresh` is set, when none is cached, or when the cached
   * one expires within the server's refresh lead. Callers during a request share it.
   */
  get(fresh: boolean): Promise<string>;
  /** When the cached token expires, in local wall-clock ms (from `ready` or `refreshed`). */
  expires(at: number): void;
  /** Forgets the cached token and the stored session (4004: a new session next time). */
  forget(): void;
}

export function createTokenSource(
  fetchToken: GetToken,
  now: () => number,
  dropStored: () => void = () => {},
): TokenSource {
  let token: string | null = null;
  let expiresAt = Infinity;
  let pending: Promise<string> | null = null;
  let generation = 0;
  return {
    get(fresh) {
      if (pending) return pending;
      if (!fresh && token !== null && now() < expiresAt - REFRESH_LEAD_MS) {
        return Promise.resolve(token);
      }
      const started = generation;
      const request: Promise<string> = Promise.resolve()
        .then(() => fetchToken())
        .then((value) => {
          if (typeof value !== 'string' || !value) {
            throw new TokenError('ERR_TOKEN_RETRY', { detail: 'empty_token' });
          }
          if (started === generation) {
            token = value;
            expiresAt = Infinity;
          }
          return value;
        })
        .finally(() => {
          if (pending === request) pending = null;
        });
      pending = request;
      return request;
    },
    expires(at) {
      expiresAt = at;
    },
    forget() {
      generation += 1;
      token = pending = null;
      expiresAt = Infinity;
      dropStored();
    },
  };
}
