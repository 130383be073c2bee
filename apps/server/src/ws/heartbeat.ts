/**
 * Server heartbeat (SPEC §4): a `ping` every interval; no matching `pong` within the timeout
 * means the peer is gone (4010). Timers come from the connection's own scheduler, so the
 * connection's close funnel clears them with everything else.
 */

export interface HeartbeatOptions {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** The connection's scheduler: its timers are cleared when the connection closes. */
  readonly after: (ms: number, fn: () => void) => NodeJS.Timeout;
  readonly cancel: (timer: NodeJS.Timeout) => void;
  readonly sendPing: (id: number) => void;
  /** No pong in time. */
  readonly onDead: () => void;
  /** The clock for round trips; default `Date.now`. */
  readonly now?: () => number;
  /** A pong answered the latest ping after `ms` (for the round-trip metric). */
  readonly onRoundTrip?: (ms: number) => void;
}

export interface Heartbeat {
  start(): void;
  /** A `pong` arrived; an id never sent is ignored. */
  pong(id: number): void;
}

export function createHeartbeat(options: HeartbeatOptions): Heartbeat {
  let nextId = 1;
  // The oldest unanswered ping and its deadline; an answer to it or to any later ping clears it.
  let outstanding: { id: number; deadline: NodeJS.Timeout } | null = null;
  // Only the latest ping is timed: one entry per socket, whatever a peer does with its pongs.
  let latest: { id: number; sentAt: number; answered: boolean } | null = null;
  const now = options.now ?? Date.now;

  function ping(): void {
    const id = nextId++;
    latest = { id, sentAt: now(), answered: false };
    options.sendPing(id);
    outstanding ??= { id, deadline: options.after(options.timeoutMs, options.onDead) };
    options.after(options.intervalMs, ping);
  }

  return {
    start: () => void options.after(options.intervalMs, ping),
    pong(id) {
      if (latest !== null && id === latest.id && !latest.answered) {
        latest.answered = true;
        options.onRoundTrip?.(now() - latest.sentAt);
      }
      if (outstanding === null || id < outstanding.id || id >= nextId) return;
      options.cancel(outstanding.deadline);
      outstanding = null;
    },
  };
}
