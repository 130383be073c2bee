import { afterEach, describe, expect, it, vi } from 'vitest';
import { openStore, type StorageLike, storageKey } from '../../src/client/storage.js';
import { MemoryStorage } from './fakes.js';

describe('storage choice', () => {
  it('keys a site’s refresh token by server origin and site id', () => {
    expect(storageKey('https://chat.example.com', 'site_1')).toBe(
      'postern:https://chat.example.com:site_1',
    );
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('uses localStorage or sessionStorage as chosen, looked up at first use', () => {
    const local = new MemoryStorage();
    const session = new MemoryStorage();
    vi.stubGlobal('localStorage', local);
    vi.stubGlobal('sessionStorage', session);
    openStore('session').set('k', 'v');
    openStore('local').set('k', 'w');
    expect(session.data.get('k')).toBe('v');
    expect(local.data.get('k')).toBe('w');
  });

  it('falls back to memory when storage is denied or throws', () => {
    Object.defineProperty(globalThis, 'localStorage', {
      configurable: true,
      get() {
        throw new DOMException('denied', 'SecurityError');
      },
    });
    try {
      const denied = openStore('local');
      denied.set('k', 'v');
      expect(denied.get('k')).toBe('v');
    } finally {
      Reflect.deleteProperty(globalThis, 'localStorage');
    }
    const full: StorageLike = {
      getItem: () => null,
      setItem: () => {
        throw new DOMException('quota', 'QuotaExceededError');
      },
      removeItem: () => {},
    };
    const store = openStore(full);
    store.set('k', 'kept in memory');
    expect(store.get('k')).toBe('kept in memory');
    store.remove('k');
    expect(store.get('k')).toBeNull();
  });

  it('keeps memory storage in memory only', () => {
    const local = new MemoryStorage();
    vi.stubGlobal('localStorage', local);
    const store = openStore('memory');
    store.set('k', 'v');
    expect(store.get('k')).toBe('v');
    expect(local.calls).toEqual([]);
  });
});
