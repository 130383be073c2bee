import type { ChatMessage, DialogSummary } from '@postern/protocol';
import { describe, expect, it } from 'vitest';
import type { SocketHandlers } from '../../console/src/connection.js';
import { type ConsoleView, createConsoleApp } from '../../console/src/console-app.js';
import type { ConversationModel } from '../../console/src/view/conversation-view.js';
import type { DialogListModel } from '../../console/src/view/dialog-list-view.js';

const SERVER = 'http://postern.test';

function summary(id: string, overrides: Partial<DialogSummary> = {}): DialogSummary {
  return {
    dialog_id: id,
    site_id: 'demo-shop',
    state: 'open',
    handoff: { state: 'operator', operator: { name: 'Demo operator' } },
    last_seq: 2,
    last_message_at: 2_000,
    created_at: 1_000,
    ...overrides,
  };
}

function message(seq: number, overrides: Partial<ChatMessage> = {}): ChatMessage {
  return {
    dialog_id: 'd1',
    seq,
    id: `m${seq}`,
    sender: 'visitor',
    text: `t${seq}`,
    ts: seq,
    ...overrides,
  };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
};

function setup(pages: Record<string, ChatMessage[]> = {}) {
  const sockets: { handlers: SocketHandlers; sent: Record<string, unknown>[] }[] = [];
  const requests: string[] = [];
  // Pending timers by id; only zero-delay ones (retries drawn with random 0) are ever run.
  const timers = new Map<number, { callback: () => void; ms: number }>();
  let timerId = 0;
  const runDueNow = () => {
    for (const [id, timer] of [...timers]) {
      if (timer.ms > 0) continue;
      timers.delete(id);
      timer.callback();
    }
  };
  let conversation: ConversationModel | null = null;
  let dialogs: DialogListModel | null = null;
  const view: ConsoleView = {
    renderStatus: () => {},
    renderDialogs: (model) => {
      dialogs = model;
    },
    renderConversation: (model) => {
      conversation = model;
    },
  };
  let uuid = 0;
  const app = createConsoleApp({
    serverOrigin: SERVER,
    tokens: {
      fresh: async () => ({ kind: 'token', token: 'tok', expiresAt: Date.now() + 600_000 }),
      current: async () => ({ kind: 'token', token: 'tok', expiresAt: Date.now() + 600_000 }),
    },
    async fetch(url) {
      requests.push(url.replace(SERVER, ''));
      const query = new URL(url).search;
      return new Response(JSON.stringify({ messages: pages[query] ?? [], next_after_seq: null }), {
        status: 200,
      });
    },
    openSocket(_url, handlers) {
      const socket = { handlers, sent: [] as Record<string, unknown>[] };
      sockets.push(socket);
      return {
        send: (data) => socket.sent.push(JSON.parse(data) as Record<string, unknown>),
        close: () => {},
      };
    },
    random: () => 0,
    timers: {
      setTimeout(callback, ms) {
        timers.set(++timerId, { callback, ms });
        return timerId;
      },
      clearTimeout: (handle) => timers.delete(handle as number),
    },
    now: () => 10_000,
    uuid: () => `00000000-0000-4000-8000-${String(++uuid).padStart(12, '0')}`,
    view,
  });
  const socket = () => {
    const last = sockets.at(-1);
    if (!last) throw new Error('no socket');
    return last;
  };
  const frame = (value: Record<string, unknown>) =>
    socket().handlers.onMessage(JSON.stringify(value));
  async function connect() {
    await flush();
    socket().handlers.onOpen();
    frame({
      type: 'ready',
      session_id: 's',
      server_time: 1,
      ping_interval_ms: 25_000,
      token_expires_at: 2,
    });
  }
  return {
    app,
    sockets,
    socket,
    frame,
    connect,
    requests,
    runDueNow,
    conversation: () => conversation as ConversationModel | null,
    dialogs: () => dialogs as DialogListModel | null,
  };
}

const sentOfType = (sent: Record<string, unknown>[], type: string) =>
  sent.filter((frame) => frame['type'] === type);

describe('createConsoleApp', () => {
  it('lists dialogs from the snapshot, then subscribes and loads the latest page on select', async () => {
    const t = setup({ '?limit=100': [message(1), message(2)] });
    t.app.start();
    await t.connect();
    t.frame({ type: 'dialog', ...summary('d1') });
    expect(t.dialogs()?.rows.map((row) => [row.dialog_id, row.unread])).toEqual([['d1', true]]);
    t.app.select('d1');
    await flush();
    expect(sentOfType(t.socket().sent, 'subscribe')).toEqual([
      { type: 'subscribe', dialog_id: 'd1' },
    ]);
    expect(t.requests).toEqual(['/v1/app/dialogs/d1/messages?limit=100']);
    expect(t.conversation()?.log?.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(t.dialogs()?.rows[0]?.unread).toBe(false);
  });

  it('shows a send as pending until acked and its message arrives', async () => {
    const t = setup();
    t.app.start();
    await t.connect();
    t.frame({ type: 'dialog', ...summary('d1') });
    t.app.select('d1');
    await flush();
    t.app.send('hello');
    const [send] = sentOfType(t.socket().sent, 'send');
    expect(send).toMatchObject({ dialog_id: 'd1', text: 'hello' });
    const cid = String(send?.['client_msg_id']);
    expect(t.conversation()?.log?.pending[0]).toMatchObject({ status: 'sending' });
    t.frame({ type: 'ack', client_msg_id: cid, id: 'm3', seq: 3 });
    expect(t.conversation()?.log?.pending[0]).toMatchObject({ status: 'acked', seq: 3 });
    t.frame({
      type: 'message',
      ...message(3, { sender: 'operator', client_msg_id: cid, text: 'hello' }),
    });
    expect(t.conversation()?.log?.pending).toEqual([]);
  });

  it('shows a refusal of a send in plain words, and other refusals as a notice', async () => {
    const t = setup();
    t.app.start();
    await t.connect();
    t.frame({ type: 'dialog', ...summary('d1') });
    t.app.select('d1');
    t.app.send('hello');
    const cid = String(sentOfType(t.socket().sent, 'send')[0]?.['client_msg_id']);
    t.frame({ type: 'error', code: 'not_holder', ref: cid });
    expect(t.conversation()?.log?.pending[0]).toMatchObject({
      status: 'refused',
      refusal: 'not_holder',
    });
    t.frame({ type: 'error', code: 'conflict', ref: 'd1' });
    expect(t.conversation()?.notice).toBe('Another operator is already handling this dialog.');
  });

  it('after a reconnect, subscribes again, backfills after the last seq and resends unacked sends', async () => {
    const t = setup({
      '?limit=100': [message(1), message(2)],
      '?limit=100&after_seq=2': [message(3)],
    });
    t.app.start();
    await t.connect();
    t.frame({ type: 'dialog', ...summary('d1') });
    t.app.select('d1');
    await flush();
    t.app.send('while it drops');
    const cid = sentOfType(t.socket().sent, 'send')[0]?.['client_msg_id'];
    t.socket().handlers.onClose(1006, '');
    t.runDueNow();
    await t.connect();
    expect(t.sockets).toHaveLength(2);
    expect(t.dialogs()?.rows).toEqual([]);
    const sent = t.socket().sent;
    expect(sentOfType(sent, 'subscribe')).toEqual([{ type: 'subscribe', dialog_id: 'd1' }]);
    expect(sentOfType(sent, 'send')).toEqual([
      { type: 'send', dialog_id: 'd1', client_msg_id: cid, text: 'while it drops' },
    ]);
    await flush();
    expect(t.requests.at(-1)).toBe('/v1/app/dialogs/d1/messages?limit=100&after_seq=2');
    expect(t.conversation()?.log?.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('backfills when a live message leaves a gap', async () => {
    const t = setup({
      '?limit=100': [message(1)],
      '?limit=100&after_seq=1': [message(2), message(3)],
    });
    t.app.start();
    await t.connect();
    t.frame({ type: 'dialog', ...summary('d1') });
    t.app.select('d1');
    await flush();
    t.frame({ type: 'message', ...message(4) });
    await flush();
    expect(t.conversation()?.log?.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  it('follows the handoff state of the open dialog and keeps it after it closes', async () => {
    const t = setup();
    t.app.start();
    await t.connect();
    t.frame({ type: 'dialog', ...summary('d1', { handoff: { state: 'requested' } }) });
    t.app.select('d1');
    t.frame({ type: 'handoff', dialog_id: 'd1', state: 'operator', operator: { name: 'Ada' } });
    expect(t.conversation()?.dialog?.handoff).toEqual({
      state: 'operator',
      operator: { name: 'Ada' },
    });
    t.frame({ type: 'handoff', dialog_id: 'd1', state: 'closed' });
    t.frame({
      type: 'dialog',
      ...summary('d1', { state: 'closed', handoff: { state: 'closed' } }),
    });
    expect(t.dialogs()?.rows).toEqual([]);
    expect(t.conversation()?.dialog).toMatchObject({ dialog_id: 'd1', state: 'closed' });
  });

  it('shows who is typing in the open dialog, not the operator’s own echo', async () => {
    const t = setup();
    t.app.start();
    await t.connect();
    t.frame({ type: 'dialog', ...summary('d1') });
    t.app.select('d1');
    t.frame({ type: 'typing', dialog_id: 'd1', sender: 'operator', state: 'start' });
    expect(t.conversation()?.typing).toBeNull();
    t.frame({ type: 'typing', dialog_id: 'd1', sender: 'visitor', state: 'start' });
    expect(t.conversation()?.typing).toBe('visitor');
    t.frame({ type: 'typing', dialog_id: 'd1', sender: 'visitor', state: 'stop' });
    expect(t.conversation()?.typing).toBeNull();
  });
});
