/**
 * Periodic housekeeping (SPEC §3): dialogs idle for POSTERN_DIALOG_IDLE_CLOSE_MS close (with
 * their system message, published like any handoff change); visitors, refresh families and
 * dialogs with no messages are purged after 24 h. One timer, cleared on close.
 */
import { EMPTY_SESSION_PURGE_MS } from '@postern/protocol';
import type { Logger } from '../log.js';
import type { IdleClosure, Store } from '../store/types.js';

export interface SweeperOptions {
  readonly store: Store;
  readonly now: () => number;
  readonly newId: () => string;
  readonly log: Logger;
  readonly idleCloseMs: number;
  /** How often to sweep. */
  readonly intervalMs: number;
  readonly onClosed: (closure: IdleClosure) => void;
}

const IDLE_CLOSE_TEXT = 'This conversation was closed after a long silence.';

export function startSweeper(options: SweeperOptions): { sweep(): Promise<void>; close(): void } {
  let running: Promise<void> | null = null;

  async function sweep(): Promise<void> {
    const now = options.now();
    const closed = await options.store.closeIdleDialogs(
      now - options.idleCloseMs,
      now,
      IDLE_CLOSE_TEXT,
      options.newId,
    );
    for (const closure of closed) options.onClosed(closure);
    const purged = await options.store.purgeEmpty(now - EMPTY_SESSION_PURGE_MS);
    if (closed.length > 0 || purged.visitors > 0 || purged.dialogs > 0) {
      options.log.info('sweep', { closed: closed.length, ...purged });
    }
  }

  const timer = setInterval(() => {
    if (running) return;
    running = sweep()
      .catch((error: unknown) => options.log.error('sweep_failed', { error }))
      .finally(() => {
        running = null;
      });
  }, options.intervalMs);
  timer.unref();

  return {
    sweep,
    close: () => clearInterval(timer),
  };
}
