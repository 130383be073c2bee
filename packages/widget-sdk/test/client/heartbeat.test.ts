import { describe, expect, it, vi } from 'vitest';
import { PROBE_TIMEOUT_MS } from '../../src/client/connection.js';
import { createLiveness } from '../../src/client/heartbeat.js';
import { FakeClock, settle } from './fakes.js';
import { createHarness, lastDisconnect } from './harness.js';

describe('Liveness', () => {
  it('declares death once the silence outlasts the allowance, by wall-clock time', () => {
    const clock = new FakeClock();
    const dead = vi.fn();
    const liveness = createLiveness(clock, dead);
    liveness.expect(35_000);
    clock.advance(20_000);
    liveness.seen(); // a frame: the deadline moves to now + 35 s
    clock.advance(34_999);
    expect(dead).not.toHaveBeenCalled();
    clock.advance(1);
    expect(dead).toHaveBeenCalledOnce();
  });

  it('finds a passed deadline on check() even when its timer never ran', () => {
    const clock = new FakeClock();
    const dead = vi.fn();
    const liveness = createLiveness(clock, dead);
    liveness.expect(35_000);
    clock.jump(36_000); // a throttled background tab: the timer did not fire
    expect(dead).not.toHaveBeenCalled();
    expect(liveness.check()).toBe(false);
    expect(dead).toHaveBeenCalledOnce();
  });

  it('pulls the deadline in for a probe, never pushes it out', () => {
    const clock = new FakeClock();
    const dead = vi.fn();
    const liveness = createLiveness(clock, dead);
    liveness.expect(35_000);
    liveness.probe(5_000);
    clock.advance(5_000);
    expect(dead).toHaveBeenCalledOnce();
    liveness.expect(35_000);
    clock.advance(34_000);
    liveness.probe(5_000); // later than the silence deadline: no change
    clock.advance(1_000);
    expect(dead).toHaveBeenCalledTimes(2);
  });

  it('keeps at most one timer, and none once stopped', () => {
    const clock = new FakeClock();
    const liveness = createLiveness(clock, () => {});
    liveness.expect(35_000);
    for (let i = 0; i < 10; i++) liveness.seen();
    expect(clock.pending()).toHaveLength(1);
    liveness.stop();
    expect(clock.pending()).toHaveLength(0);
  });
});

describe('PosternClient heartbeat', () => {
  it('answers every ping with pong {id}', async () => {
    const h = createHarness();
    const socket = await h.connected();
    socket.receive({ type: 'ping', id: 1 });
    socket.receive({ type: 'ping', id: 2 });
    expect(socket.framesOf('pong')).toEqual([
      { type: 'pong', id: 1 },
      { type: 'pong', id: 2 },
    ]);
    h.client.disconnect();
  });

  it('stays connected while frames come within ping interval + 10 s', async () => {
    const h = createHarness();
    const socket = await h.connected({ ping_interval_ms: 25_000 });
    for (let i = 1; i <= 5; i++) {
      h.clock.advance(34_999);
      socket.receive({ type: 'ping', id: i });
    }
    expect(h.client.state).toBe('connected');
    expect(socket.closedWith).toBeNull();
    h.client.disconnect();
  });

  it('treats a silence longer than ping interval + 10 s as dead: closes and reconnects via the funnel', async () => {
    const h = createHarness();
    const socket = await h.connected({ ping_interval_ms: 25_000 });
    h.clock.advance(34_999);
    expect(h.client.state).toBe('connected');
    h.clock.advance(1);
    expect(h.client.state).toBe('connecting');
    expect(lastDisconnect(h)).toMatchObject({
      code: 4010,
      reason: 'heartbeat_timeout',
      source: 'heartbeat',
      attempt: 1,
    });
    expect(socket.closedWith).not.toBeNull();
    await h.wait(lastDisconnect(h).nextRetryMs ?? 0);
    expect(h.sockets).toHaveLength(2);
    // The dead socket's own close, arriving late, is not a second disconnect.
    expect(h.events.state.filter((change) => change.disconnect)).toHaveLength(1);
    h.client.disconnect();
  });

  it('finds a dead socket on visibilitychange when background timers were throttled', async () => {
    const h = createHarness();
    await h.connected();
    h.clock.jump(10 * 60_000); // ten minutes in a background tab, no timer ran
    expect(h.client.state).toBe('connected');
    h.page.emit('visible');
    expect(h.client.state).toBe('connecting');
    expect(lastDisconnect(h).source).toBe('heartbeat');
    h.client.disconnect();
  });

  it('drops the socket at once when the browser goes offline, and reconnects by the policy', async () => {
    const h = createHarness();
    await h.connected();
    h.page.emit('offline');
    expect(h.client.state).toBe('connecting');
    expect(lastDisconnect(h)).toMatchObject({ source: 'heartbeat', reason: 'offline' });
    h.client.disconnect();
  });

  it('ignores offline while not connected: the opening socket is kept and goes on to connect', async () => {
    const h = createHarness();
    h.client.connect();
    await settle();
    const socket = h.latest();
    h.page.emit('offline');
    expect(h.client.state).toBe('connecting');
    expect(h.events.state.filter((change) => change.disconnect)).toEqual([]);
    expect(socket.closedWith).toBeNull();
    socket.open();
    expect(socket.frames()).toEqual([{ type: 'auth', token: 'visitor-token-1' }]);
    socket.receive(h.ready());
    expect(h.client.state).toBe('connected');
    expect(h.sockets).toEqual([socket]);
    h.client.disconnect();
  });

  it('ignores offline while waiting out a retry: the wait is neither cut short nor restarted', async () => {
    const h = createHarness();
    const socket = await h.connected();
    socket.fail(); // a plain backoff, which `online` or `visible` would cut short
    expect(lastDisconnect(h)).toMatchObject({ source: 'transport', attempt: 1, nextRetryMs: 250 });
    await h.wait(100);
    h.page.emit('offline');
    expect(h.client.state).toBe('connecting');
    expect(h.events.state.filter((change) => change.disconnect)).toHaveLength(1);
    await h.wait(149);
    expect(h.sockets).toHaveLength(1);
    await h.wait(1);
    expect(h.sockets).toHaveLength(2);
    h.client.disconnect();
  });

  it('finds a dead socket on online the same way', async () => {
    const h = createHarness();
    await h.connected();
    h.clock.jump(36_000);
    h.page.emit('online');
    expect(lastDisconnect(h).source).toBe('heartbeat');
    h.client.disconnect();
  });

  it('probes a socket that looks alive: asks for a frame and treats none within 5 s as dead', async () => {
    const h = createHarness();
    const socket = await h.connected();
    h.clock.advance(6_000); // past the server's 5 s resume spacing
    h.page.emit('online');
    expect(socket.framesOf('resume')).toEqual([
      { type: 'resume', dialog_id: 'dialog_1', after_seq: 0 },
    ]);
    h.clock.advance(PROBE_TIMEOUT_MS - 1);
    expect(h.client.state).toBe('connected');
    h.clock.advance(1);
    expect(lastDisconnect(h)).toMatchObject({ source: 'heartbeat' });
    h.client.disconnect();
  });

  it('keeps a socket that answers the probe', async () => {
    const h = createHarness();
    const socket = await h.connected();
    h.clock.advance(6_000);
    h.page.emit('visible');
    h.clock.advance(1_000);
    socket.receive({
      type: 'resumed',
      dialog_id: 'dialog_1',
      replayed: 0,
      gap: false,
      head_seq: 0,
    });
    h.clock.advance(30_000);
    expect(h.client.state).toBe('connected');
    h.client.disconnect();
  });
});
