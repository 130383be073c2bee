/**
 * The embedded store: SQLite through better-sqlite3, WAL journal, migrations on open, and an
 * exclusive lock held for the life of the process (SPEC §1: one server process per database —
 * two processes each fanning out only to their own sockets is how events were lost before).
 * The methods live in two halves: sqlite-sessions.ts and sqlite-chat.ts.
 */
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';
import { sqliteAdminStore } from './sqlite-admin.js';
import { sqliteChatStore } from './sqlite-chat.js';
import { sqliteSessionStore } from './sqlite-sessions.js';
import type { Store } from './types.js';

/** Another process holds the database. */
/** The database cannot be used as it is; the message is one line for the operator. */
export class StoreOpenError extends Error {
  override name = 'StoreOpenError';
}

export class StoreLockedError extends StoreOpenError {
  override name = 'StoreLockedError';
  constructor() {
    super('the database is in use by another Postern process');
  }
}

export interface SqliteOptions {
  /** File path, or `:memory:`. */
  readonly path: string;
  /** `full` survives power loss; `normal` (default) survives a process crash (WAL). */
  readonly synchronous?: 'normal' | 'full';
}

/** The SQLite store, which can also copy itself while it runs. */
export interface SqliteStore extends Store {
  /**
   * Writes a consistent copy of the database to `destination` with better-sqlite3's online
   * backup, while writes go on. The file is created new with mode 0600 (it holds every message);
   * an existing file is refused, so the live database can never be the target.
   */
  backup(destination: string): Promise<void>;
}

/**
 * Opens `path` (creating it and its folder) with the exclusive lock held until close.
 *
 * @throws StoreLockedError when another process holds it
 */
export function openDatabase(path: string): Database.Database {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true });
    // Created owner-only when new: it holds every visitor's messages. SQLite gives its -wal and
    // -shm files the database file's permissions.
    closeSync(openSync(path, 'a', 0o600));
  }
  const db = new Database(path);
  try {
    // Exclusive locking before the first WAL access: no shared-memory index, and the lock taken
    // by the first write below is held until close, so a second process fails fast.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('busy_timeout = 0');
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN EXCLUSIVE; COMMIT;');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') throw new StoreLockedError();
    throw error;
  }
  return db;
}

function migrate(db: Database.Database): void {
  const applied = db.pragma('user_version', { simple: true }) as number;
  if (applied > MIGRATIONS.length) {
    throw new StoreOpenError(
      `the database schema (${applied}) is newer than this server knows (${MIGRATIONS.length}): run the newer Postern, or restore a backup made by this one`,
    );
  }
  for (let version = applied; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}

/** Opens (creating and migrating as needed) the SQLite store. */
export function openSqliteStore(options: SqliteOptions): SqliteStore {
  const db = openDatabase(options.path);
  let open = true;
  function guard(): void {
    if (!open) throw new Error('the store is closed');
  }

  let methods: Omit<Store, 'healthy' | 'close'>;
  try {
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('foreign_keys = ON');
    migrate(db);
    methods = {
      ...sqliteSessionStore(db, guard),
      ...sqliteChatStore(db, guard),
      ...sqliteAdminStore(db, guard),
    };
  } catch (error) {
    db.close(); // a failed open must not keep the lock
    throw error;
  }

  return {
    ...methods,
    healthy: () => open && db.open,
    async backup(destination) {
      guard();
      // 'wx' refuses an existing file atomically; SQLite keeps the mode of the file it fills.
      closeSync(openSync(destination, 'wx', 0o600));
      try {
        await db.backup(destination);
      } catch (error) {
        rmSync(destination, { force: true });
        throw error;
      }
    },
    async close() {
      if (!open) return;
      open = false;
      db.close();
    },
  };
}
