import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { type Harness, SHOP } from '../support/harness.js';
import {
  expectError,
  getWidgetMessages,
  newSession,
  postSession,
  startApiHarness,
} from './api-client.js';

let harness: Harness;
afterEach(() => harness.close());

/** A store whose dialog lookups fail the way a driver does: a message full of internals. */
function failingStore(): Store {
  const inner = openSqliteStore({ path: ':memory:' });
  return {
    ...inner,
    findDialog: async () => {
      throw new Error(
        'SqliteError: SQLITE_CORRUPT at /var/lib/postern/postern.db (better-sqlite3)',
      );
    },
  };
}

describe('API error bodies', () => {
  it('turn an unexpected failure into exactly {"error":"internal"}, still readable', async () => {
    harness = await startApiHarness({ store: failingStore() });
    const site = await harness.siteToken();
    const session = await newSession(harness, site.token);
    const res = await getWidgetMessages(
      harness,
      session.dialogId,
      `Bearer ${session.visitorToken}`,
    );
    expectError(res, 500, 'internal');
    expect(res.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(res.headers.get('cache-control')).toBe('no-store');
    // The operator still learns what happened, from the log.
    const logged = harness.logs.find((line) => line['event'] === 'http_error');
    expect(JSON.stringify(logged)).toContain('SQLITE_CORRUPT');
  });

  it.each([
    ['a refused origin', { origin: 'http://evil.test' }, 403, 'origin_not_allowed'],
    ['a bad body', { body: { refresh_token: 5 } }, 400, 'invalid_body'],
    ['an unknown refresh token', { body: { refresh_token: 'prt_x' } }, 401, 'refresh_invalid'],
  ] as const)('answer %s with only a stable code', async (_label, options, status, code) => {
    harness = await startApiHarness();
    const site = await harness.siteToken();
    const res = await postSession(harness, site.token, options);
    expectError(res, status, code);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(
      [...res.headers.keys()].filter((name) => /^x-(?!content-type-options)/.test(name)),
    ).toEqual([]);
  });
});
