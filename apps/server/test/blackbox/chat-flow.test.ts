/**
 * Black box: one conversation through the built server in production mode (SPEC §3–§4), from the
 * visitor's first message through the assistant's answer, an operator's take-over and reply, to
 * the history both sides read back over HTTP.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import {
  newVisitor,
  operatorSocket,
  readHistory,
  type Tracked,
  visitorSocket,
} from './support/chat.js';
import { httpCall } from './support/clients.js';
import {
  APP_ORIGIN,
  loopbackPool,
  type ServerProcess,
  startServer,
} from './support/server-process.js';
import { mintOperator, mintSite } from './support/tokens.js';

const nextIp = loopbackPool(20);
let server: ServerProcess | undefined;
const sockets: Tracked[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.ws.terminate();
  await server?.dispose();
  server = undefined;
});

const typeIs = (type: string) => (frame: Record<string, unknown>) => frame['type'] === type;

describe('black box: a conversation', () => {
  it('carries a visitor message to the assistant and an operator, and the reply back', async () => {
    server = await startServer({ POSTERN_ASSISTANT: 'demo' });
    const operatorToken = await mintOperator();
    const operator = await operatorSocket(server, operatorToken, nextIp());
    sockets.push(operator);
    const visitor = await newVisitor(server, await mintSite(), nextIp());
    const widget = await visitorSocket(server, visitor);
    sockets.push(widget);
    expect(widget.frames[0]).toMatchObject({
      type: 'ready',
      dialog_id: visitor.dialogId,
      visitor_id: visitor.visitorId,
      last_seq: 0,
      handoff: { state: 'assistant' },
    });

    // The visitor's message: `ack` first, then its own copy, then the assistant's answer.
    const hello = randomUUID();
    widget.send({ type: 'send', dialog_id: visitor.dialogId, client_msg_id: hello, text: 'hi' });
    const own = await widget.waitFor(
      (frame) => frame['type'] === 'message' && frame['client_msg_id'] === hello,
      'the visitor message',
    );
    const ack = await widget.waitFor(typeIs('ack'), 'the ack');
    expect(ack).toEqual({ type: 'ack', client_msg_id: hello, id: own['id'], seq: 1 });
    expect(widget.frames.indexOf(ack)).toBeLessThan(widget.frames.indexOf(own));
    expect(own).toMatchObject({ dialog_id: visitor.dialogId, seq: 1, sender: 'visitor' });
    const answer = await widget.waitFor(
      (frame) => frame['type'] === 'message' && frame['sender'] === 'assistant',
      'the assistant answer',
    );
    expect(answer).toMatchObject({ dialog_id: visitor.dialogId, seq: 2 });

    // The operator learns of the dialog from its first message, without any text.
    const listed = await operator.waitFor(
      (frame) => frame['type'] === 'dialog' && frame['dialog_id'] === visitor.dialogId,
      'the dialog frame',
    );
    expect(listed).toMatchObject({ state: 'open', handoff: { state: 'assistant' } });
    expect(JSON.stringify(operator.frames)).not.toContain('"hi"');
    await operator.waitFor(
      (frame) => frame['type'] === 'dialog' && frame['last_seq'] === 2,
      'the dialog frame after the answer',
    );

    // Subscribe, take, reply: the visitor sees the take-over and the operator's words.
    operator.send({ type: 'subscribe', dialog_id: visitor.dialogId });
    operator.send({ type: 'handoff', dialog_id: visitor.dialogId, action: 'take' });
    const taken = { type: 'handoff', dialog_id: visitor.dialogId, state: 'operator' };
    expect(await operator.waitFor(typeIs('handoff'), 'the take (operator)')).toMatchObject(taken);
    expect(await widget.waitFor(typeIs('handoff'), 'the take (visitor)')).toMatchObject({
      ...taken,
      operator: { name: 'Blackbox Operator' },
    });
    const reply = randomUUID();
    const replyText = 'Hello, I am a person.';
    operator.send({
      type: 'send',
      dialog_id: visitor.dialogId,
      client_msg_id: reply,
      text: replyText,
    });
    expect(
      await operator.waitFor(
        (frame) => frame['type'] === 'ack' && frame['client_msg_id'] === reply,
        'the operator ack',
      ),
    ).toMatchObject({ seq: 4 });
    const received = await widget.waitFor(
      (frame) => frame['type'] === 'message' && frame['sender'] === 'operator',
      'the operator message',
    );
    expect(received).toMatchObject({ dialog_id: visitor.dialogId, seq: 4, text: replyText });

    // The visitor answers the person; with an operator holding the dialog the assistant is quiet.
    const thanks = randomUUID();
    widget.send({
      type: 'send',
      dialog_id: visitor.dialogId,
      client_msg_id: thanks,
      text: 'thanks',
    });
    await operator.waitFor(
      (frame) => frame['type'] === 'message' && frame['client_msg_id'] === thanks,
      'the visitor answer at the operator',
    );

    // Both sides read the same history back over HTTP.
    const expected = [
      { seq: 1, sender: 'visitor', text: 'hi', client_msg_id: hello },
      { seq: 2, sender: 'assistant' },
      { seq: 3, sender: 'system' },
      { seq: 4, sender: 'operator', text: replyText, client_msg_id: reply },
      { seq: 5, sender: 'visitor', text: 'thanks', client_msg_id: thanks },
    ];
    const seen = await readHistory(server, visitor.dialogId, {
      kind: 'visitor',
      token: visitor.visitorToken,
      ip: visitor.ip,
    });
    expect(seen).toMatchObject(expected);
    expect(seen[1]).toEqual({ ...answer, type: undefined });
    const read = await readHistory(server, visitor.dialogId, {
      kind: 'operator',
      token: operatorToken,
      ip: nextIp(),
    });
    expect(read).toEqual(seen);

    const list = await httpCall({
      port: server.port,
      path: '/v1/app/dialogs',
      headers: { Authorization: `Bearer ${operatorToken}`, Origin: APP_ORIGIN },
      localAddress: nextIp(),
    });
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({
      dialogs: [{ dialog_id: visitor.dialogId, handoff: { state: 'operator' }, last_seq: 5 }],
      truncated: false,
    });
    await server.assertAlive();
  });
});
