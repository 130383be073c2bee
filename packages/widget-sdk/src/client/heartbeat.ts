/**
 * Liveness of the socket. The server pings every `ping_interval_ms`; a silence longer than that
 * plus `HEARTBEAT_GRACE_MS` (protocol) means the connection is dead even if the socket says "open"
 * (a laptop that slept, a NAT that forgot the flow). Deadlines are wall-clock times compared
 * with `clock.now()`: background tabs throttle timers for minutes, so the timer only triggers a
 * check, and the client checks again whenever the page comes back or the network returns.
 */
import type { Clock } from './environment.js';

export class Liveness {
  #silenceMs = 0;
  #deadline = Number.POSITIVE_INFINITY;
  #timer: unknown = null;
  #due = Number.POSITIVE_INFINITY;

  readonly #clock: Clock;
  readonly #dead: () => void;

  constructor(clock: Clock, dead: () => void) {
    this.#clock = clock;
    this.#dead = dead;
  }

  /** From now on, a silence longer than `silenceMs` means dead. */
  expect(silenceMs: number): void {
    this.#silenceMs = silenceMs;
    this.seen();
  }

  /** A frame arrived. */
  seen(): void {
    if (this.#silenceMs === 0) return;
    this.#deadline = this.#clock.now() + this.#silenceMs;
    this.#arm();
  }

  /** Demands a frame within `ms`, sooner than the silence allowance would. */
  probe(ms: number): void {
    if (this.#silenceMs === 0) return;
    this.#deadline = Math.min(this.#deadline, this.#clock.now() + ms);
    this.#arm();
  }

  /** `false`, after reporting it, when the deadline has passed. */
  check(): boolean {
    if (this.#clock.now() < this.#deadline) return true;
    this.stop();
    this.#dead();
    return false;
  }

  stop(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#due = Number.POSITIVE_INFINITY;
    this.#silenceMs = 0;
    this.#deadline = Number.POSITIVE_INFINITY;
  }

  // One timer at a time. A frame only moves the deadline later, so the running timer stays and
  // re-arms for the rest when it fires: no timer churn per frame.
  #arm(): void {
    if (this.#timer !== null) {
      if (this.#due <= this.#deadline) return;
      this.#clock.clearTimeout(this.#timer);
    }
    this.#due = this.#deadline;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = null;
        this.#due = Number.POSITIVE_INFINITY;
        if (this.check()) this.#arm();
      },
      Math.max(0, this.#deadline - this.#clock.now()),
    );
  }
}
