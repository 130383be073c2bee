import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { formatRetryHint, RETRY_HINT_SECONDS } from '@postern/protocol';
import { describe, expect, it } from 'vitest';
import {
  coarseRetryAfterSeconds,
  createCapacity,
  createOpenCounter,
  createRateTable,
  createRateTables,
  createSocketFrameRate,
  createSocketSlots,
} from '../../src/security/limits.js';

const MINUTE = 60_000;

/** A clock the test moves by hand. */
function fakeClock(start = 0) {
  let t = start;
  return {
    now: () => t,
    set(ms: number) {
      t = ms;
    },
  };
}

function table(limit: number, maxKeys = 100) {
  const clock = fakeClock();
  return { clock, rates: createRateTable({ limit, windowMs: MINUTE, maxKeys, now: clock.now }) };
}

/** Heap in use after a full collection (the flag lets `gc` be fetched at run time). */
function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  return process.memoryUsage().heapUsed;
}

describe('createRateTables (limits over shared keys)', () => {
  function perIp(maxKeys = 100) {
    const clock = fakeClock();
    const views = createRateTables(
      { http: 3, conn: 1 },
      { windowMs: MINUTE, maxKeys, now: clock.now },
    );
    return { clock, ...views };
  }

  it('counts each limit on its own, for a key stored once', () => {
    const { http, conn } = perIp();
    for (let i = 0; i < 3; i++) expect(http.hit('ip').allowed).toBe(true);
    expect(http.hit('ip').allowed).toBe(false);
    // The same key under the other limit starts from zero, and has its own limit.
    expect(conn.hit('ip')).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
    expect(conn.hit('ip').allowed).toBe(false);
    expect(http.size).toBe(1);
    expect(conn.size).toBe(1);
  });

  it('evicts a key under every limit at once, and a key reusing its place starts afresh', () => {
    const { http, conn } = perIp(2);
    for (let i = 0; i < 5; i++) {
      http.hit('a');
      conn.hit('a');
    }
    http.hit('b');
    conn.hit('c'); // `a` is the least recently used of the shared keys
    expect(http.evictions).toBe(1);
    expect(conn.evictions).toBe(1);
    expect(http.peek('a').count).toBe(1);
    expect(conn.peek('a').count).toBe(1);
    // `c` took `a`'s place: nothing of `a` under either limit.
    expect(http.hit('c')).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
    expect(conn.peek('c').count).toBe(2);
  });

  it("rolls each limit's window from the first event under it, whenever the key was stored", () => {
    const { clock, http, conn } = perIp();
    http.hit('ip');
    clock.set(3 * MINUTE + 30_000);
    // First event under `conn`, minutes after the key was stored: a fresh window.
    expect(conn.hit('ip')).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
    expect(http.hit('ip').count).toBe(1); // the old window is long gone
  });
});

describe('createRateTable', () => {
  it('allows exactly `limit` events in a window and refuses the next', () => {
    const { rates } = table(3);
    expect([1, 2, 3].map(() => rates.hit('ip').allowed)).toEqual([true, true, true]);
    const refused = rates.hit('ip');
    expect(refused).toMatchObject({ allowed: false, count: 4 });
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    expect(rates.hit('other')).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
  });

  it('weighs the previous window by the unelapsed share of the current one', () => {
    const { clock, rates } = table(10);
    clock.set(1_000);
    for (let i = 0; i < 10; i++) rates.hit('ip');
    clock.set(MINUTE);
    expect(rates.peek('ip')).toMatchObject({ allowed: false, count: 11 });
    clock.set(MINUTE + MINUTE / 2); // 10 × ½ still counts: room for 5
    const allowed = [1, 2, 3, 4, 5, 6].map(() => rates.hit('ip'));
    expect(allowed.map((decision) => decision.allowed)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
    ]);
    expect(allowed.map((decision) => decision.count)).toEqual([6, 7, 8, 9, 10, 11]);
  });

  it('allows no burst of twice the limit across a window edge', () => {
    const { clock, rates } = table(10);
    clock.set(MINUTE - 1);
    for (let i = 0; i < 10; i++) expect(rates.hit('ip').allowed).toBe(true);
    clock.set(MINUTE);
    expect(rates.hit('ip').allowed).toBe(false);
  });

  it('forgets events two windows old', () => {
    const { clock, rates } = table(2);
    for (let i = 0; i < 5; i++) rates.hit('ip');
    clock.set(2 * MINUTE);
    expect(rates.hit('ip')).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
  });

  it('counts refused events, so `count` shows how far over the limit a client is', () => {
    const { rates } = table(5);
    let last = rates.hit('ip');
    for (let i = 1; i < 20; i++) last = rates.hit('ip');
    expect(last).toMatchObject({ allowed: false, count: 20 });
  });

  it('counts the cost of an event', () => {
    const { rates } = table(5);
    expect(rates.hit('ip', 3)).toMatchObject({ allowed: true, count: 3 });
    expect(rates.hit('ip', 3)).toMatchObject({ allowed: false, count: 6 });
  });

  it('answers a retry delay after which the next event is allowed, and not before', () => {
    // [events at 0, then the refused event at 0 or a window and a quarter later, the wait]:
    // over within the current window, and over only because the previous window still weighs.
    const scenarios: [number, number, number][] = [
      [11, 0, 75_000],
      [20, MINUTE + 15_000, 21_000],
    ];
    for (const [early, at, expected] of scenarios) {
      const { clock, rates } = table(10);
      for (let i = 0; i < early; i++) rates.hit('ip');
      clock.set(at);
      const refused = rates.hit('ip');
      expect(refused).toMatchObject({ allowed: false, retryAfterMs: expected });
      clock.set(clock.now() + expected - 1);
      expect(rates.peek('ip').allowed).toBe(false);
      clock.set(clock.now() + 1);
      expect(rates.peek('ip').allowed).toBe(true);
    }
  });

  it('peeks without counting, creating or refreshing a key', () => {
    const { rates } = table(2, 2);
    rates.hit('a');
    rates.hit('b');
    expect(rates.peek('a')).toEqual({ allowed: true, count: 2, retryAfterMs: 0 });
    expect(rates.peek('new')).toMatchObject({ allowed: true, count: 1 });
    expect(rates.size).toBe(2);
    rates.hit('c'); // `a` is still the least recently used: the peek did not refresh it
    expect(rates.peek('a').count).toBe(1);
    expect(rates.peek('b').count).toBe(2);
  });

  it('evicts the least recently used key', () => {
    const { rates } = table(10, 3);
    for (const key of ['a', 'b', 'c', 'a']) rates.hit(key);
    rates.hit('d');
    expect(rates.evictions).toBe(1);
    expect(rates.peek('b').count).toBe(1); // forgotten: only the peeked event
    expect(rates.peek('a').count).toBe(3);
  });

  it("gives an evicted key's storage to the new key with fresh counts", () => {
    const { rates } = table(3, 2);
    for (let i = 0; i < 5; i++) rates.hit('busy');
    expect(rates.peek('busy').allowed).toBe(false);
    rates.hit('other');
    // `busy` is the least recently used: `new` takes its place and must not inherit its count.
    expect(rates.hit('new')).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
    expect(rates.peek('other').count).toBe(2);
    expect(rates.peek('busy').count).toBe(1); // forgotten
    // After a clear, storage is reused from the start and still starts from zero.
    rates.clear();
    expect(rates.hit('busy')).toEqual({ allowed: true, count: 1, retryAfterMs: 0 });
  });

  it("keeps every key's count while its storage grows", () => {
    const { rates } = table(10, 5_000);
    for (let i = 0; i < 5_000; i++) rates.hit(`k${i}`);
    for (let i = 0; i < 5_000; i += 7) rates.hit(`k${i}`);
    for (let i = 0; i < 5_000; i++) {
      expect(rates.peek(`k${i}`).count).toBe(i % 7 === 0 ? 3 : 2);
    }
    expect(rates.evictions).toBe(0);
  });

  it('stays at `maxKeys` under 200,000 distinct keys, in bounded memory', () => {
    const { rates } = table(60, 1_000);
    const before = heapAfterGc();
    for (let i = 0; i < 200_000; i++) rates.hit(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    expect(rates.size).toBe(1_000);
    expect(rates.evictions).toBe(199_000);
    // Kept, the 200,000 entries would take over 20 MB; a bounded table holds well under 1 MB.
    expect(heapAfterGc() - before).toBeLessThan(8 * 1024 * 1024);
  });

  it('clears every key but keeps the eviction count', () => {
    const { rates } = table(10, 1);
    rates.hit('a');
    rates.hit('b');
    rates.clear();
    expect(rates.size).toBe(0);
    expect(rates.evictions).toBe(1);
    expect(rates.peek('b').count).toBe(1);
  });

  it('never lowers a count when the clock steps back', () => {
    const { clock, rates } = table(3);
    clock.set(5 * MINUTE);
    for (let i = 0; i < 3; i++) rates.hit('ip');
    clock.set(4 * MINUTE);
    expect(rates.hit('ip')).toMatchObject({ allowed: false, count: 4 });
  });

  it('refuses bad options and costs at once', () => {
    const now = () => 0;
    expect(() => createRateTable({ limit: 0, windowMs: 1, maxKeys: 1, now })).toThrow(RangeError);
    expect(() => createRateTable({ limit: 1, windowMs: -1, maxKeys: 1, now })).toThrow(RangeError);
    expect(() => createRateTable({ limit: 1, windowMs: 1, maxKeys: 1.5, now })).toThrow(RangeError);
    const { rates } = table(1);
    expect(() => rates.hit('ip', 0)).toThrow(RangeError);
    expect(() => rates.peek('ip', Number.NaN)).toThrow(RangeError);
  });
});

describe('coarseRetryAfterSeconds', () => {
  it('rounds up to the next allowed hint and caps at the largest', () => {
    const cases: [number, number][] = [
      [-1, 5],
      [0, 5],
      [5_000, 5],
      [5_001, 15],
      [29_999, 30],
      [60_000, 60],
      [60_001, 300],
      [3_600_000, 300],
    ];
    for (const [ms, seconds] of cases) expect(coarseRetryAfterSeconds(ms)).toBe(seconds);
  });

  it('agrees with the protocol retry hint', () => {
    for (let ms = 0; ms <= 400_000; ms += 2_500) {
      expect(formatRetryHint(ms)).toBe(`retry=${coarseRetryAfterSeconds(ms)}`);
    }
  });

  it('turns every refusal of a table into an allowed hint', () => {
    const { rates } = table(1);
    rates.hit('ip');
    const { retryAfterMs } = rates.hit('ip');
    expect(RETRY_HINT_SECONDS).toContain(coarseRetryAfterSeconds(retryAfterMs));
  });
});

describe('createSocketFrameRate', () => {
  function frames(limit: number) {
    const clock = fakeClock();
    return { clock, rate: createSocketFrameRate({ limit, windowMs: 10_000, now: clock.now }) };
  }

  it('notifies once per window and closes above twice the limit', () => {
    const { rate } = frames(5);
    const outcomes = Array.from({ length: 12 }, () => rate.hit());
    expect(outcomes).toEqual([
      ...Array(5).fill('ok'),
      'limited_notify',
      ...Array(4).fill('limited_silent'),
      'close',
      'close',
    ]);
  });

  it('notifies again in a later window and recovers once the flood has decayed', () => {
    const { clock, rate } = frames(5);
    for (let i = 0; i < 6; i++) rate.hit();
    clock.set(10_000); // previous window still weighs fully
    expect(rate.hit()).toBe('limited_notify');
    expect(rate.hit()).toBe('limited_silent');
    clock.set(30_000);
    expect(rate.hit()).toBe('ok');
  });

  it('honours a close factor', () => {
    const clock = fakeClock();
    const rate = createSocketFrameRate({
      limit: 2,
      windowMs: 1_000,
      closeFactor: 1,
      now: clock.now,
    });
    expect([rate.hit(), rate.hit(), rate.hit()]).toEqual(['ok', 'ok', 'close']);
    expect(() =>
      createSocketFrameRate({ limit: 2, windowMs: 1_000, closeFactor: 0.5, now: clock.now }),
    ).toThrow(RangeError);
  });
});

describe('createOpenCounter', () => {
  it('acquires up to the limit per key', () => {
    const counter = createOpenCounter({ limit: 2 });
    expect([counter.tryAcquire('a'), counter.tryAcquire('a'), counter.tryAcquire('a')]).toEqual([
      true,
      true,
      false,
    ]);
    expect(counter.tryAcquire('b')).toBe(true);
    expect([counter.count('a'), counter.count('b'), counter.count('c')]).toEqual([2, 1, 0]);
    expect([counter.size, counter.total]).toEqual([2, 3]);
  });

  it('returns to zero and deletes keys on release', () => {
    const counter = createOpenCounter({ limit: 2 });
    counter.tryAcquire('a');
    counter.tryAcquire('a');
    counter.release('a');
    expect(counter.count('a')).toBe(1);
    counter.release('a');
    expect([counter.count('a'), counter.size, counter.total, counter.mismatches]).toEqual([
      0, 0, 0, 0,
    ]);
  });

  it('never goes negative on a double or unknown release, and counts it', () => {
    const counter = createOpenCounter({ limit: 1 });
    counter.tryAcquire('a');
    counter.release('a');
    counter.release('a');
    counter.release('never');
    expect([counter.count('a'), counter.total, counter.size, counter.mismatches]).toEqual([
      0, 0, 0, 2,
    ]);
    expect(counter.tryAcquire('a')).toBe(true);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => createOpenCounter({ limit: 0 })).toThrow(RangeError);
    expect(() => createOpenCounter({ limit: 2.5 })).toThrow(RangeError);
  });
});

describe('createCapacity', () => {
  it('caps the process and counts bad releases', () => {
    const capacity = createCapacity({ limit: 2 });
    expect([capacity.tryAcquire(), capacity.tryAcquire(), capacity.tryAcquire()]).toEqual([
      true,
      true,
      false,
    ]);
    expect([capacity.full, capacity.inUse]).toEqual([true, 2]);
    capacity.release();
    capacity.release();
    capacity.release();
    expect([capacity.full, capacity.inUse, capacity.mismatches]).toEqual([false, 0, 1]);
  });
});

describe('createSocketSlots', () => {
  function counters(limits: { global?: number; perVisitor?: number } = {}) {
    return {
      global: createCapacity({ limit: limits.global ?? 10 }),
      perIp: createOpenCounter({ limit: 2 }),
      perDialog: createOpenCounter({ limit: 10 }),
      perVisitor: createOpenCounter({ limit: limits.perVisitor ?? 10 }),
      perOperator: createOpenCounter({ limit: 1 }),
    };
  }
  const usage = (c: ReturnType<typeof counters>) => [
    c.global.inUse,
    c.perIp.total,
    c.perDialog.total,
    c.perVisitor.total,
    c.perOperator.total,
  ];

  it('takes a global slot and one per key, and gives them all back', () => {
    const c = counters();
    const grant = createSocketSlots(c).acquire({ ip: 'ip', dialog: 'd', visitor: 'v' });
    if (!grant.ok) throw new Error(`refused by ${grant.refusedBy}`);
    expect(usage(c)).toEqual([1, 1, 1, 1, 0]);
    grant.lease.release();
    expect(usage(c)).toEqual([0, 0, 0, 0, 0]);
    expect([c.perIp.size, c.perDialog.size, c.perVisitor.size]).toEqual([0, 0, 0]);
  });

  it('takes all or nothing and names the limit that refused', () => {
    const c = counters({ perVisitor: 1 });
    const slots = createSocketSlots(c);
    expect(slots.acquire({ ip: 'ip', dialog: 'd', visitor: 'v' }).ok).toBe(true);
    expect(slots.acquire({ ip: 'ip', dialog: 'd', visitor: 'v' })).toEqual({
      ok: false,
      refusedBy: 'visitor',
    });
    expect(usage(c)).toEqual([1, 1, 1, 1, 0]);
    expect(slots.acquire({ ip: 'ip', operator: 'op' }).ok).toBe(true);
    expect(slots.acquire({ ip: 'other', operator: 'op' })).toEqual({
      ok: false,
      refusedBy: 'operator',
    });
    expect(slots.acquire({ ip: 'ip' })).toEqual({ ok: false, refusedBy: 'ip' });
    expect(usage(c)).toEqual([2, 2, 1, 1, 1]);
  });

  it('checks global capacity first', () => {
    const c = counters({ global: 1 });
    const slots = createSocketSlots(c);
    expect(slots.acquire({ ip: 'ip' }).ok).toBe(true);
    expect(slots.acquire({ ip: 'ip' })).toEqual({ ok: false, refusedBy: 'global' });
  });

  it('releases once however often release is called', () => {
    const c = counters();
    const slots = createSocketSlots(c);
    const first = slots.acquire({ ip: 'ip', visitor: 'v' });
    const second = slots.acquire({ ip: 'ip', visitor: 'v' });
    if (!first.ok || !second.ok) throw new Error('refused');
    first.lease.release();
    first.lease.release();
    expect(first.lease.released).toBe(true);
    expect(usage(c)).toEqual([1, 1, 0, 1, 0]);
    expect([c.global.mismatches, c.perIp.mismatches, c.perVisitor.mismatches]).toEqual([0, 0, 0]);
  });

  it('adds identity slots after auth, all or nothing, held by the same lease', () => {
    const c = counters({ perVisitor: 1 });
    const slots = createSocketSlots(c);
    const first = slots.acquire({ ip: 'ip' });
    const second = slots.acquire({ ip: 'ip2' });
    if (!first.ok || !second.ok) throw new Error('refused');
    expect(first.lease.add({ dialog: 'd', visitor: 'v' })).toBeNull();
    expect(second.lease.add({ dialog: 'd', visitor: 'v' })).toBe('visitor');
    expect(usage(c)).toEqual([2, 2, 1, 1, 0]);
    first.lease.release();
    second.lease.release();
    expect(usage(c)).toEqual([0, 0, 0, 0, 0]);
    expect(() => first.lease.add({ visitor: 'v' })).toThrow('released');
    expect(usage(c)).toEqual([0, 0, 0, 0, 0]);
  });
});
