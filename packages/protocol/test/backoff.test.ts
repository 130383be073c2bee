import { describe, expect, it } from 'vitest';
import {
  BACKOFF_BASE_MS,
  BACKOFF_CAP_MS,
  backoffDelay,
  type ReconnectPlan,
  reconnectPlan,
} from '../src/backoff.js';

const nearlyOne = () => 0.999_999;
const zero = () => 0;
const half = () => 0.5;

function delayOf(plan: ReconnectPlan): number {
  if (plan.kind !== 'reconnect') throw new Error(`expected a reconnect, got ${plan.kind}`);
  return plan.delayMs;
}

describe('backoffDelay', () => {
  it('is full jitter: uniform in [0, min(cap, base·2^attempt))', () => {
    expect(backoffDelay(0, zero)).toBe(0);
    expect(backoffDelay(0, nearlyOne)).toBe(BACKOFF_BASE_MS - 1);
    expect(backoffDelay(1, nearlyOne)).toBe(2 * BACKOFF_BASE_MS - 1);
    expect(backoffDelay(3, half)).toBe(2000);
  });

  it('caps at 30 s, however many attempts', () => {
    expect(backoffDelay(6, nearlyOne)).toBe(BACKOFF_CAP_MS - 1);
    expect(backoffDelay(1000, nearlyOne)).toBe(BACKOFF_CAP_MS - 1);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, nearlyOne)).toBe(BACKOFF_CAP_MS - 1);
  });

  it('treats a negative or fractional attempt as its floor, at least 0', () => {
    expect(backoffDelay(-3, nearlyOne)).toBe(BACKOFF_BASE_MS - 1);
    expect(backoffDelay(1.9, nearlyOne)).toBe(2 * BACKOFF_BASE_MS - 1);
  });
});

describe('reconnectPlan', () => {
  it.each([1000, 4002, 4003, 4006])('stops for good on %i', (code) => {
    expect(reconnectPlan(code, '', 0, half)).toEqual({
      kind: 'stop',
      revival: 'never',
      resetState: false,
      clientBug: false,
    });
  });

  it.each([1002, 1003, 1007, 1009, 4000])('stops on %i and flags a client bug', (code) => {
    expect(reconnectPlan(code, '', 0, half)).toMatchObject({
      kind: 'stop',
      revival: 'never',
      clientBug: true,
    });
  });

  it.each([1006, 1011, 1012, 1015, 4007, 4010, 4014, 4999, 3001])('backs off on %i', (code) => {
    expect(reconnectPlan(code, '', 0, nearlyOne)).toEqual({
      kind: 'reconnect',
      delayMs: BACKOFF_BASE_MS - 1,
      refreshToken: false,
    });
    expect(delayOf(reconnectPlan(code, '', 10, nearlyOne))).toBe(BACKOFF_CAP_MS - 1);
  });

  it('ignores retry hints on codes that do not carry them', () => {
    expect(delayOf(reconnectPlan(1011, 'retry=300', 0, nearlyOne))).toBe(BACKOFF_BASE_MS - 1);
  });

  it.each([4001, 4011])('refreshes the token on %i and reconnects at once', (code) => {
    expect(reconnectPlan(code, '', 0, nearlyOne)).toEqual({
      kind: 'reconnect',
      delayMs: 0,
      refreshToken: true,
    });
  });

  it('backs off when a refreshed token keeps failing', () => {
    expect(reconnectPlan(4001, '', 3, half)).toEqual({
      kind: 'reconnect',
      delayMs: 2000,
      refreshToken: true,
    });
  });

  it('drops stored state on 4004 and waits for a user action', () => {
    expect(reconnectPlan(4004, '', 0, half)).toEqual({
      kind: 'stop',
      revival: 'user_action',
      resetState: true,
      clientBug: false,
    });
  });

  it('retries 4005 once on a user action or when visible', () => {
    expect(reconnectPlan(4005, '', 0, half)).toMatchObject({
      kind: 'stop',
      revival: 'user_action_or_visible',
      resetState: false,
    });
  });

  it('spreads the first reconnect after 1001 uniformly over 0–10 s', () => {
    expect(delayOf(reconnectPlan(1001, '', 0, zero))).toBe(0);
    expect(delayOf(reconnectPlan(1001, '', 0, half))).toBe(5000);
    expect(delayOf(reconnectPlan(1001, '', 0, nearlyOne))).toBe(9999);
    expect(reconnectPlan(1001, '', 0, half)).toMatchObject({ refreshToken: false });
  });

  it('spreads 1001 over the hint window when the server gives one', () => {
    expect(delayOf(reconnectPlan(1001, 'retry=30', 0, nearlyOne))).toBe(29_999);
  });

  it('waits at least the hint on 1013 and 4008', () => {
    for (const code of [1013, 4008]) {
      expect(delayOf(reconnectPlan(code, 'retry=15', 0, zero))).toBe(15_000);
      expect(delayOf(reconnectPlan(code, 'retry=15', 0, nearlyOne))).toBeLessThan(30_000);
      expect(delayOf(reconnectPlan(code, 'retry=15', 0, nearlyOne))).toBeGreaterThan(15_000);
      // Without a usable hint, plain backoff.
      expect(delayOf(reconnectPlan(code, 'retry=7', 0, nearlyOne))).toBe(BACKOFF_BASE_MS - 1);
    }
  });

  it('stops 4008 after 8 attempts until a user action', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      expect(reconnectPlan(4008, 'retry=5', attempt, half).kind).toBe('reconnect');
    }
    expect(reconnectPlan(4008, 'retry=5', 8, half)).toEqual({
      kind: 'stop',
      revival: 'user_action',
      resetState: false,
      clientBug: false,
    });
  });

  it('never caps attempts for other backoff codes', () => {
    expect(reconnectPlan(1006, '', 1000, half).kind).toBe('reconnect');
    expect(reconnectPlan(1013, '', 1000, half).kind).toBe('reconnect');
  });
});
