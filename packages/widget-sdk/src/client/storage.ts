/**
 * Where the refresh token lives (SPEC §7 `data-storage`): `localStorage`, `sessionStorage` or
 * memory. Storage can be denied outright (sandboxed frames, blocked third-party storage) or fail
 * later (quota, a user clearing site data): any throw switches this store to memory for good, so a
 * chat keeps working and only loses persistence.
 */

/** The part of the Web Storage interface the client uses. */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** `local`, `session`, `memory`, or a storage object of your own. */
export type StorageChoice = 'local' | 'session' | 'memory' | StorageLike;

export interface KeyValueStore {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

/** The key of a site's refresh token: `postern:<server origin>:<site_id>`. */
export function storageKey(serverOrigin: string, siteId: string): string {
  return `postern:${serverOrigin}:${siteId}`;
}

/** A store over `choice`. Nothing is touched until the first read or write. */
export function openStore(choice: StorageChoice): KeyValueStore {
  const memory = new Map<string, string>();
  // undefined: not resolved yet; null: memory.
  let backend: StorageLike | null | undefined;

  function resolve(): StorageLike | null {
    if (backend === undefined) {
      try {
        backend =
          typeof choice === 'object'
            ? choice
            : choice === 'memory'
              ? null
              : // Reading the property itself throws SecurityError where storage is denied.
                ((choice === 'local' ? globalThis.localStorage : globalThis.sessionStorage) ??
                null);
      } catch {
        backend = null;
      }
    }
    return backend;
  }

  function use<T>(onStorage: (storage: StorageLike) => T, onMemory: () => T): T {
    const storage = resolve();
    if (storage) {
      try {
        return onStorage(storage);
      } catch {
        backend = null;
      }
    }
    return onMemory();
  }

  return {
    get: (key) =>
      use(
        (storage) => storage.getItem(key),
        () => memory.get(key) ?? null,
      ),
    set: (key, value) =>
      use(
        (storage) => storage.setItem(key, value),
        () => void memory.set(key, value),
      ),
    remove: (key) =>
      use(
        (storage) => storage.removeItem(key),
        () => void memory.delete(key),
      ),
  };
}
