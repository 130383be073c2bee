/**
 * The refresh token as every tab sees it at once. `localStorage` is the token's home (SPEC §7),
 * but a browser may show one tab's write to another tab only later — Chromium forwards it between
 * renderer processes asynchronously — so a tab taking the Web Lock right after another released
 * it can still read the token the other has just rotated. IndexedDB transactions, in contrast,
 * are ordered by the browser across tabs: a write whose transaction completed before the lock was
 * released is what the next holder reads. The ledger is read and written only under the lock and
 * only for `local` storage (session and memory stores belong to one tab). It is a mirror, not the
 * token's home: any IndexedDB failure reads as "no record" and the caller falls back to the store.
 */

/** Cross-tab record of one refresh token. Never rejects. */
export interface Ledger {
  /** The token last recorded, `null` when it was dropped, `undefined` when there is no record. */
  read(): Promise<string | null | undefined>;
  /** Records `value` (`null`: dropped); resolves once other tabs would read it. */
  write(value: string | null): Promise<void>;
}

// Its own database, not the host page's: the widget runs in the host's origin, and any failure
// (a name taken by the host at another version, denied storage) only means "no record".
const DATABASE = 'postern-widget';
const STORE = 'refresh';

/** A ledger for `key` in the page's IndexedDB. A dropped token is kept as `''`. */
export function indexedDbLedger(factory: IDBFactory, key: string): Ledger {
  /** Reads the record, or writes `value`, in a transaction of its own; `undefined` on failure. */
  const run = (value?: string) =>
    new Promise<unknown>((resolve) => {
      try {
        const open = factory.open(DATABASE);
        open.onupgradeneeded = () => open.result.createObjectStore(STORE);
        open.onerror = () => resolve(undefined);
        open.onsuccess = () => {
          const db = open.result;
          const done = (result?: unknown) => {
            db.close();
            resolve(result);
          };
          try {
            const transaction = db.transaction(
              STORE,
              value === undefined ? 'readonly' : 'readwrite',
            );
            const store = transaction.objectStore(STORE);
            const request = value === undefined ? store.get(key) : store.put(value, key);
            // `complete`, not the request's `success`: only a committed write is what another
            // tab reads next. A failed request aborts its transaction.
            transaction.oncomplete = () => done(request.result);
            transaction.onabort = () => done();
          } catch {
            done();
          }
        };
      } catch {
        // Denied storage (opaque origins, some private modes) throws on `open`.
        resolve(undefined);
      }
    });
  return {
    read: async () => {
      const value = await run();
      return typeof value === 'string' ? value || null : undefined;
    },
    write: async (value) => void (await run(value ?? '')),
  };
}
