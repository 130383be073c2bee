import { describe, expect, it, vi } from 'vitest';
import { openTransport, type TransportHandlers } from '../../src/client/transport.js';
import { type FakeWebSocket, fakeWebSocketClass, settle } from './fakes.js';

function setup(url: () => Promise<string> = async () => 'wss://example/ws') {
  const sockets: FakeWebSocket[] = [];
  const closes: [number, string, boolean][] = [];
  const handlers: TransportHandlers = {
    url: vi.fn(url),
    open: vi.fn(),
    message: vi.fn(),
    close: (code, reason, synthetic) => closes.push([code, reason, synthetic]),
  };
  const transport = openTransport(fakeWebSocketClass(sockets), handlers);
  return { transport, sockets, handlers, closes };
}

describe('Transport over reconnecting-websocket', () => {
  it('opens a socket only once the URL provider resolves', async () => {
    let release: (url: string) => void = () => {};
    const s = setup(() => new Promise((resolve) => (release = resolve)));
    await settle();
    expect(s.handlers.url).toHaveBeenCalledOnce();
    expect(s.sockets).toHaveLength(0);
    release('wss://example/ws');
    await settle();
    expect(s.sockets.map((socket) => socket.url)).toEqual(['wss://example/ws']);
    s.transport.close();
  });

  it('passes frames through and reports a server close with its code and reason', async () => {
    const s = setup();
    await settle();
    const socket = s.sockets[0];
    socket?.open();
    expect(s.handlers.open).toHaveBeenCalledOnce();
    socket?.receiveRaw('{"type":"ping","id":1}');
    expect(s.handlers.message).toHaveBeenCalledWith('{"type":"ping","id":1}');
    socket?.serverClose(4008, 'retry=30');
    expect(s.closes).toEqual([[4008, 'retry=30', false]]);
    s.transport.close();
  });

  it('flags the close it makes up after a socket error, which carries code 1000', async () => {
    const s = setup();
    await settle();
    s.sockets[0]?.fail();
    // The library reports the failure as a close with code 1000 from itself: synthetic.
    expect(s.closes[0]).toEqual([1000, '', true]);
    s.transport.close();
  });

  it('asks the URL provider again after every close: the provider is the gate', async () => {
    const s = setup();
    await settle();
    s.sockets[0]?.open();
    s.sockets[0]?.serverClose(1011);
    await settle();
    expect(s.handlers.url).toHaveBeenCalledTimes(2);
    expect(s.sockets).toHaveLength(2);
    s.transport.close();
  });

  it('queues nothing: a send without an open socket is refused, not flushed before auth later', async () => {
    const s = setup();
    await settle();
    expect(s.transport.send('early')).toBe(false);
    s.sockets[0]?.open();
    expect(s.sockets[0]?.sent).toEqual([]);
    expect(s.transport.send('now')).toBe(true);
    expect(s.sockets[0]?.sent).toEqual(['now']);
    s.transport.close();
  });

  it('stays closed after close(), and restart() drops the socket for a new one', async () => {
    const s = setup();
    await settle();
    s.sockets[0]?.open();
    s.transport.restart();
    await settle();
    expect(s.sockets[0]?.closedWith).toEqual({ code: 1000, reason: 'restart' });
    expect(s.sockets).toHaveLength(2);
    s.transport.close();
    await settle();
    expect(s.sockets).toHaveLength(2);
  });
});
