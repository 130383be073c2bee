/**
 * Restoring a backup into the database file, under the same exclusive lock a server holds: the
 * copy happens inside one transaction of a connection that owns the database, so no server can
 * run meanwhile and an interrupted restore rolls back to the old contents.
 *
 * SQLite's backup API cannot be used in this direction: its destination connection does not
 * respect a WAL database held in exclusive locking mode, and would report success while the
 * holder's journal later overwrote the restored pages.
 */
import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';
import { openDatabase } from './sqlite.js';

/** Why a file cannot be restored from. */
export class RestoreSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreSourceError';
  }
}

interface SchemaObject {
  type: 'table' | 'index' | 'trigger' | 'view';
  name: string;
  sql: string;
}

// Internal objects are made by SQLite itself (autoindexes, sqlite_sequence, statistics).
const SCHEMA_OF = (schema: string) =>
  `SELECT type, name, sql FROM ${schema}.sqlite_schema
    WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Refuses anything that is not an intact Postern database this version can open. */
export function checkRestoreSource(path: string): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const check = db.pragma('quick_check', { simple: true });
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = db
      .prepare(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN (?, ?)`)
      .pluck()
      .get('revocations', 'messages');
    if (check !== 'ok') throw new RestoreSourceError(`${path} is damaged (${String(check)})`);
    if (version < 1 || tables !== 2)
      throw new RestoreSourceError(`${path} is not a Postern database`);
    if (version > MIGRATIONS.length) {
      throw new RestoreSourceError(`${path} was written by a newer Postern (schema ${version})`);
    }
  } catch (error) {
    if (error instanceof RestoreSourceError) throw error;
    throw new RestoreSourceError(`${path} is not a Postern database (${(error as Error).message})`);
  } finally {
    db?.close();
  }
}

/** Replaces every object of `db`'s main schema with those of the attached `backup`. */
function replaceContents(db: Database.Database): void {
  const existing = db.prepare(SCHEMA_OF('main')).all() as SchemaObject[];
  // Views first (they name tables); dropping a table drops its indexes and triggers.
  for (const type of ['view', 'table'] as const) {
    for (const object of existing.filter((o) => o.type === type)) {
      db.exec(`DROP ${type.toUpperCase()} IF EXISTS main.${quote(object.name)}`);
    }
  }
  const wanted = db.prepare(SCHEMA_OF('backup')).all() as SchemaObject[];
  const ofType = (type: SchemaObject['type']) => wanted.filter((o) => o.type === type);
  for (const table of ofType('table')) {
    db.exec(table.sql);
    db.exec(`INSERT INTO main.${quote(table.name)} SELECT * FROM backup.${quote(table.name)}`);
  }
  for (const object of [...ofType('index'), ...ofType('trigger'), ...ofType('view')]) {
    db.exec(object.sql);
  }
  const version = db.pragma('backup.user_version', { simple: true }) as number;
  db.pragma(`main.user_version = ${Math.trunc(version)}`);
  const broken = db.pragma('main.foreign_key_check') as unknown[];
  if (broken.length > 0) throw new RestoreSourceError('the backup breaks its own foreign keys');
}

/**
 * Replaces the database at `path` with the one in `from` (checked first).
 *
 * @throws StoreLockedError when another process (a server) holds `path`
 * @throws RestoreSourceError when `from` is not a database this version can restore
 */
export function restoreDatabase(path: string, from: string): void {
  checkRestoreSource(from);
  const db = openDatabase(path);
  try {
    // Rows are copied table by table: references are checked once, at the end.
    db.pragma('foreign_keys = OFF');
    db.prepare('ATTACH DATABASE ? AS backup').run(from);
    try {
      db.transaction(() => replaceContents(db))();
    } finally {
      db.exec('DETACH DATABASE backup');
    }
  } finally {
    db.close();
  }
}
