/**
 * What the client takes from its surroundings — time, timers, randomness, the server's addresses —
 * as values it can be handed, so tests pass fakes and nothing is read from `window` at import time.
 */
import { Paths } from '@postern/protocol';
import { PosternError } from './errors.js';

/**
 * Wall-clock time and timers. `now()` must be wall-clock time (like `Date.now`): liveness
 * deadlines compare it, so a timer that a background tab throttles cannot hide a dead socket.
 */
export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The platform clock; globals are looked up at call time, never at import. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/**
 * A random (version 4) UUID. `crypto.randomUUID` exists only in secure contexts, and the widget
 * may be embedded in a plain-http page, so the fallback builds one from `getRandomValues`.
 */
export function randomUuid(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(31));
  let at = 0;
  // The version-4 layout: each `x` a random hex digit, `y` one of 8, 9, a, b (the variant).
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (slot) => {
    const nibble = (bytes[at++] ?? 0) & 15;
    return (slot === 'x' ? nibble : (nibble & 3) | 8).toString(16);
  });
}

/** The addresses of one Postern server, derived from `serverUrl` (SPEC §7). */
export interface ServerAddress {
  /** `scheme://host[:port]`, part of the storage key. */
  readonly origin: string;
  /** Absolute URL of an HTTP API path. */
  api(path: string): string;
  /** The widget WebSocket endpoint, `ws:`/`wss:` matching `http:`/`https:`. */
  readonly socket: string;
}

export function serverAddress(serverUrl: string): ServerAddress {
  let url: URL | undefined;
  try {
    url = new URL(serverUrl);
  } catch {}
  if (url?.protocol !== 'https:' && url?.protocol !== 'http:') {
    throw new PosternError('ERR_CONFIG', 'serverUrl: an absolute http(s) URL');
  }
  // A base with a path (a reverse proxy mounting Postern under /chat) keeps it as a prefix.
  const prefix = url.pathname.replace(/\/+$/, '');
  const api = (path: string) => `${url.origin}${prefix}${path}`;
  return {
    origin: url.origin,
    api,
    socket: `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}${prefix}${Paths.WS_WIDGET}`,
  };
}
