/**
 * The SQLite store: the whole contract in memory and on disk, plus what only a database file
 * shows — durability across reopen, the upgrade from the first schema, the schema's own
 * invariants, and query plans that stay on indexes as tables grow.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { CHAT_SQL } from '../../src/store/sqlite-chat.js';
import type { Store } from '../../src/store/types.js';
import { describeStoreContract } from './contract.js';
import {
  assistantReply,
  change,
  OPERATOR,
  SHOP,
  seedVisitor,
  systemNote,
  T0,
  visitorSend,
} from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'postern-store-'));
let files = 0;
const freshPath = () => join(root, `db-${++files}`, 'postern.db');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeStoreContract('sqlite :memory:', () => openSqliteStore({ path: ':memory:' }));
describeStoreContract('sqlite file', () =>
  openSqliteStore({ path: freshPath(), synchronous: 'full' }),
);

describe('sqlite store on disk', () => {
  const opened: { close(): unknown }[] = [];
  const track = <T extends { close(): unknown }>(handle: T): T => {
    opened.push(handle);
    return handle;
  };
  afterEach(async () => {
    for (const handle of opened.splice(0).reverse()) await handle.close();
  });

  it('keeps every message, in order, and every head across a close and reopen', async () => {
    const path = freshPath();
    const first = openSqliteStore({ path, synchronous: 'full' });
    const a = await seedVisitor(first, 'a');
    const b = await seedVisitor(first, 'b');
    for (let round = 0; round < 5; round++) {
      await first.appendMessages([
        visitorSend(a, `${round}`, T0 + round),
        assistantReply(a.dialogId, `reply-${round}`, T0 + round),
        visitorSend(b, `${round}`, T0 + round),
      ]);
    }
    await first.setHandoff(b.dialogId, change.take(OPERATOR), systemNote('s-1', T0 + 9));
    const before = {
      a: await first.listMessages(a.dialogId, { limit: 100 }),
      b: await first.listMessages(b.dialogId, { limit: 100 }),
      dialogs: await first.listOpenDialogs({ sites: '*', limit: 10 }),
    };
    await first.close();

    const second = track(openSqliteStore({ path, synchronous: 'full' }));
    expect(await second.listMessages(a.dialogId, { limit: 100 })).toEqual(before.a);
    expect(await second.listMessages(b.dialogId, { limit: 100 })).toEqual(before.b);
    expect(before.a.map((m) => m.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(await second.listOpenDialogs({ sites: '*', limit: 10 })).toEqual(before.dialogs);
    expect(await second.listHeldDialogs(OPERATOR.id)).toMatchObject([{ id: b.dialogId }]);
    const [next] = await second.appendMessages([visitorSend(a, 'after')]);
    expect(next).toMatchObject({ kind: 'appended', message: { seq: 11 } });
    const [retry] = await second.appendMessages([visitorSend(a, '0')]);
    expect(retry).toEqual({ kind: 'duplicate', message: before.a[0] });
  });

  it('upgrades a database written by the first schema', async () => {
    const path = freshPath();
    await openSqliteStore({ path }).close(); // creates the directory and the file
    rmSync(path);
    const v1 = new Database(path);
    v1.exec(MIGRATIONS[0] as string);
    v1.pragma('user_version = 1');
    v1.exec(`
      INSERT INTO visitors VALUES ('visitor-v', 'site-a', '${SHOP}', ${T0});
      INSERT INTO dialogs (id, visitor_id, site_id, state, created_at, closed_at)
        VALUES ('dialog-old', 'visitor-v', 'site-a', 'closed', ${T0}, ${T0 + 1}),
               ('dialog-open', 'visitor-v', 'site-a', 'open', ${T0 + 2}, NULL);`);
    v1.close();

    const store = track(openSqliteStore({ path }));
    expect(await store.findDialog('dialog-old')).toMatchObject({
      state: 'closed',
      handoff: 'closed',
      lastSeq: 0,
      lastMessageAt: null,
      holder: null,
    });
    expect(await store.findDialog('dialog-open')).toMatchObject({
      state: 'open',
      handoff: 'assistant',
    });
    const visitor = { dialogId: 'dialog-open', visitorId: 'visitor-v' };
    const [result] = await store.appendMessages([visitorSend(visitor, 1)]);
    expect(result).toMatchObject({ kind: 'appended', message: { seq: 1 } });
    await store.close();
    const raw = track(new Database(path));
    expect(raw.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
  });

  it('refuses, in the schema itself, rows that break the chat invariants', async () => {
    const path = freshPath();
    const store = openSqliteStore({ path });
    const s = await seedVisitor(store, 'v');
    await store.appendMessages([visitorSend(s, 1)]);
    await store.close();
    const db = track(new Database(path));
    const refused = (sql: string) => expect(() => db.exec(sql)).toThrow(/constraint/i);
    refused(`UPDATE dialogs SET handoff_state = 'operator'`); // no holder
    refused(`UPDATE dialogs SET holder_id = 'op', holder_name = 'Op'`); // holder, not held
    refused(`UPDATE dialogs SET handoff_state = 'closed'`); // state still open
    refused(`UPDATE dialogs SET state = 'closed'`); // handoff still assistant
    refused(`UPDATE dialogs SET last_seq = 0`); // last_message_at set
    const message = (sender: string, senderId: string, client: string, seq: number) =>
      `INSERT INTO messages VALUES
         ('dialog-v', ${seq}, 'm-${seq}', ${client}, '${sender}', ${senderId}, 't', 1)`;
    refused(message('system', `'visitor-v'`, 'NULL', 2));
    refused(message('visitor', 'NULL', 'NULL', 2));
    refused(message('assistant', 'NULL', `'c'`, 2));
    refused(message('visitor', `'visitor-v'`, `'client-1'`, 2)); // the idempotency key
    refused(message('visitor', `'visitor-v'`, 'NULL', 1)); // seq taken
    refused(message('visitor', `'visitor-v'`, 'NULL', 0));
  });

  it('plans every chat statement on an index, never a full table scan', () => {
    const db = track(new Database(':memory:'));
    for (const migration of MIGRATIONS) db.exec(migration);
    for (const [name, sql] of Object.entries(CHAT_SQL)) {
      const named = [...sql.matchAll(/@(\w+)/g)].map((m) => m[1] as string);
      const positional = sql.split('?').length - 1;
      const params = named.length
        ? [Object.fromEntries(named.map((key) => [key, 1]))]
        : Array.from({ length: positional }, () => '[]');
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[];
      const scans = plan
        .map((p) => p.detail)
        .filter((d) => /^SCAN \w+$/.test(d) && !/json_each/.test(d));
      expect(scans, `${name}: ${plan.map((p) => p.detail).join(' | ')}`).toEqual([]);
    }
  });

  it('releases the database when an open fails', async () => {
    const path = freshPath();
    await openSqliteStore({ path }).close();
    const raw = new Database(path);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => openSqliteStore({ path })).toThrow(/newer/);
    const again = new Database(path);
    again.pragma(`user_version = ${MIGRATIONS.length}`); // would be SQLITE_BUSY if still locked
    again.close();
    const store: Store = track(openSqliteStore({ path }));
    expect(store.healthy()).toBe(true);
  });
});
