/**
 * Importing the SDK must not touch browser globals: it runs in Node during server-side rendering,
 * where `window` and `document` do not exist, and in browsers before the page is ready.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

type Sdk = typeof import('../src/index.js');

/**
 * Imports the SDK with every browser global trapped, constructs a client and connects it: nothing
 * may be read until `connect()`, which must then look for a WebSocket (so the trap is live) and
 * refuse with `ERR_CONFIG` for want of one.
 */
async function importUntouched(load: () => Promise<Sdk>): Promise<void> {
  const trap = trapBrowserGlobals();
  try {
    const sdk = await load();
    const client = new sdk.PosternClient({
      serverUrl: 'https://chat.example.com',
      siteToken: 'a.b.c',
    });
    expect(client.state).toBe('disconnected');
    expect(trap.touched).toEqual([]);
    expect(() => client.connect()).toThrow(
      expect.objectContaining({ code: 'ERR_CONFIG', message: 'no WebSocket' }),
    );
    expect(trap.touched).toContain('WebSocket');
  } finally {
    trap.restore();
  }
}

const built = new URL('../dist/index.js', import.meta.url);
const isBuilt = existsSync(built);
// CI builds every package before it tests, so there a missing build is a failure, not a skip.
const mustBeBuilt = Boolean(process.env['CI']);

describe('server-side import', () => {
  afterEach(() => {
    vi.resetModules();
  });

  it('runs where the SDK finds no browser: no window, no document, no page signals', async () => {
    expect('window' in globalThis).toBe(false);
    expect('document' in globalThis).toBe(false);
    const { browserPage } = await import('../src/client/page.js');
    expect(browserPage()).toBeNull();
  });

  it('imports the source and constructs a client without touching a browser global', async () => {
    await importUntouched(() => import('../src/index.js'));
  });

  it.skipIf(!isBuilt && !mustBeBuilt)('imports the built module the same way', async () => {
    expect(
      isBuilt,
      `${fileURLToPath(built)} is missing: build the SDK first (node scripts/pnpm.mjs --filter @postern/widget-sdk build)`,
    ).toBe(true);
    await importUntouched(() => import(/* @vite-ignore */ built.href) as Promise<Sdk>);
  });
});
