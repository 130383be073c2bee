import { describe, expect, it } from 'vitest';
import {
  disconnectWhileHidden,
  HIDDEN_DISCONNECT_MS,
  hasStoredSession,
  type PageVisibility,
} from '../../src/ui/visibility.js';
import { type FakeWebSocket, fakeSiteToken, MemoryStorage } from '../client/fakes.js';
import { createHarness, DIALOG, lastDisconnect, message, SERVER } from '../client/harness.js';

/** A page whose visibility the test sets. */
class FakeVisibility implements PageVisibility {
  hidden = false;
  private readonly listeners = new Set<() => void>();

  listen(changed: () => void): () => void {
    this.listeners.add(changed);
    return () => this.listeners.delete(changed);
  }

  set(hidden: boolean): void {
    this.hidden = hidden;
    for (const listener of [...this.listeners]) listener();
  }

  get listening(): number {
    return this.listeners.size;
  }
}

// Shorter than the heartbeat allowance (ping interval + 10 s), so waiting it out needs no ping.
const GRACE = 20_000;

/** Time passing on a live connection: the server pings every 10 s. */
function idle(h: ReturnType<typeof createHarness>, socket: FakeWebSocket, ms: number): void {
  for (let left = ms; left > 0; left -= 10_000) {
    h.clock.advance(Math.min(10_000, left));
    if (socket.readyState === 1) socket.receive({ type: 'ping', id: 1 });
  }
}

describe('hasStoredSession', () => {
  const token = fakeSiteToken('site_1');
  const key = 'postern:https://chat.example.com:site_1';

  it('is false on a first visit and true once a refresh token is stored, reading only', () => {
    const storage = new MemoryStorage();
    expect(hasStoredSession(SERVER, token, storage)).toBe(false);
    storage.data.set(key, 'refresh-1');
    expect(hasStoredSession(SERVER, token, storage)).toBe(true);
    expect(storage.calls).toEqual([`get ${key}`, `get ${key}`]);
  });

  it('is false for another site or server, for memory storage and for denied storage', () => {
    const storage = new MemoryStorage();
    storage.data.set(key, 'refresh-1');
    expect(hasStoredSession(SERVER, fakeSiteToken('site_2'), storage)).toBe(false);
    expect(hasStoredSession('https://other.example', token, storage)).toBe(false);
    expect(hasStoredSession(SERVER, token, 'memory')).toBe(false);
    const denied = {
      getItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
      setItem: () => {},
      removeItem: () => {},
    };
    expect(hasStoredSession(SERVER, token, denied)).toBe(false);
  });
});

describe('disconnectWhileHidden', () => {
  it('defaults to a grace of 5 minutes', () => {
    expect(HIDDEN_DISCONNECT_MS).toBe(300_000);
  });

  it('disconnects cleanly once the page stayed hidden for the grace period, and resumes when it shows', async () => {
    const h = createHarness();
    const page = new FakeVisibility();
    disconnectWhileHidden(h.client, page, h.clock, GRACE);
    const first = await h.connected();
    first.receive(message(1));

    page.set(true);
    h.clock.advance(GRACE - 1);
    expect(h.client.state).toBe('connected');
    h.clock.advance(1);
    // Client-initiated, not a policy stop: `disconnected`, code 1000 from the client, no retry.
    expect(h.client.state).toBe('disconnected');
    expect(lastDisconnect(h)).toMatchObject({ code: 1000, source: 'client', nextRetryMs: null });
    expect(first.closedWith).toEqual({ code: 1000, reason: 'client' });
    await h.wait(10 * 60_000);
    expect(h.sockets).toHaveLength(1);

    page.set(false);
    const second = await h.accept({ last_seq: 1 });
    expect(second.framesOf('auth')[0]).toMatchObject({
      resume: { dialog_id: DIALOG, after_seq: 1 },
    });
    expect(h.client.state).toBe('connected');
    h.client.disconnect();
  });

  it('keeps the socket through a quick tab switch', async () => {
    const h = createHarness();
    const page = new FakeVisibility();
    disconnectWhileHidden(h.client, page, h.clock, GRACE);
    const socket = await h.connected();
    page.set(true);
    idle(h, socket, GRACE / 2);
    page.set(false);
    idle(h, socket, GRACE * 2);
    page.set(true);
    idle(h, socket, GRACE - 1);
    expect(h.client.state).toBe('connected');
    expect(h.sockets).toHaveLength(1);
    h.client.disconnect();
  });

  it('disconnects a page that is hidden from the start', async () => {
    const h = createHarness();
    const page = new FakeVisibility();
    page.hidden = true;
    await h.connected();
    disconnectWhileHidden(h.client, page, h.clock, GRACE);
    h.clock.advance(GRACE);
    expect(h.client.state).toBe('disconnected');
  });

  it('leaves a stopped client stopped: showing the page is no way around the close policy', async () => {
    const h = createHarness();
    const page = new FakeVisibility();
    disconnectWhileHidden(h.client, page, h.clock, GRACE);
    (await h.connected()).serverClose(4003);
    page.set(true);
    h.clock.advance(GRACE);
    page.set(false);
    await h.wait(60_000);
    expect(h.client.state).toBe('stopped');
    expect(h.sockets).toHaveLength(1);
  });

  it('leaves a client waiting out a retry hint alone: hiding the page is no way around the wait', async () => {
    const h = createHarness();
    const page = new FakeVisibility();
    disconnectWhileHidden(h.client, page, h.clock, GRACE);
    (await h.connected()).serverClose(4008, 'retry=300');
    const closed = lastDisconnect(h);
    expect(closed).toMatchObject({ code: 4008, attempt: 1 });
    const delay = closed?.nextRetryMs ?? 0;
    expect(delay).toBeGreaterThanOrEqual(300_000);

    page.set(true);
    await h.wait(GRACE * 2);
    expect(h.client.state).toBe('connecting');
    page.set(false);
    await h.wait(0);
    // Neither a disconnect nor a fresh connect: the same wait, the same attempt count.
    expect(h.sockets).toHaveLength(1);
    expect(h.events.state.filter((change) => change.state === 'disconnected')).toEqual([]);
    await h.wait(delay - GRACE * 2 - 1);
    expect(h.sockets).toHaveLength(1);
    await h.wait(1);
    expect(h.sockets).toHaveLength(2);
    (await h.accept()).serverClose(4008);
    expect(lastDisconnect(h)).toMatchObject({ code: 4008, attempt: 2 });
    h.client.disconnect();
  });

  it('disconnects a client that got its connection back while the page was hidden, a grace later', async () => {
    const h = createHarness();
    const page = new FakeVisibility();
    disconnectWhileHidden(h.client, page, h.clock, GRACE);
    (await h.connected()).serverClose(1013, 'retry=30');
    page.set(true);
    await h.wait(GRACE);
    expect(h.client.state).toBe('connecting');
    await h.wait(30_000);
    await h.accept();
    expect(h.client.state).toBe('connected');
    await h.wait(GRACE - 10_000);
    expect(h.client.state).toBe('disconnected');
    expect(lastDisconnect(h)).toMatchObject({ code: 1000, source: 'client' });
    page.set(false);
    await h.accept({ last_seq: 0 });
    expect(h.client.state).toBe('connected');
    h.client.disconnect();
  });

  it('does not connect a client the application disconnected itself', async () => {
    const h = createHarness();
    const page = new FakeVisibility();
    disconnectWhileHidden(h.client, page, h.clock, GRACE);
    await h.connected();
    h.client.disconnect();
    page.set(true);
    h.clock.advance(GRACE);
    page.set(false);
    await h.wait(60_000);
    expect(h.client.state).toBe('disconnected');
    expect(h.sockets).toHaveLength(1);
  });

  it('stops watching: no listener and no timer left', async () => {
    const h = createHarness();
    const page = new FakeVisibility();
    const stop = disconnectWhileHidden(h.client, page, h.clock, GRACE);
    const socket = await h.connected();
    page.set(true);
    const timers = h.clock.pending().length;
    stop();
    expect(page.listening).toBe(0);
    expect(h.clock.pending()).toHaveLength(timers - 1);
    idle(h, socket, GRACE);
    expect(h.client.state).toBe('connected');
    h.client.disconnect();
  });
});
