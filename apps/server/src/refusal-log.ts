/**
 * Sampled refusal lines. A flood of refused requests must not become a flood of log lines (the
 * cost would move from the server to its disk and log pipeline), so each refusal reason writes at
 * most one line per interval; the next line written for that reason carries `suppressed`, the
 * number of lines dropped since the previous one.
 *
 * Memory is bounded by construction: one slot per reason in fixed lists, allocated up front.
 * A reason outside its list is counted under `other`, so nothing a client sends can add a slot.
 */

import type { LogFields, Logger } from './log.js';
import {
  CLOSE_CODE_LABELS,
  HANDSHAKE_REFUSALS,
  HTTP_ERROR_CODES,
  OTHER,
} from './metrics/labels.js';

/**
 * - `ws_handshake`: a WebSocket handshake refused before or right after the upgrade (by reason);
 * - `ws_auth`: a connection closed before it became ready (by close code);
 * - `http`: an API request answered with an error (by error code).
 */
export type RefusalEvent = 'ws_handshake' | 'ws_auth' | 'http';

const REASONS: { readonly [E in RefusalEvent]: readonly string[] } = {
  ws_handshake: HANDSHAKE_REFUSALS,
  ws_auth: CLOSE_CODE_LABELS,
  http: HTTP_ERROR_CODES,
};

/** At most one line per reason per this long. */
export const REFUSAL_LOG_INTERVAL_MS = 1_000;

export interface RefusalLog {
  /**
   * Logs `<event>_refused` with `reason` and `fields`, unless a line for the same event and reason
   * was written less than the interval ago (then it only counts the line as suppressed).
   */
  refused(event: RefusalEvent, reason: string, fields?: LogFields): void;
}

interface Slot {
  lastAt: number;
  suppressed: number;
}

export interface RefusalLogOptions {
  readonly log: Logger;
  readonly now: () => number;
  readonly intervalMs?: number;
}

export function createRefusalLog(options: RefusalLogOptions): RefusalLog {
  const { log, now } = options;
  const intervalMs = options.intervalMs ?? REFUSAL_LOG_INTERVAL_MS;
  const slots = new Map<string, Slot>();
  for (const [event, reasons] of Object.entries(REASONS)) {
    for (const reason of [...reasons, OTHER]) {
      slots.set(`${event}:${reason}`, { lastAt: Number.NEGATIVE_INFINITY, suppressed: 0 });
    }
  }

  return {
    refused(event, reason, fields = {}) {
      const known = slots.has(`${event}:${reason}`) ? reason : OTHER;
      const slot = slots.get(`${event}:${known}`);
      if (slot === undefined) return; // not a RefusalEvent: the types forbid it
      const at = now();
      // `at < lastAt`: a clock stepping back must not silence a reason for good.
      if (at - slot.lastAt < intervalMs && at >= slot.lastAt) {
        slot.suppressed += 1;
        return;
      }
      log.info(`${event}_refused`, { ...fields, reason: known, suppressed: slot.suppressed });
      slot.lastAt = at;
      slot.suppressed = 0;
    },
  };
}
