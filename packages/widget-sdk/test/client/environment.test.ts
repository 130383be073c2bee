import { isUuid } from '@postern/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { randomUuid } from '../../src/client/environment.js';

describe('randomUuid', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('uses crypto.randomUUID where it exists', () => {
    vi.stubGlobal('crypto', { randomUUID: () => 'from-randomUUID' });
    expect(randomUuid()).toBe('from-randomUUID');
  });

  it('builds a version-4 UUID from getRandomValues on plain-http pages', () => {
    const real = globalThis.crypto;
    vi.stubGlobal('crypto', {
      getRandomValues: (array: Uint8Array<ArrayBuffer>) => real.getRandomValues(array),
    });
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const uuid = randomUuid();
      expect(isUuid(uuid), uuid).toBe(true);
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(uuid);
    }
    expect(seen.size).toBe(200);
  });
});
