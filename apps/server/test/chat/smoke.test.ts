import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';
import { appAuth, newVisitor, readyVisitor } from '../support/ws-client.js';

let h: Harness;
afterEach(() => h?.close());

describe('chat smoke', () => {
  it('send → ack → message → assistant reply; operator sees the dialog', async () => {
    h = await startHarness();
    const v = await newVisitor(h);
    const { socket } = await readyVisitor(h, v.visitorToken);
    const op = await appAuth(h, await h.operatorToken({ sites: '*' }));
    expect((await op.next())['type']).toBe('ready');
    const id = randomUUID();
    socket.send({ type: 'send', dialog_id: v.dialogId, client_msg_id: id, text: 'hello there' });
    expect(await socket.next()).toMatchObject({ type: 'ack', client_msg_id: id, seq: 1 });
    expect(await socket.next()).toMatchObject({ type: 'message', seq: 1, sender: 'visitor' });
    expect(await op.nextOf('dialog')).toMatchObject({ dialog_id: v.dialogId, last_seq: 1 });
    const reply = await socket.nextOf('message');
    expect(reply).toMatchObject({ seq: 2, sender: 'assistant' });
    console.log(reply);
  });
});
