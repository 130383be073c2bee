/**
 * Accepted and refused traffic with a distinct origin, client IP (through `X-Forwarded-For`),
 * visitor and dialog per round, for the label-cardinality test. Every value a client chooses is
 * recorded, so the test can show none of them reached a label.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { sessionPath } from '../http/api-client.js';
import { APP, type Harness } from '../support/harness.js';
import { watch } from '../support/ws-client.js';

/** Every client-chosen value a phase sent, to look for in the scrape. */
export interface Driven {
  readonly values: string[];
}

/** Runs `task(i)` for `0 ≤ i < count`, `width` at a time. */
export async function pool(
  count: number,
  width: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

async function status(url: string, init: RequestInit): Promise<number> {
  const res = await fetch(url, init);
  await res.arrayBuffer();
  return res.status;
}

/** A WebSocket handshake that must be refused; resolves with the HTTP status. */
async function refusedHandshake(
  harness: Harness,
  path: string,
  headers: Record<string, string>,
): Promise<string> {
  const error = await harness.connect(path, headers).then(
    (ws) => {
      ws.terminate();
      return new Error('upgraded');
    },
    (reason: unknown) => reason as Error,
  );
  return error.message;
}

/** One round: a visitor's whole life plus the refusals an attacker would provoke. */
export async function round(
  harness: Harness,
  siteToken: string,
  phase: number,
  i: number,
  driven: Driven,
): Promise<void> {
  const ip = `198.${17 + phase}.${i >> 8}.${i & 255}`;
  const host = `v${phase}x${i}.shop.example`;
  const origin = `http://${host}:8080`;
  const evil = `evil-${phase}-${i}.test`;
  const consoleHost = `console-${phase}-${i}.test`;
  const badPath = `/v1/ws/x${phase}y${i}`;
  const badToken = `not-a-token-${phase}-${i}`;
  const fakeDialog = `dlg${phase}z${i}fake`;
  driven.values.push(ip, host, evil, consoleHost, badPath, badToken, fakeDialog);
  const forwarded = { 'X-Forwarded-For': ip };
  const url = `${harness.base}${sessionPath(siteToken)}`;

  // Accepted: preflight, session, socket with a message, an invalid frame and a forbidden one.
  const preflight = await status(url, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', ...forwarded },
  });
  expect(preflight).toBe(204);
  const res = await fetch(url, {
    method: 'POST',
    headers: { Origin: origin, 'Content-Type': 'application/json', ...forwarded },
    body: '{}',
  });
  const session = (await res.json()) as Record<string, string>;
  expect(res.status).toBe(200);
  const visitorId = session['visitor_id'] ?? '';
  const dialogId = session['dialog_id'] ?? '';
  driven.values.push(visitorId, dialogId);

  const socket = watch(await harness.connect('/v1/ws/widget', { Origin: origin, ...forwarded }));
  socket.send({ type: 'auth', token: session['visitor_token'] });
  await socket.nextOf('ready');
  const clientMsgId = randomUUID();
  driven.values.push(clientMsgId);
  socket.send({ type: 'send', dialog_id: dialogId, client_msg_id: clientMsgId, text: `hi ${i}` });
  await socket.nextOf('ack');
  socket.send({ type: 'typing', dialog_id: fakeDialog, state: `odd${i}` });
  socket.send({ type: 'subscribe', dialog_id: dialogId });
  expect((await socket.nextOf('error'))['code']).toBe('invalid');
  expect((await socket.nextOf('error'))['code']).toBe('forbidden');
  socket.ws.close(1000);
  await socket.closed();

  // Refused over HTTP: a foreign origin, an unknown console, a forged bearer on a made-up dialog.
  const foreign = await status(url, {
    method: 'POST',
    headers: { Origin: `http://${evil}`, 'Content-Type': 'application/json', ...forwarded },
    body: '{}',
  });
  expect(foreign).toBe(403);
  const app = await status(`${harness.base}/v1/app/dialogs`, {
    headers: { Origin: `http://${consoleHost}`, Authorization: `Bearer ${badToken}` },
  });
  expect(app).toBe(403);
  const history = await status(`${harness.base}/v1/widget/dialogs/${fakeDialog}/messages`, {
    headers: { Origin: origin, Authorization: `Bearer ${badToken}`, ...forwarded },
  });
  expect(history).toBe(401);

  // Refused WebSockets: a foreign console, an unknown path, a forged token, an unknown frame.
  expect(
    await refusedHandshake(harness, '/v1/ws/app', {
      Origin: `http://${consoleHost}`,
      ...forwarded,
    }),
  ).toBe('HTTP 403');
  expect(await refusedHandshake(harness, badPath, { Origin: origin, ...forwarded })).toBe(
    'HTTP 404',
  );
  const forged = watch(await harness.connect('/v1/ws/widget', { Origin: origin, ...forwarded }));
  forged.send({ type: 'auth', token: badToken });
  expect((await forged.closed()).code).toBe(4002);
  const garbled = watch(await harness.connect('/v1/ws/widget', { Origin: origin, ...forwarded }));
  garbled.send({ type: `x${phase}y${i}` });
  expect((await garbled.closed()).code).toBe(4000);
}

/**
 * The traffic a single client cannot vary per round but each phase still has: requests without
 * `X-Forwarded-For`, malformed and overlong forwarding chains, a widget socket without `Origin`.
 */
export async function edges(harness: Harness, siteToken: string, phase: number): Promise<void> {
  const url = `${harness.base}${sessionPath(siteToken)}`;
  const post = (headers: Record<string, string>) =>
    status(url, {
      method: 'POST',
      headers: { Origin: 'http://shop.example', 'Content-Type': 'application/json', ...headers },
      body: '{}',
    });
  expect(await post({})).toBe(200);
  expect(await post({ 'X-Forwarded-For': `198.51.100.${phase}, bad-hop-${phase}` })).toBe(200);
  expect(await post({ 'X-Forwarded-For': Array(40).fill('127.0.0.1').join(', ') })).toBe(200);
  expect(await refusedHandshake(harness, '/v1/ws/widget', {})).toBe('HTTP 403');
}

/** An operator socket that answers every ping, so round trips are measured. */
export async function pongingOperator(harness: Harness) {
  const socket = watch(await harness.connect('/v1/ws/app', { Origin: APP }));
  socket.ws.on('message', (data) => {
    const frame = JSON.parse(String(data)) as Record<string, unknown>;
    if (frame['type'] === 'ping') socket.send({ type: 'pong', id: frame['id'] });
  });
  socket.send({ type: 'auth', token: await harness.operatorToken() });
  await socket.nextOf('ready');
  return socket;
}
