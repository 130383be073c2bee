/**
 * Liveness of the socket. The server pings every `ping_interval_ms`; a silence longer than that
 * plus `HEARTBEAT_GRACE_MS` (protocol) means the connection is dead even if the socket says "open"
 * (a laptop that slept, a NAT that forgot the flow). Deadlines are wall-clock times compared
 * with `clock.now()`: background tabs throttle timers for minutes, so the timer only triggers a
 * check, and the client checks again whenever the page comes back or the network returns.
 */
import type { Clock } from './environment.js';

export interface Liveness {
  /** From now on, a silence longer than `silenceMs` means dead. */
  expect(silenceMs: number): void;
  /** A frame arrived. */
  seen(): void;
  /** Demands a frame within `ms`, sooner than the silence allowance would. */
  probe(ms: number): void;
  /** `false`, after reporting it, when the deadline has passed. */
  check(): boolean;
  stop(): void;
}

export function createLiveness(clock: Clock, dead: () => void): Liveness {
  let silenceMs = 0;
  let deadline = Infinity;
  let timer: unknown = null;
  let due = Infinity;

  // One timer at a time. A frame only moves the deadline later, so the running timer stays and
  // re-arms for the rest when it fires: no timer churn per frame.
  const arm = (at: number) => {
    if (!silenceMs) return;
    deadline = at;
    if (timer !== null) {
      if (due <= deadline) return;
      clock.clearTimeout(timer);
    }
    due = deadline;
    timer = clock.setTimeout(
      () => {
        timer = null;
        due = Infinity;
        if (liveness.check()) arm(deadline);
      },
      Math.max(0, deadline - clock.now()),
    );
  };

  const liveness: Liveness = {
    expect(ms) {
      silenceMs = ms;
      liveness.seen();
    },
    seen: () => arm(clock.now() + silenceMs),
    probe: (ms) => arm(Math.min(deadline, clock.now() + ms)),
    check() {
      if (clock.now() < deadline) return true;
      liveness.stop();
      dead();
      return false;
    },
    stop() {
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      silenceMs = 0;
      due = deadline = Infinity;
    },
  };
  return liveness;
}
