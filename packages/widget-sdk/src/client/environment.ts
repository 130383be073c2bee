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
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
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
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    throw new PosternError('ERR_CONFIG', 'serverUrl is not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new PosternError('ERR_CONFIG', 'serverUrl must be http: or https:');
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
