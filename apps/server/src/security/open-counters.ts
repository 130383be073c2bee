/**
 * Counts of things that are *open* right now (SPEC §5): sockets per IP, per dialog, per visitor,
 * per operator, and in the whole process.
 *
 * These live in plain `Map`s, never in an evicting cache: evicting a live counter would silently
 * reset its limit, which is exactly how a flood of keys would lift it. Memory stays bounded anyway
 * because every socket first takes a global slot (`POSTERN_MAX_SOCKETS`), so no map can hold more
 * keys than there are open sockets, and an entry is deleted when its count returns to zero.
 */

/** Exact open counts per key, each capped at `limit`. */
export interface OpenCounter {
  /** Takes one slot for `key` and answers `true`, or answers `false` (and counts nothing) at the limit. */
  tryAcquire(key: string): boolean;
  /** Gives one slot of `key` back. Releasing a key with no slot is a no-op, counted in `mismatches`. */
  release(key: string): void;
  /** Open slots of `key` (0 when unknown). */
  count(key: string): number;
  readonly limit: number;
  /** Keys with at least one open slot. */
  readonly size: number;
  /** Open slots over all keys. */
  readonly total: number;
  /** Releases without a matching acquire: always a bug in the caller (a double release). */
  readonly mismatches: number;
}

function assertLimit(limit: number): void {
  if (!(Number.isInteger(limit) && limit > 0))
    throw new RangeError('limit must be a positive integer');
}

/**
 * Creates an {@link OpenCounter}; throws a `RangeError` unless `limit` is a positive integer.
 *
 * @example
 * const perIp = createOpenCounter({ limit: config.limits.POSTERN_MAX_SOCKETS_PER_IP });
 * if (!perIp.tryAcquire(ip)) return close(4008);
 * socket.once('close', () => perIp.release(ip));
 */
export function createOpenCounter(options: { readonly limit: number }): OpenCounter {
  const { limit } = options;
  assertLimit(limit);
  const counts = new Map<string, number>();
  let total = 0;
  let mismatches = 0;

  return {
    tryAcquire(key) {
      const current = counts.get(key) ?? 0;
      if (current >= limit) return false;
      counts.set(key, current + 1);
      total += 1;
      return true;
    },
    release(key) {
      const current = counts.get(key);
      if (current === undefined) {
        mismatches += 1;
        return;
      }
      if (current <= 1) counts.delete(key);
      else counts.set(key, current - 1);
      total -= 1;
    },
    count: (key) => counts.get(key) ?? 0,
    limit,
    get size() {
      return counts.size;
    },
    get total() {
      return total;
    },
    get mismatches() {
      return mismatches;
    },
  };
}

/** One process-wide cap (`POSTERN_MAX_SOCKETS`). */
export interface Capacity {
  tryAcquire(): boolean;
  /** Gives one slot back; a release with none taken is a no-op counted in `mismatches`. */
  release(): void;
  /** No slot is free: refuse before the upgrade (503) rather than after it. */
  readonly full: boolean;
  readonly inUse: number;
  readonly limit: number;
  readonly mismatches: number;
}

/** Creates a {@link Capacity}; throws a `RangeError` unless `limit` is a positive integer. */
export function createCapacity(options: { readonly limit: number }): Capacity {
  const counter = createOpenCounter(options);
  return {
    tryAcquire: () => counter.tryAcquire(''),
    release: () => counter.release(''),
    get full() {
      return counter.total >= counter.limit;
    },
    get inUse() {
      return counter.total;
    },
    limit: counter.limit,
    get mismatches() {
      return counter.mismatches;
    },
  };
}

/**
 * The limit that refused a socket. Callers map it: `global` → 503 before the upgrade, 1013 after;
 * `ip` → 4008; `dialog`, `visitor`, `operator` → 4005.
 */
export type SlotLimit = 'global' | 'ip' | 'dialog' | 'visitor' | 'operator';

/** The keys a socket counts against; the absent ones are skipped. */
export interface SlotKeys {
  readonly ip?: string | undefined;
  /** Visitor sockets only: the per-dialog limit counts visitor sockets (SPEC §5). */
  readonly dialog?: string | undefined;
  readonly visitor?: string | undefined;
  readonly operator?: string | undefined;
}

export interface SocketSlotCounters {
  readonly global: Capacity;
  readonly perIp: OpenCounter;
  readonly perDialog: OpenCounter;
  readonly perVisitor: OpenCounter;
  readonly perOperator: OpenCounter;
}

/** The slots one WebSocket connection holds for its lifetime. */
export interface SlotLease {
  /**
   * Takes more slots all-or-nothing (the identity ones, once `auth` has named it); answers the
   * refusing limit, or `null` when every slot was taken. Throws on a released lease: a slot taken
   * after the socket closed would never be given back, so check the socket is still open first.
   */
  add(keys: SlotKeys): SlotLimit | null;
  /** Gives every slot back. Idempotent: the close path may call it more than once. */
  release(): void;
  readonly released: boolean;
}

export type SlotGrant =
  | { readonly ok: true; readonly lease: SlotLease }
  | { readonly ok: false; readonly refusedBy: SlotLimit };

export interface SocketSlots {
  /**
   * Takes a global slot and one per key given, all or nothing, checked in the order global, ip,
   * dialog, visitor, operator (the first refusal is reported and everything taken is given back).
   */
  acquire(keys: SlotKeys): SlotGrant;
}

type Release = () => void;
/** What a slot step needs; both {@link OpenCounter} and {@link Capacity} fit. */
type Counter = Pick<OpenCounter, 'tryAcquire' | 'release'>;

/**
 * Creates {@link SocketSlots} over the given counters (which the caller keeps for metrics and
 * for the pre-upgrade `global.full` check).
 *
 * @example
 * const grant = slots.acquire({ ip }); // at the upgrade
 * if (!grant.ok) return close(grant.refusedBy === 'global' ? 1013 : 4008);
 * socket.once('close', grant.lease.release);
 * // after auth, after the last await, if the socket is still open:
 * const refused = grant.lease.add({ dialog, visitor });
 * if (refused) return close(4005);
 */
export function createSocketSlots(counters: SocketSlotCounters): SocketSlots {
  /** Takes the slots named by `keys`, or none; answers the releases taken or the refusal. */
  function take(keys: SlotKeys, withGlobal: boolean): Release[] | SlotLimit {
    const taken: Release[] = [];
    const steps: [SlotLimit, Counter, string | undefined][] = [
      ['ip', counters.perIp, keys.ip],
      ['dialog', counters.perDialog, keys.dialog],
      ['visitor', counters.perVisitor, keys.visitor],
      ['operator', counters.perOperator, keys.operator],
    ];
    if (withGlobal) steps.unshift(['global', counters.global, '']);
    for (const [limit, counter, key] of steps) {
      if (key === undefined) continue;
      if (!counter.tryAcquire(key)) {
        for (const release of taken.reverse()) release();
        return limit;
      }
      taken.push(() => counter.release(key));
    }
    return taken;
  }

  return {
    acquire(keys) {
      const first = take(keys, true);
      if (typeof first === 'string') return { ok: false, refusedBy: first };
      const held = first;
      let released = false;
      const lease: SlotLease = {
        add(more) {
          if (released) throw new Error('socket slots already released');
          const taken = take(more, false);
          if (typeof taken === 'string') return taken;
          held.push(...taken);
          return null;
        },
        release() {
          if (released) return;
          released = true;
          for (const release of held.splice(0).reverse()) release();
        },
        get released() {
          return released;
        },
      };
      return { ok: true, lease };
    },
  };
}
