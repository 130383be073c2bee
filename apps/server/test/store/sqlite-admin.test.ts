/**
 * What only the SQLite store does for administration: the online backup of a live database, and
 * visitor export/erasure that stay on indexes however many visitors there are.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openSqliteStore, type SqliteStore, StoreLockedError } from '../../src/store/sqlite.js';
import { ADMIN_SQL } from '../../src/store/sqlite-admin.js';
import { RestoreSourceError, restoreDatabase } from '../../src/store/sqlite-restore.js';
import { fill, seedVisitor, visitorSend } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'postern-store-admin-'));
let files = 0;
const freshPath = () => join(root, `db-${++files}`, 'postern.db');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sqlite store administration', () => {
  const opened: SqliteStore[] = [];
  const open = (path: string) => {
    const store = openSqliteStore({ path });
    opened.push(store);
    return store;
  };
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });

  it('backs up a live database while it is written, into a new file only its owner reads', async () => {
    const store = open(freshPath());
    const a = await seedVisitor(store, 'a');
    await fill(store, a, 50);
    const out = join(root, `backup-${++files}.db`);
    // Writes interleaved with the backup's steps end up in the copy or not; the copy is whole.
    const writes = Array.from({ length: 20 }, (_, i) =>
      store.appendMessages([visitorSend(a, `late-${i}`)]),
    );
    await Promise.all([store.backup(out), ...writes]);
    expect(statSync(out).mode & 0o777).toBe(0o600);

    const copy = open(out);
    const messages = await copy.listMessages(a.dialogId, { limit: 100 });
    expect(messages.length).toBeGreaterThanOrEqual(50);
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1));
    // The live store is still the one that serves.
    expect(await store.listMessages(a.dialogId, { afterSeq: 69, limit: 5 })).toHaveLength(1);
  });

  it('refuses to back up onto an existing file, and leaves that file alone', async () => {
    const path = freshPath();
    const store = open(path);
    const existing = join(root, `existing-${++files}.db`);
    writeFileSync(existing, 'keep me');
    await expect(store.backup(existing)).rejects.toThrow(/EEXIST/);
    await expect(store.backup(path)).rejects.toThrow(/EEXIST/);
    expect(statSync(existing).size).toBe('keep me'.length);
  });

  it('restores a backup over a database with other contents, in place of all of them', async () => {
    const source = open(freshPath());
    const a = await seedVisitor(source, 'a');
    await fill(source, a, 3);
    await source.addRevocation({ kind: 'site', target: 's', revokedAt: 1, actor: 'cli' });
    const out = join(root, `restore-src-${++files}.db`);
    await source.backup(out);

    const target = freshPath();
    const before = openSqliteStore({ path: target });
    const b = await seedVisitor(before, 'b');
    await before.close();
    restoreDatabase(target, out);

    const after = open(target);
    expect(await after.findVisitor(b.visitorId)).toBeNull();
    expect(await after.listMessages(a.dialogId, { limit: 10 })).toEqual(
      await source.listMessages(a.dialogId, { limit: 10 }),
    );
    expect(await after.listRevocations()).toHaveLength(1);
    // Every index and constraint came along: the seq and idempotency rules still hold.
    const [again] = await after.appendMessages([visitorSend(a, 1)]);
    expect(again).toMatchObject({ kind: 'duplicate', message: { seq: 1 } });
  });

  it('refuses to restore into a database a server holds, and leaves it as it was', async () => {
    const source = open(freshPath());
    await seedVisitor(source, 'a');
    const out = join(root, `restore-src-${++files}.db`);
    await source.backup(out);
    const path = freshPath();
    const held = open(path);
    await seedVisitor(held, 'held');
    expect(() => restoreDatabase(path, out)).toThrow(StoreLockedError);
    expect(await held.findVisitor('visitor-held')).not.toBeNull();
    expect(await held.findVisitor('visitor-a')).toBeNull();
  });

  it('refuses a file that is not a Postern database this version knows', async () => {
    const text = join(root, `text-${++files}.db`);
    writeFileSync(text, 'not a database at all, just some text that is long enough '.repeat(20));
    expect(() => restoreDatabase(freshPath(), text)).toThrow(RestoreSourceError);
    const other = join(root, `other-${++files}.db`);
    const foreign = new Database(other);
    foreign.exec('CREATE TABLE t (x)');
    foreign.close();
    expect(() => restoreDatabase(freshPath(), other)).toThrow(/not a Postern database/);
    const newer = join(root, `newer-${++files}.db`);
    await open(newer).close();
    const raw = new Database(newer);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    expect(() => restoreDatabase(freshPath(), newer)).toThrow(/newer Postern/);
  });

  it('plans the visitor statements on indexes, never a full table scan', () => {
    const db = new Database(':memory:');
    try {
      for (const migration of MIGRATIONS) db.exec(migration);
      for (const name of [
        'findVisitor',
        'familiesOf',
        'dialogsOf',
        'messagesOf',
        'countMessagesOf',
        'countDialogsOf',
        'countFamiliesOf',
        'deleteVisitor',
      ] as const) {
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${ADMIN_SQL[name]}`).all('v') as {
          detail: string;
        }[];
        const scans = plan.map((p) => p.detail).filter((d) => /^SCAN \w+$/.test(d));
        expect(scans, `${name}: ${plan.map((p) => p.detail).join(' | ')}`).toEqual([]);
      }
    } finally {
      db.close();
    }
  });
});
