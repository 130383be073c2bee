/**
 * Importing the SDK must not touch browser globals: it runs in Node during server-side rendering,
 * where `window` and `document` do not exist, and in browsers before the page is ready.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';

const BROWSER_GLOBALS = [
  'window',
  'document',
  'navigator',
  'localStorage',
  'sessionStorage',
  'WebSocket',
  'location',
  'addEventListener',
] as const;

/** Traps on every browser global; returns the names that were read. */
function trapBrowserGlobals(): { touched: string[]; restore: () => void } {
  const touched: string[] = [];
  const saved = new Map<string, PropertyDescriptor | undefined>();
  for (const name of BROWSER_GLOBALS) {
    saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        touched.push(name);
        return undefined;
      },
    });
  }
  return {
    touched,
    restore() {
      for (const [name, descriptor] of saved) {
        if (descriptor) Object.defineProperty(globalThis, name, descriptor);
        else Reflect.deleteProperty(globalThis, name);
      }
    },
  };
}

const built = new URL('../dist/index.js', import.meta.url);

describe('server-side import', () => {
  afterEach(() => {
    vi.resetModules();
  });

  it('runs in a context without window or document', () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    expect(typeof (globalThis as { document?: unknown }).document).toBe('undefined');
  });

  it('imports the source and constructs a client without touching a browser global', async () => {
    const trap = trapBrowserGlobals();
    try {
      const sdk = await import('../src/index.js');
      const client = new sdk.PosternClient({
        serverUrl: 'https://chat.example.com',
        siteToken: 'a.b.c',
      });
      expect(client.state).toBe('disconnected');
      expect(trap.touched).toEqual([]);
      // And the trap works: connecting does look for a WebSocket.
      expect(() => client.connect()).toThrow(expect.objectContaining({ code: 'ERR_CONFIG' }));
      expect(trap.touched).toContain('WebSocket');
    } finally {
      trap.restore();
    }
  });

  it.skipIf(!existsSync(built))('imports the built module the same way', async () => {
    const trap = trapBrowserGlobals();
    try {
      const sdk = (await import(/* @vite-ignore */ built.href)) as typeof import('../src/index.js');
      expect(typeof sdk.PosternClient).toBe('function');
      expect(trap.touched).toEqual([]);
    } finally {
      trap.restore();
    }
  });
});
