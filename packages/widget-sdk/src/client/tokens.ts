/**
 * One single-flight token source shared by the first connect, every reconnect, the in-band
 * `refresh` and history requests: concurrent callers share one request, and a request that was
 * overtaken by `forget()` never puts its answer in the cache.
 */
import { REFRESH_LEAD_MS } from '@postern/protocol';
import { TokenError } from './errors.js';

/** A function returning a visitor token; see {@link TokenError} for the ways to say "no". */
export type GetToken = () => Promise<string>;

export class TokenSource {
  #token: string | null = null;
  #expiresAt = Number.POSITIVE_INFINITY;
  #pending: Promise<string> | null = null;
  #generation = 0;

  readonly #fetchToken: GetToken;
  readonly #now: () => number;
  readonly #dropStored: () => void;

  constructor(fetchToken: GetToken, now: () => number, dropStored: () => void = () => {}) {
    this.#fetchToken = fetchToken;
    this.#now = now;
    this.#dropStored = dropStored;
  }

  /**
   * The cached token, or a new one when `fresh` is set, when none is cached, or when the cached
   * one expires within the server's refresh lead. Callers during a request share it.
   */
  get(fresh: boolean): Promise<string> {
    if (this.#pending) return this.#pending;
    if (!fresh && this.#token !== null && this.#now() < this.#expiresAt - REFRESH_LEAD_MS) {
      return Promise.resolve(this.#token);
    }
    const generation = this.#generation;
    const pending: Promise<string> = Promise.resolve()
      .then(() => this.#fetchToken())
      .then((token) => {
        if (typeof token !== 'string' || token.length === 0) {
          throw new TokenError('ERR_TOKEN_RETRY', { detail: 'empty_token' });
        }
        if (generation === this.#generation) {
          this.#token = token;
          this.#expiresAt = Number.POSITIVE_INFINITY;
        }
        return token;
      })
      .finally(() => {
        if (this.#pending === pending) this.#pending = null;
      });
    this.#pending = pending;
    return pending;
  }

  /** When the cached token expires, in local wall-clock ms (from `ready` or `refreshed`). */
  expires(at: number): void {
    this.#expiresAt = at;
  }

  /** Forgets the cached token and the stored session (4004: a new session next time). */
  forget(): void {
    this.#generation += 1;
    this.#token = null;
    this.#pending = null;
    this.#expiresAt = Number.POSITIVE_INFINITY;
    this.#dropStored();
  }
}
