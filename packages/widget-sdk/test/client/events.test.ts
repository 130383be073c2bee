import { afterEach, describe, expect, it, vi } from 'vitest';
import { PosternError } from '../../src/client/errors.js';
import { createEmitter } from '../../src/client/events.js';
import { createHarness, message } from './harness.js';

interface TestEvents {
  ping: number;
  error: PosternError;
}

describe('Emitter', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('keeps calling the other listeners when one throws, and reports it as an error event', () => {
    const emitter = createEmitter<TestEvents>();
    const seen: number[] = [];
    const errors: PosternError[] = [];
    emitter.on('error', (error) => errors.push(error));
    emitter.on('ping', () => {
      throw new Error('app bug');
    });
    emitter.on('ping', (n) => seen.push(n));
    emitter.emit('ping', 1);
    expect(seen).toEqual([1]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_LISTENER', cause: new Error('app bug') });
  });

  it('goes to the console when nobody listens for errors, or when an error listener throws', () => {
    const console = vi.spyOn(globalThis.console, 'error').mockImplementation(() => {});
    const emitter = createEmitter<TestEvents>();
    emitter.on('ping', () => {
      throw new Error('first');
    });
    emitter.emit('ping', 1);
    expect(console).toHaveBeenCalledTimes(1);
    emitter.on('error', () => {
      throw new Error('second');
    });
    emitter.emit('ping', 2); // no endless loop: the error listener's own throw is logged
    expect(console).toHaveBeenCalledTimes(2);
    expect(console.mock.calls[1]?.[0]).toEqual(new Error('second'));
  });

  it('unsubscribes with off() or the function on() returned', () => {
    const emitter = createEmitter<TestEvents>();
    const seen: number[] = [];
    const listener = (n: number) => seen.push(n);
    const stop = emitter.on('ping', listener);
    emitter.emit('ping', 1);
    stop();
    emitter.emit('ping', 2);
    emitter.on('ping', listener);
    emitter.off('ping', listener);
    emitter.emit('ping', 3);
    expect(seen).toEqual([1]);
  });
});

describe('PosternClient with a throwing application listener', () => {
  it('keeps its state machine going and reports the exception as an error event', async () => {
    const h = createHarness();
    h.client.on('state', () => {
      throw new Error('state listener bug');
    });
    h.client.on('message', () => {
      throw new Error('message listener bug');
    });
    const socket = await h.connected();
    expect(h.client.state).toBe('connected');
    socket.receive(message(1));
    socket.receive(message(2));
    expect(h.events.message.map((m) => m.seq)).toEqual([1, 2]);
    socket.serverClose(1011);
    expect(h.client.state).toBe('connecting');
    await h.wait(250);
    await h.accept();
    expect(h.client.state).toBe('connected');
    const codes = new Set(h.events.error.map((error) => error.code));
    expect([...codes]).toEqual(['ERR_LISTENER']);
    expect(h.events.error.length).toBeGreaterThanOrEqual(5);
    h.client.disconnect();
  });

  it('reports unreadable frames and ignores frame types it does not know', async () => {
    const h = createHarness();
    const socket = await h.connected();
    socket.receiveRaw('not json');
    socket.receive({ type: 'message', dialog_id: 'dialog_1', seq: -1 });
    socket.receive({ type: 'from_the_future', anything: true });
    expect(h.events.error.map((error) => error.detail)).toEqual(['not_json', 'invalid']);
    expect(h.client.state).toBe('connected');
    expect(h.events.error[0]).toBeInstanceOf(PosternError);
    h.client.disconnect();
  });
});
