import { describe, expect, it } from 'vitest';
import { DEFAULTS, MESSAGE_TEXT_MAX } from '../src/limits.js';

describe('limits', () => {
  it('names every default by its POSTERN_ variable', () => {
    for (const name of Object.keys(DEFAULTS)) expect(name).toMatch(/^POSTERN_[A-Z0-9_]+$/);
  });

  it('keeps the defaults of SPEC §3–§6', () => {
    expect(DEFAULTS).toMatchObject({
      POSTERN_PORT: 8787,
      POSTERN_VISITOR_TTL_S: 900,
      POSTERN_REFRESH_IDLE_S: 604_800,
      POSTERN_REFRESH_MAX_S: 2_592_000,
      POSTERN_REFRESH_GRACE_MS: 30_000,
      POSTERN_MAX_FRAME_BYTES: 16_384,
      POSTERN_CONN_RATE: 60,
      POSTERN_MAX_SOCKETS: 10_000,
      POSTERN_LIMITER_MAX_KEYS: 100_000,
      POSTERN_IPV6_PREFIX: 56,
    });
    expect(MESSAGE_TEXT_MAX).toBe(4000);
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
  });
});
