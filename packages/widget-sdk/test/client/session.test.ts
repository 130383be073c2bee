import { afterEach, describe, expect, it, vi } from 'vitest';
import { PosternClient } from '../../src/client/client.js';
import type { Ledger } from '../../src/client/ledger.js';
import { createSessionSource, retryAfterMs, siteIdOf } from '../../src/client/session.js';
import { openStore, type StorageLike, storageKey } from '../../src/client/storage.js';
import {
  FakeClock,
  FakeLocks,
  FakePage,
  type FakeWebSocket,
  fakeSiteToken,
  fakeWebSocketClass,
  json,
  MemoryStorage,
  scriptedFetch,
  settle,
} from './fakes.js';
import { SERVER } from './harness.js';

const SITE_TOKEN = fakeSiteToken('site_1');
const KEY = 'postern:https://chat.example.com:site_1';

function session(n: number) {
  return {
    visitor_token: `visitor-${n}`,
    refresh_token: `refresh-${n}`,
    visitor_id: 'visitor_1',
    dialog_id: 'dialog_1',
    expires_at: 1_700_000_900_000,
  };
}

/** A client on the built-in session provider, answering POSTs from `respond`. */
function setup(
  respond: (body: Record<string, unknown> | null, n: number) => Response,
  extra: { storage?: StorageLike; locks?: FakeLocks | null } = {},
) {
  let n = 0;
  const http = scriptedFetch((call) => respond(call.body, ++n));
  const storage = extra.storage ?? new MemoryStorage();
  const sockets: FakeWebSocket[] = [];
  const clock = new FakeClock();
  const page = new FakePage();
  const client = new PosternClient({
    serverUrl: SERVER,
    siteToken: SITE_TOKEN,
    storage,
    fetch: http.fetch,
    WebSocket: fakeWebSocketClass(sockets),
    clock,
    page,
    random: () => 0.5,
    locks: extra.locks === undefined ? new FakeLocks() : extra.locks,
  });
  const states: unknown[] = [];
  client.on('state', (change) => states.push(change));
  const errors: unknown[] = [];
  client.on('error', (error) => errors.push(error));
  return { client, http, storage, sockets, clock, page, states, errors };
}

describe('built-in session provider', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('POSTs to /v1/widget/session?site_token=…, keeps the refresh token, and auths with the visitor token', async () => {
    const s = setup((_body, n) => json(200, session(n)));
    s.client.connect();
    await settle();
    expect(s.http.calls).toHaveLength(1);
    const call = s.http.calls[0];
    expect(call?.url).toBe(
      `${SERVER}/v1/widget/session?site_token=${encodeURIComponent(SITE_TOKEN)}`,
    );
    expect(call?.init.method).toBe('POST');
    expect(call?.init.headers).toEqual({ 'content-type': 'application/json' });
    expect(call?.body).toEqual({});
    expect((s.storage as MemoryStorage).data.get(KEY)).toBe('refresh-1');
    const socket = s.sockets[0];
    socket?.open();
    expect(socket?.framesOf('auth')).toEqual([{ type: 'auth', token: 'visitor-1' }]);
    s.client.disconnect();
  });

  it('writes nothing to storage before the first connect', () => {
    const storage = new MemoryStorage();
    const s = setup((_body, n) => json(200, session(n)), { storage });
    s.client.send('queued while never connected');
    s.client.on('message', () => {});
    expect(storage.calls).toEqual([]);
    expect(s.http.calls).toEqual([]);
  });

  it('re-reads the stored refresh token before each use', async () => {
    const s = setup((_body, n) => json(200, session(n)));
    s.client.connect();
    await settle();
    const first = s.sockets[0];
    first?.open();
    first?.receive({
      type: 'ready',
      session_id: 's',
      server_time: s.clock.now(),
      ping_interval_ms: 25_000,
      token_expires_at: s.clock.now() + 900_000,
      dialog_id: 'dialog_1',
    });
    // Another tab rotated it meanwhile and stored the successor.
    (s.storage as MemoryStorage).data.set(KEY, 'refresh-from-other-tab');
    first?.serverClose(4001);
    await settle();
    expect(s.http.calls[1]?.body).toEqual({ refresh_token: 'refresh-from-other-tab' });
    s.client.disconnect();
  });

  it('exchanges under a Web Lock so two tabs never present the same refresh token', async () => {
    const storage = new MemoryStorage();
    storage.data.set(KEY, 'refresh-0');
    const locks = new FakeLocks();
    const used: unknown[] = [];
    let n = 0;
    const respond = (body: Record<string, unknown> | null) => {
      used.push(body?.['refresh_token']);
      return json(200, session(++n));
    };
    const tabA = setup(respond, { storage, locks });
    const tabB = setup(respond, { storage, locks });
    tabA.client.connect();
    tabB.client.connect();
    await settle(8);
    expect(locks.names).toEqual([KEY, KEY]);
    expect(locks.maxRunning).toBe(1);
    expect(used).toEqual(['refresh-0', 'refresh-1']); // B read the successor A stored
    expect(storage.data.get(KEY)).toBe('refresh-2');
    tabA.client.disconnect();
    tabB.client.disconnect();
  });

  it('runs unlocked where the page has no Web Locks', async () => {
    const s = setup((_body, n) => json(200, session(n)), { locks: null });
    s.client.connect();
    await settle();
    expect(s.sockets).toHaveLength(1);
    s.client.disconnect();
  });

  it.each(['refresh_invalid', 'refresh_reused'])(
    'drops a %s refresh token and starts a fresh session',
    async (code) => {
      const storage = new MemoryStorage();
      storage.data.set(KEY, 'refresh-old');
      const s = setup(
        (body, n) =>
          body?.['refresh_token'] === 'refresh-old'
            ? json(401, { error: code })
            : json(200, session(n)),
        { storage },
      );
      s.client.connect();
      await settle();
      expect(s.http.calls.map((call) => call.body)).toEqual([{ refresh_token: 'refresh-old' }, {}]);
      expect(storage.data.get(KEY)).toBe('refresh-2');
      expect(s.sockets).toHaveLength(1);
      s.client.disconnect();
    },
  );

  it('stops with "not available on this site" on 403 origin_not_allowed, for good', async () => {
    const s = setup(() => json(403, { error: 'origin_not_allowed' }));
    s.client.connect();
    await settle();
    expect(s.client.state).toBe('stopped');
    expect(s.states.at(-1)).toMatchObject({
      disconnect: { code: 4003, reason: 'origin_not_allowed', source: 'token', revival: 'never' },
    });
    expect(s.errors).toEqual([
      expect.objectContaining({ name: 'TokenError', code: 'ERR_TOKEN_ORIGIN_NOT_ALLOWED' }),
    ]);
    s.page.emit('online');
    s.page.emit('visible');
    s.clock.advance(600_000);
    await settle();
    expect(s.http.calls).toHaveLength(1);
  });

  it('stops on other refusals of the site token (revoked, expired)', async () => {
    const s = setup(() => json(401, { error: 'token_revoked' }));
    s.client.connect();
    await settle();
    expect(s.client.state).toBe('stopped');
    expect(s.errors).toEqual([
      expect.objectContaining({ code: 'ERR_TOKEN_UNAUTHORIZED', detail: 'token_revoked' }),
    ]);
  });

  it('waits out Retry-After on 429, then tries again', async () => {
    const s = setup((_body, n) =>
      n === 1
        ? json(429, { error: 'rate_limited' }, { 'retry-after': '60' })
        : json(200, session(n)),
    );
    s.client.connect();
    await settle();
    const delay = (s.states.at(-1) as { disconnect: { nextRetryMs: number } }).disconnect
      .nextRetryMs;
    expect(delay).toBeGreaterThanOrEqual(60_000);
    s.clock.advance(delay - 1);
    await settle();
    expect(s.http.calls).toHaveLength(1);
    s.clock.advance(1);
    await settle();
    expect(s.http.calls).toHaveLength(2);
    expect(s.sockets).toHaveLength(1);
    s.client.disconnect();
  });

  it('tries again after a network failure or a 5xx', async () => {
    let n = 0;
    const s = setup(() => {
      n += 1;
      if (n === 1) throw new TypeError('Failed to fetch');
      return n === 2 ? json(503, { error: 'unavailable' }) : json(200, session(n));
    });
    s.client.connect();
    await settle();
    expect(s.client.state).toBe('connecting');
    for (let i = 0; i < 2; i++) {
      s.clock.advance(30_000);
      await settle();
    }
    expect(s.http.calls).toHaveLength(3);
    expect(s.sockets).toHaveLength(1);
    s.client.disconnect();
  });

  it('after 4004 drops the stored refresh token and starts a new visitor on the next send', async () => {
    const s = setup((_body, n) => json(200, session(n)));
    s.client.connect();
    await settle();
    const socket = s.sockets[0];
    socket?.open();
    socket?.serverClose(4004);
    expect((s.storage as MemoryStorage).data.has(KEY)).toBe(false);
    expect(s.client.state).toBe('stopped');
    s.client.send('hello?');
    await settle();
    expect(s.http.calls.map((call) => call.body)).toEqual([{}, {}]);
    s.client.disconnect();
  });
});

describe('session helpers', () => {
  it('reads the site id for the storage key, with a fallback for a malformed token', () => {
    expect(siteIdOf(SITE_TOKEN)).toBe('site_1');
    expect(siteIdOf('garbage')).toBe('site');
    expect(siteIdOf(fakeSiteToken('bad id!'))).toBe('site');
    expect(storageKey('https://chat.example.com', 'site_1')).toBe(KEY);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('60', 0)).toBe(60_000);
    expect(retryAfterMs(new Date(90_000).toUTCString(), 30_000)).toBe(60_000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });

  it('turns a malformed 200 into "try again"', async () => {
    const http = scriptedFetch(() => json(200, { visitor_token: 'x' }));
    const source = createSessionSource({
      siteToken: SITE_TOKEN,
      serverOrigin: SERVER,
      api: (path) => `${SERVER}${path}`,
      store: openStore('memory'),
      fetch: http.fetch,
      locks: () => null,
      ledger: () => null,
      now: () => 0,
    });
    await expect(source.getToken()).rejects.toMatchObject({
      code: 'ERR_TOKEN_RETRY',
      detail: 'malformed_session',
    });
  });
});

/**
 * One tab's view of a `localStorage` shared by tabs, as Chromium can give it: a tab reads its own
 * writes at once, and here never another tab's (the worst case of asynchronous forwarding).
 */
class LaggingStorage {
  private readonly seen: Map<string, string | null>;
  constructor(private readonly shared: Map<string, string>) {
    this.seen = new Map(shared);
  }
  private write(key: string, value: string | null): void {
    if (value === null) this.shared.delete(key);
    else this.shared.set(key, value);
    this.seen.set(key, value);
  }
  readonly store = {
    get: (key: string) => (this.seen.has(key) ? (this.seen.get(key) ?? null) : null),
    set: (key: string, value: string) => this.write(key, value),
    remove: (key: string) => this.write(key, null),
  };
}

/** A ledger every tab reads at once, as IndexedDB transactions are. */
function sharedLedger(records: Map<string, string | null>) {
  return (key: string): Ledger => ({
    read: async () => records.get(key),
    write: async (value) => void records.set(key, value),
  });
}

describe('session provider across tabs with a lagging shared storage', () => {
  function tab(
    storage: Map<string, string>,
    locks: FakeLocks,
    ledger: ((key: string) => Ledger) | null,
    used: unknown[],
  ) {
    const view = new LaggingStorage(storage);
    // Numbered across tabs: the n-th exchange anywhere answers refresh-n.
    const http = scriptedFetch((call) => {
      used.push(call.body?.['refresh_token']);
      return json(200, session(used.length));
    });
    const source = createSessionSource({
      siteToken: SITE_TOKEN,
      serverOrigin: SERVER,
      api: (path) => `${SERVER}${path}`,
      store: view.store,
      fetch: http.fetch,
      locks: () => locks,
      ledger: ledger ?? (() => null),
      now: () => 0,
    });
    return { view, source };
  }

  function twoTabs(ledger: ((key: string) => Ledger) | null) {
    const storage = new Map([[KEY, 'refresh-0']]);
    const locks = new FakeLocks();
    const used: unknown[] = [];
    return {
      a: tab(storage, locks, ledger, used),
      b: tab(storage, locks, ledger, used),
      storage,
      used,
    };
  }

  it('without a ledger, the second lock holder can read the token just rotated (the race the ledger closes)', async () => {
    const { a, b, used } = twoTabs(null);
    await Promise.all([a.source.getToken(), b.source.getToken()]);
    expect(used).toEqual(['refresh-0', 'refresh-0']);
  });

  it('with the ledger, the second lock holder exchanges the successor the first recorded', async () => {
    const records = new Map<string, string | null>();
    const { a, b, used, storage } = twoTabs(sharedLedger(records));
    await Promise.all([a.source.getToken(), b.source.getToken()]);
    expect(used).toEqual(['refresh-0', 'refresh-1']);
    expect(records.get(KEY)).toBe('refresh-2');
    expect(storage.get(KEY)).toBe('refresh-2');
  });

  it('falls back to the store while the ledger has no record, and records from then on', async () => {
    const records = new Map<string, string | null>();
    const { a, used } = twoTabs(sharedLedger(records));
    await a.source.getToken();
    expect(used).toEqual(['refresh-0']);
    expect(records.get(KEY)).toBe('refresh-1');
  });

  it('a token dropped by one tab is not read back by the next lock holder', async () => {
    const records = new Map<string, string | null>();
    const { a, b, used } = twoTabs(sharedLedger(records));
    a.source.forget();
    await b.source.getToken();
    // B's view of localStorage still holds refresh-0; the ledger says it was dropped.
    expect(used).toEqual([undefined]);
    expect(records.get(KEY)).toBe('refresh-1');
  });
});
