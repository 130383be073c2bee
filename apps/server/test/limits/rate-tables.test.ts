/**
 * SPEC §5: every rate table is an lru-cache with a `max`, so a flood of distinct keys costs
 * bounded memory; refusals never echo a limit (`{"error":"rate_limited"}`, coarse Retry-After).
 */
import { DEFAULTS, RETRY_HINT_SECONDS } from '@postern/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RateTable, RateTableOptions } from '../../src/security/rate-table.js';
import { type Harness, rawHandshake, SHOP, startHarness } from '../support/harness.js';

// Every rate table the server creates, captured where it is created (see the report: a read-only
// `PosternServer.limits` accessor would make this mock unnecessary).
const captured = vi.hoisted(() => ({
  /** `shared`: the group of views whose keys are one store (`null` for a table of its own). */
  tables: [] as { options: RateTableOptions; table: RateTable; shared: string | null }[],
}));
vi.mock(import('../../src/security/rate-table.js'), async (importOriginal) => {
  const actual = await importOriginal();
  return {
    ...actual,
    createRateTable: (options: RateTableOptions) => {
      const table = actual.createRateTable(options);
      captured.tables.push({ options, table, shared: null });
      return table;
    },
    // Views over shared keys (the per-IP limits): each is a table of its own limit.
    createRateTables: (limits, options) => {
      const views = actual.createRateTables(limits, options);
      const group = Object.keys(limits).join('+');
      for (const [name, table] of Object.entries(views) as [string, RateTable][]) {
        const limit = limits[name as keyof typeof limits] as number;
        captured.tables.push({ options: { ...options, limit }, table, shared: group });
      }
      return views;
    },
  };
});

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Starts a server and answers the rate tables it created. */
async function start(env: Record<string, string> = {}) {
  const before = captured.tables.length;
  harness = await startHarness({ env });
  return { h: harness, tables: captured.tables.slice(before) };
}

const coarse = RETRY_HINT_SECONDS.map(String);
/** Headers that would describe a limit (X-RateLimit-*, RateLimit-Remaining, …): never sent. */
const LIMIT_HEADER = /ratelimit|remaining|quota/i;

describe('rate tables', () => {
  it('each table the server creates stays at POSTERN_LIMITER_MAX_KEYS through 200,000 distinct keys', async () => {
    const { tables } = await start();
    // HTTP per IP, connection attempts per IP, sessions per IP, sessions per site (at least).
    expect(tables.length).toBeGreaterThanOrEqual(4);
    const max = DEFAULTS.POSTERN_LIMITER_MAX_KEYS;
    for (const [index, { options, table }] of tables.entries()) {
      expect(options.maxKeys).toBe(max);
      // Keys of its own for each table: views over shared keys must each stay bounded too.
      for (let i = 0; i < 200_000; i++) table.hit(`flood-${index}-${i}`);
      expect(table.size).toBe(max);
      // The most recent keys are the ones kept; the oldest were evicted (counted afresh).
      expect(table.peek(`flood-${index}-199999`).count).toBe(2);
      expect(table.peek(`flood-${index}-0`).count).toBe(1);
    }
    // The per-IP limits share one store of client keys.
    expect(tables.filter((t) => t.shared !== null).map((t) => t.shared)).toEqual([
      'http+conn+session',
      'http+conn+session',
      'http+conn+session',
    ]);
  }, 20_000);

  it('stays at its max when driven through the real HTTP and upgrade paths via X-Forwarded-For', async () => {
    const max = 100; // the smallest POSTERN_LIMITER_MAX_KEYS allowed
    const { h, tables } = await start({
      POSTERN_TRUSTED_PROXIES: 'loopback',
      POSTERN_LIMITER_MAX_KEYS: String(max),
      POSTERN_SITE_SESSION_RATE: '1000',
    });
    expect(tables.map((t) => t.options.maxKeys)).toEqual(tables.map(() => max));
    const client = (block: number, i: number) => `198.18.${block}.${i}`;
    const keys = 250;

    // Sessions: each from its own client (sessions per IP) and for its own site (per site).
    const sites = await Promise.all(
      Array.from({ length: keys }, (_, i) => h.siteToken({ siteId: `site_flood_${i}` })),
    );
    const statuses = await Promise.all(
      sites.map(async (site, i) => {
        const res = await fetch(
          `${h.base}/v1/widget/session?site_token=${encodeURIComponent(site.token)}`,
          {
            method: 'POST',
            headers: {
              Origin: SHOP,
              'Content-Type': 'application/json',
              'X-Forwarded-For': client(1, i),
            },
            body: '{}',
          },
        );
        await res.arrayBuffer();
        return res.status;
      }),
    );
    expect(new Set(statuses)).toEqual(new Set([200]));

    // Connection attempts, each from its own client, dropped right after the upgrade.
    for (let i = 0; i < keys; i++) {
      const attempt = await rawHandshake(h.port, '/v1/ws/widget', {
        headers: { Origin: SHOP, 'X-Forwarded-For': client(2, i) },
      });
      attempt.socket.destroy();
      expect(attempt.status).toBe(101);
    }

    // The four tables this traffic reaches (HTTP, connections, sessions per IP and per site)
    // are full and no fuller; the chat tables (messages per visitor, assistant calls per site)
    // saw none of it.
    const driven = tables.filter(({ table }) => table.size > 0);
    expect(driven).toHaveLength(4);
    for (const { table } of driven) expect(table.size).toBe(max);
    // 500 distinct client addresses went through the three per-IP limits, which keep the newest
    // 100 of them together; every other table kept its own newest 100 keys.
    for (const { table } of driven) expect(table.evictions).toBeGreaterThan(0);
  }, 20_000);

  it('answers an HTTP flood with 429 {"error":"rate_limited"} and a coarse Retry-After', async () => {
    const { h } = await start({ POSTERN_HTTP_RATE: '7' });
    const get = () =>
      fetch(`${h.base}/v1/widget/dialogs/d1/messages`, { headers: { Origin: SHOP } });
    for (let i = 0; i < 7; i++) {
      const res = await get();
      await res.arrayBuffer();
      expect(res.status).not.toBe(429);
    }
    const refused = await get();
    expect(refused.status).toBe(429);
    expect(await refused.text()).toBe('{"error":"rate_limited"}');
    expect(coarse).toContain(refused.headers.get('retry-after'));
    // The widget can read the refusal (and its Retry-After) to tell the visitor why.
    expect(refused.headers.get('access-control-allow-origin')).toBe(SHOP);
    expect(refused.headers.get('access-control-expose-headers')).toMatch(/retry-after/i);
    const names = [...refused.headers.keys()];
    expect(names.filter((name) => LIMIT_HEADER.test(name))).toEqual([]);
    expect([...refused.headers.values()]).not.toContain('7');
  });

  it('answers a session flood with 429 {"error":"rate_limited"} and never the limit', async () => {
    const { h } = await start({ POSTERN_SESSION_RATE: '3' });
    const site = await h.siteToken();
    for (let i = 0; i < 3; i++) expect((await h.session(site.token)).status).toBe(200);
    const refused = await h.session(site.token);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ error: 'rate_limited' });
    expect(refused.headers.get('access-control-allow-origin')).toBe(SHOP);
    const names = [...refused.headers.keys()];
    expect(names.filter((name) => LIMIT_HEADER.test(name))).toEqual([]);
    expect([...refused.headers.values()]).not.toContain('3');
  });

  // Was a bug (session-rate refusals carried no Retry-After; SPEC §5 wants it on every widget
  // 429): fixed in src/http/api.ts while this suite was written.
  it('answers a session flood with a coarse Retry-After', async () => {
    const { h } = await start({ POSTERN_SESSION_RATE: '1' });
    const site = await h.siteToken();
    expect((await h.session(site.token)).status).toBe(200);
    const refused = await h.session(site.token);
    expect(refused.status).toBe(429);
    expect(coarse).toContain(refused.headers.get('retry-after'));
  });
});
