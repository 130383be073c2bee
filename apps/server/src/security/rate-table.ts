/**
 * "N events per window" limits (SPEC §5): connection attempts, sessions and HTTP requests per IP,
 * sessions per site, `send` frames per visitor, and client frames per socket.
 *
 * Algorithm: a sliding-window counter. Each key keeps two fixed-window counts (the current window
 * and the one before) and estimates the events of the last `windowMs` as
 * `previous × (unelapsed share of the current window) + current`. That is three numbers per key
 * whatever the traffic, with no burst of 2× the limit across a window edge (which a plain fixed
 * window allows), and it needs no timer: windows roll lazily when a key is next touched. GCRA
 * would be as cheap, but it cannot say how *far* over the limit a client is, which the handshake
 * (bare 429 only when far over) and the frame rate (4008 above twice the limit) need.
 *
 * Refused events count too: a client that keeps hammering stays refused until it slows down,
 * and `count` keeps growing so "far over the limit" can be seen. Windows are aligned to multiples
 * of `windowMs` on the injected clock, which should be monotonic (`performance.now`); a clock that
 * steps back never lowers a count.
 */

import {
  MSG_RATE_CLOSE_FACTOR,
  RETRY_HINT_SECONDS,
  type RetryHintSeconds,
} from '@postern/protocol';
import { LRUCache } from 'lru-cache';

/** What a rate limit decided about one event. */
export interface RateDecision {
  /** The event is within the limit. */
  readonly allowed: boolean;
  /** Estimated events in the last window including this one (refused ones too), rounded up. */
  readonly count: number;
  /** How long until an event of the same cost would be allowed; `0` when allowed. Never echo it
   * raw to a client: see {@link coarseRetryAfterSeconds}. */
  readonly retryAfterMs: number;
}

export interface RateTableOptions {
  /** Events allowed per window, e.g. `POSTERN_CONN_RATE`. */
  readonly limit: number;
  /** Window length in ms, e.g. `MINUTE_WINDOW_MS`. */
  readonly windowMs: number;
  /** Keys kept at most (`POSTERN_LIMITER_MAX_KEYS`); the least recently used is evicted. */
  readonly maxKeys: number;
  /** Clock in ms, preferably monotonic. */
  readonly now: () => number;
}

/**
 * A per-key rate limit in bounded memory.
 *
 * @example
 * const connections = createRateTable({ limit: 60, windowMs: 60_000, maxKeys: 100_000, now });
 * const attempt = connections.hit(ip);
 * if (attempt.count > 4 * 60) return refuse(429, coarseRetryAfterSeconds(attempt.retryAfterMs));
 * if (!attempt.allowed) closeAfterUpgrade(4008, formatRetryHint(attempt.retryAfterMs));
 */
export interface RateTable {
  /** Counts an event of `cost` (default 1) for `key` and decides it. */
  hit(key: string, cost?: number): RateDecision;
  /** What `hit(key, cost)` would decide, without counting it or refreshing the key's recency. */
  peek(key: string, cost?: number): RateDecision;
  /** Keys held (at most `maxKeys`). Idle keys stay until evicted; they cost no more than others. */
  readonly size: number;
  /** Keys evicted to stay within `maxKeys` since creation (a metric; never reset). */
  readonly evictions: number;
  /** Forgets every key. */
  clear(): void;
}

/** Two adjacent fixed windows of one key. Mutable: entries are updated in place. */
interface WindowCounts {
  start: number;
  current: number;
  previous: number;
}

function assertPositive(name: string, value: number, integer: boolean): void {
  if (!(value > 0 && Number.isFinite(value)) || (integer && !Number.isInteger(value))) {
    throw new RangeError(`${name} must be a positive ${integer ? 'integer' : 'number'}`);
  }
}

/**
 * Sliding-window arithmetic shared by the keyed table and the per-socket frame rate. Products
 * are taken before divisions so whole-millisecond clocks give exact integers at window edges.
 */
class SlidingWindow {
  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {
    assertPositive('limit', limit, true);
    assertPositive('windowMs', windowMs, false);
  }

  startOf(now: number): number {
    return Math.floor(now / this.windowMs) * this.windowMs;
  }

  fresh(now: number): WindowCounts {
    return { start: this.startOf(now), current: 0, previous: 0 };
  }

  /** Moves `counts` to the window holding `now`; a clock stepping back keeps the counts. */
  roll(counts: WindowCounts, now: number): void {
    const start = this.startOf(now);
    if (start <= counts.start) return;
    counts.previous = start - counts.start === this.windowMs ? counts.current : 0;
    counts.current = 0;
    counts.start = start;
  }

  estimate(counts: WindowCounts, now: number): number {
    const elapsed = Math.min(Math.max(now - counts.start, 0), this.windowMs);
    return (counts.previous * (this.windowMs - elapsed)) / this.windowMs + counts.current;
  }

  /** Time until `estimate + cost <= limit`, assuming no further events. */
  retryAfter(counts: WindowCounts, now: number, cost: number): number {
    const w = this.windowMs;
    const room = this.limit - cost;
    if (room < 0) return 2 * w; // never fits; answer the longest wait a window can explain
    const elapsed = Math.min(Math.max(now - counts.start, 0), w);
    if (counts.current <= room) {
      if (counts.previous === 0) return 0;
      const needed = w - ((room - counts.current) * w) / counts.previous;
      return Math.max(0, Math.ceil(needed - elapsed));
    }
    // Only once the current window has become the previous one and decayed enough.
    return Math.ceil(w - elapsed + (w - (room * w) / counts.current));
  }

  /** Decides an event already added to `counts`. */
  decide(counts: WindowCounts, now: number, cost: number): RateDecision {
    const count = Math.ceil(this.estimate(counts, now));
    const allowed = count <= this.limit;
    return { allowed, count, retryAfterMs: allowed ? 0 : this.retryAfter(counts, now, cost) };
  }
}

/**
 * The counts of a table's keys, by slot, in columns of numbers — three per limit: a key's entry in
 * the LRU holds only its slot (a small integer, stored inline), not an object with a boxed
 * timestamp. Columns grow by doubling up to `maxKeys`, so an idle table costs little.
 */
class SlotColumns {
  #columns: Float64Array[];

  constructor(
    private readonly maxKeys: number,
    limits: number,
  ) {
    this.#columns = Array.from({ length: limits * 3 }, () => new Float64Array(0));
  }

  /**
   * Makes sure `slot` exists, with every limit's window unused (start `NaN`, counts zero): a new
   * key starts afresh under each limit, whoever held the slot before.
   */
  claim(slot: number): void {
    const length = this.#columns[0]?.length ?? 0;
    if (slot >= length) {
      const grown = Math.min(this.maxKeys, Math.max(1024, length * 2, slot + 1));
      this.#columns = this.#columns.map((column) => {
        const bigger = new Float64Array(grown);
        bigger.set(column);
        return bigger;
      });
    }
    for (const [index, column] of this.#columns.entries()) column[slot] = index % 3 === 0 ? NaN : 0;
  }

  read(limit: number, slot: number, into: WindowCounts): WindowCounts {
    const at = limit * 3;
    into.start = (this.#columns[at] as Float64Array)[slot] as number;
    into.current = (this.#columns[at + 1] as Float64Array)[slot] as number;
    into.previous = (this.#columns[at + 2] as Float64Array)[slot] as number;
    return into;
  }

  write(limit: number, slot: number, counts: WindowCounts): void {
    const at = limit * 3;
    (this.#columns[at] as Float64Array)[slot] = counts.start;
    (this.#columns[at + 1] as Float64Array)[slot] = counts.current;
    (this.#columns[at + 2] as Float64Array)[slot] = counts.previous;
  }
}

export interface SharedRateTablesOptions {
  /** Window length in ms, the same for every limit. */
  readonly windowMs: number;
  /** Keys kept at most, together (`POSTERN_LIMITER_MAX_KEYS`); the least recently used is evicted. */
  readonly maxKeys: number;
  readonly now: () => number;
}

/**
 * Several limits over the same keys — the per-IP limits of HTTP requests, connection attempts and
 * new sessions — in one LRU: a key is stored once with a window per limit, not once per limit,
 * which is most of what a flood of distinct client addresses costs (docs/benchmarks.md,
 * "limiter"). Each view is a {@link RateTable} of its own limit; `size`, `evictions` and `clear`
 * are those of the shared keys (a view holds at most `maxKeys` keys, as each table must).
 */
export function createRateTables<Name extends string>(
  limits: Readonly<Record<Name, number>>,
  options: SharedRateTablesOptions,
): Record<Name, RateTable> {
  const names = Object.keys(limits) as Name[];
  const windows = names.map((name) => new SlidingWindow(limits[name], options.windowMs));
  const { now, maxKeys } = options;
  assertPositive('maxKeys', maxKeys, true);
  const columns = new SlotColumns(maxKeys, names.length);
  const free: number[] = [];
  let nextSlot = 0;
  let evictions = 0;
  const cache = new LRUCache<string, number>({
    max: maxKeys,
    // A key leaving (evicted, deleted, cleared) gives its slot back. Values are never replaced
    // ('set'): counts change in the columns, in place.
    dispose: (slot, _key, reason) => {
      if (reason === 'set') return;
      free.push(slot);
      if (reason === 'evict') evictions += 1;
    },
  });
  // One scratch record: the sliding-window arithmetic works on it between read and write.
  const scratch: WindowCounts = { start: 0, current: 0, previous: 0 };

  /** The slot of `key`, stored now with zero counts if it is new (evicting the oldest if full). */
  function slotOf(key: string): number {
    const held = cache.get(key);
    if (held !== undefined) return held;
    // Full: evict now, so the freed slot is known before the new key is stored.
    if (free.length === 0 && nextSlot >= maxKeys) cache.pop();
    const slot = free.length > 0 ? (free.pop() as number) : nextSlot++;
    columns.claim(slot);
    cache.set(key, slot);
    return slot;
  }

  const view = (index: number): RateTable => {
    const sliding = windows[index] as SlidingWindow;
    return {
      hit(key, cost = 1) {
        assertPositive('cost', cost, false);
        const t = now();
        const slot = slotOf(key);
        const counts = columns.read(index, slot, scratch);
        if (Number.isNaN(counts.start)) Object.assign(counts, sliding.fresh(t));
        else sliding.roll(counts, t);
        counts.current += cost;
        columns.write(index, slot, counts);
        return sliding.decide(counts, t, cost);
      },
      peek(key, cost = 1) {
        assertPositive('cost', cost, false);
        const t = now();
        const slot = cache.peek(key);
        const stored =
          slot === undefined
            ? null
            : columns.read(index, slot, { start: 0, current: 0, previous: 0 });
        const counts = stored === null || Number.isNaN(stored.start) ? sliding.fresh(t) : stored;
        sliding.roll(counts, t);
        counts.current += cost;
        return sliding.decide(counts, t, cost);
      },
      get size() {
        return cache.size;
      },
      get evictions() {
        return evictions;
      },
      clear() {
        cache.clear();
        free.length = 0;
        nextSlot = 0;
      },
    };
  };
  return Object.fromEntries(names.map((name, index) => [name, view(index)])) as Record<
    Name,
    RateTable
  >;
}

/** Creates a {@link RateTable}; throws a `RangeError` on a non-positive limit, window or size. */
export function createRateTable(options: RateTableOptions): RateTable {
  return createRateTables(
    { table: options.limit },
    { windowMs: options.windowMs, maxKeys: options.maxKeys, now: options.now },
  ).table;
}

/** What one client frame means for a socket's frame rate. */
export type FrameRateOutcome = 'ok' | 'limited_notify' | 'limited_silent' | 'close';

export interface SocketFrameRateOptions {
  /** Frames allowed per window (`POSTERN_MSG_RATE`). */
  readonly limit: number;
  /** Window length in ms (`MSG_RATE_WINDOW_MS`). */
  readonly windowMs: number;
  /** Close when the count goes above `limit × closeFactor` (default `MSG_RATE_CLOSE_FACTOR`, 2). */
  readonly closeFactor?: number;
  readonly now: () => number;
}

/** The frame rate of one socket, stored on the socket's own state (no global table). */
export interface SocketFrameRate {
  /**
   * Counts one client frame. `pong` and `refresh` are exempt (SPEC §5): the caller must not call
   * this for them, so a throttled client can still keep its connection and token alive.
   * - `ok`: handle the frame.
   * - `limited_notify`: drop it and send `error rate_limited` (first refused frame of a window).
   * - `limited_silent`: drop it without a reply (one error per window is enough).
   * - `close`: over `closeFactor ×` the limit; close 4008. Every later frame answers `close` too.
   */
  hit(): FrameRateOutcome;
}

/** Creates a {@link SocketFrameRate}; same sliding window as {@link createRateTable}. */
export function createSocketFrameRate(options: SocketFrameRateOptions): SocketFrameRate {
  const sliding = new SlidingWindow(options.limit, options.windowMs);
  const closeFactor = options.closeFactor ?? MSG_RATE_CLOSE_FACTOR;
  if (!(closeFactor >= 1 && Number.isFinite(closeFactor))) {
    throw new RangeError('closeFactor must be a number of at least 1');
  }
  const closeAbove = options.limit * closeFactor;
  const { now } = options;
  let counts: WindowCounts | undefined;
  let notifiedIn = Number.NEGATIVE_INFINITY;
  let closed = false;

  return {
    hit() {
      if (closed) return 'close';
      const t = now();
      if (counts === undefined) counts = sliding.fresh(t);
      else sliding.roll(counts, t);
      counts.current += 1;
      const count = Math.ceil(sliding.estimate(counts, t));
      if (count <= options.limit) return 'ok';
      if (count > closeAbove) {
        closed = true;
        return 'close';
      }
      if (notifiedIn === counts.start) return 'limited_silent';
      notifiedIn = counts.start;
      return 'limited_notify';
    },
  };
}

/**
 * A `Retry-After` value (seconds) for a wait of `ms`: the smallest allowed retry hint at or above
 * it, capped at the largest, so neither the header nor a `retry=` close reason reveals the limit.
 * Matches `formatRetryHint` from `@postern/protocol`, which formats the close reason.
 */
export function coarseRetryAfterSeconds(ms: number): RetryHintSeconds {
  const seconds = Math.max(0, ms) / 1000;
  const last = RETRY_HINT_SECONDS[RETRY_HINT_SECONDS.length - 1] as RetryHintSeconds;
  return RETRY_HINT_SECONDS.find((allowed) => allowed >= seconds) ?? last;
}
