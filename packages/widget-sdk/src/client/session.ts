/**
 * The default token source: `POST <server>/v1/widget/session?site_token=…` with body
 * `{refresh_token?}` (SPEC §3). It keeps the refresh token in the chosen store, re-reads it before
 * every use and exchanges it under a Web Lock, so two tabs of one site never present the same
 * refresh token at once: the second tab waits, then reads the successor the first one stored —
 * from the cross-tab ledger (see ledger.ts) where the store alone could still show it the old one.
 */
import { isId, isRawObject, Paths, parseSessionResponseLean } from '@postern/protocol';
import { TokenError } from './errors.js';
import type { Ledger } from './ledger.js';
import { type KeyValueStore, storageKey } from './storage.js';

/** The part of `fetch` the client uses. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** The part of the Web Locks API (`navigator.locks`) the client uses. */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

export interface SessionSourceOptions {
  readonly siteToken: string;
  readonly serverOrigin: string;
  readonly api: (path: string) => string;
  readonly store: KeyValueStore;
  readonly fetch: FetchLike;
  /** Resolved at each request, so a page without Web Locks simply runs unlocked. */
  readonly locks: () => LockManagerLike | null;
  /** The cross-tab ledger of the token under `key`, where the store is shared by tabs. */
  readonly ledger: (key: string) => Ledger | null;
  readonly now: () => number;
}

export interface SessionSource {
  getToken(): Promise<string>;
  /** Drops the stored refresh token: the next request starts a new visitor session. */
  forget(): void;
}

/**
 * The site id (`sub`) of a site token, for the storage key only: the server verifies the token,
 * the client never trusts its claims for anything else.
 */
export function siteIdOf(siteToken: string): string {
  try {
    const payload = (siteToken.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/');
    const sub: unknown = JSON.parse(atob(payload)).sub;
    return isId(sub) ? sub : 'site';
  } catch {
    return 'site';
  }
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; `undefined` when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  const ms = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  return Number.isFinite(ms) ? Math.max(0, ms) : undefined;
}

export function createSessionSource(options: SessionSourceOptions): SessionSource {
  const key = storageKey(options.serverOrigin, siteIdOf(options.siteToken));
  const url = `${options.api(Paths.WIDGET_SESSION)}?site_token=${encodeURIComponent(options.siteToken)}`;
  // Bumped by forget(): an exchange that started before must not store its refresh token.
  let generation = 0;
  // Resolved at each use, not here: constructing a client touches no browser global.
  const shared = () => options.ledger(key);

  /** Keeps `value` (`null`: drops it) in the store and the ledger. */
  async function keep(value: string | null): Promise<void> {
    if (value === null) options.store.remove(key);
    else options.store.set(key, value);
    await shared()?.write(value);
  }

  /** Runs `task` under the site's Web Lock, where the page has Web Locks. */
  function locked<T>(task: () => Promise<T>): Promise<T> {
    const locks = options.locks();
    return locks ? locks.request(key, task) : task();
  }

  /** The response, and the stable code of its error body when it failed (SPEC §3). */
  async function post(refreshToken: string | null): Promise<[Response, string | null]> {
    let response: Response;
    try {
      response = await options.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(refreshToken === null ? {} : { refresh_token: refreshToken }),
      });
    } catch (cause) {
      throw new TokenError('ERR_TOKEN_RETRY', { cause, detail: 'network' });
    }
    if (response.ok) return [response, null];
    // Read by shape rather than against the whole table of HTTP error codes: the client acts on
    // three of them and reports the rest as detail.
    const body: unknown = await response.json().catch(() => null);
    const code = isRawObject(body) ? body['error'] : null;
    return [response, isId(code) ? code : null];
  }

  async function exchange(): Promise<string> {
    const started = generation;
    // Read now, not earlier: another tab may have rotated it while this one waited for the lock.
    const recorded = await shared()?.read();
    const stored = recorded === undefined ? options.store.get(key) : recorded;
    let [response, error] = await post(stored);
    if (stored !== null && (error === 'refresh_invalid' || error === 'refresh_reused')) {
      // Unknown, expired or reused (then the server revoked the family): a new visitor it is.
      await keep(null);
      [response, error] = await post(null);
    }
    if (response.ok) {
      const session = parseSessionResponseLean(await response.json().catch(() => null));
      if (!session) throw new TokenError('ERR_TOKEN_RETRY', { detail: 'malformed_session' });
      // Before the lock is released, so the next holder reads the successor.
      if (started === generation) await keep(session.refresh_token);
      return session.visitor_token;
    }
    const status = response.status;
    if (error === 'origin_not_allowed') {
      throw new TokenError('ERR_TOKEN_ORIGIN_NOT_ALLOWED', { detail: error });
    }
    if (status === 429 || status === 408 || status >= 500) {
      const wait = retryAfterMs(response.headers.get('retry-after'), options.now());
      throw new TokenError('ERR_TOKEN_RETRY', {
        detail: error ?? String(status),
        ...(wait === undefined ? {} : { retryAfterMs: wait }),
      });
    }
    // Any other refusal (revoked or expired site token, forbidden) will not fix itself.
    throw new TokenError('ERR_TOKEN_UNAUTHORIZED', { detail: error ?? String(status) });
  }

  return {
    getToken: () => locked(exchange),
    forget() {
      generation += 1;
      options.store.remove(key);
      // Under the lock too: an exchange queued behind it must not read the dropped token back.
      void locked(() => keep(null));
    },
  };
}
