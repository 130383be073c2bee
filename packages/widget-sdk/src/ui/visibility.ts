/**
 * When the embedded widget holds a socket (issue 5, point 9). Nothing before this browser first
 * opens the chat; from then on — on this page and on every later page load, which finds the
 * stored refresh token — it stays connected while the page is visible, so the unread count and
 * new messages arrive with the panel closed. A page hidden for longer than a grace period lets
 * its socket go with a clean, client-side `disconnect()` (not a policy stop: nothing is shown and
 * nothing is lost), and connects again, resuming where it left off, when it shows again. A tab
 * left in the background all day then holds no socket, and a quick tab switch costs nothing.
 */
import type { Clock } from '../client/environment.js';
import { siteIdOf } from '../client/session.js';
import { openStore, type StorageChoice, storageKey } from '../client/storage.js';

/** How long a hidden page keeps its socket, by default: 5 minutes. */
export const HIDDEN_DISCONNECT_MS = 5 * 60_000;

/** Whether the page is hidden, and word when that changes. */
export interface PageVisibility {
  readonly hidden: boolean;
  /** Starts listening; returns the function that stops. */
  listen(changed: () => void): () => void;
}

/** What the lifecycle drives: the widget's client. */
export interface Connectable {
  readonly state: string;
  connect(): void;
  disconnect(): void;
}

/**
 * Whether this browser has opened the chat of this site before: a refresh token is stored under
 * its key. Reads, never writes; storage that is denied or set to `memory` reads as "no".
 */
export function hasStoredSession(
  serverOrigin: string,
  siteToken: string,
  storage: StorageChoice,
): boolean {
  return openStore(storage).get(storageKey(serverOrigin, siteIdOf(siteToken))) !== null;
}

/**
 * Disconnects `client` once the page has stayed hidden for `graceMs`, and connects it again when
 * the page shows. A client that is stopped (a policy stop) or already disconnected is left as it
 * is; one still connecting (perhaps waiting out a backoff) is looked at again `graceMs` later.
 * Returns the function that stops watching.
 */
export function disconnectWhileHidden(
  client: Connectable,
  visibility: PageVisibility,
  clock: Clock,
  graceMs: number,
): () => void {
  let timer: unknown = null;
  let away = false;
  const leave = () => {
    timer = null;
    // Waiting out a backoff or a server's retry hint: a disconnect now and a connect on showing
    // would skip the wait and reset the attempt count (4008's cap of 8). Look again later.
    if (client.state === 'connecting') timer = clock.setTimeout(leave, graceMs);
    if (client.state !== 'connected') return;
    away = true;
    client.disconnect();
  };
  const changed = () => {
    if (timer !== null) clock.clearTimeout(timer);
    timer = null;
    if (visibility.hidden) {
      timer = clock.setTimeout(leave, graceMs);
    } else if (away) {
      away = false;
      client.connect();
    }
  };
  const unlisten = visibility.listen(changed);
  changed();
  return () => {
    unlisten();
    if (timer !== null) clock.clearTimeout(timer);
  };
}
