/**
 * Black box: the built server behind a real nginx running the shipped `docs/deploy/nginx.conf`
 * (TLS terminated by nginx). Clients connect to nginx from distinct loopback addresses, which
 * nginx sees as `$remote_addr`; the server's `ws_ready` log line says which client address it
 * resolved and from where (`ip`, `ip_source`), and the per-IP session limit shows which address
 * it counts. One server trusts nginx (`POSTERN_TRUSTED_PROXIES=127.0.0.1`, the address nginx
 * connects from); the control server does not, and must see every client as nginx.
 *
 * Without nginx the file is skipped, loudly; with `CI=true` it fails instead (`.ci/run` installs
 * Debian's nginx-light when it runs as root).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type HttpAnswer, readAnswer } from '../support/http-answer.js';
import { waitUntil } from './support/chat.js';
import { authenticate, closeOf, nextFrame } from './support/clients.js';
import { accessLogLines, findNginx, type Nginx, startNginx } from './support/nginx.js';
import {
  loopbackPool,
  type ServerProcess,
  SHOP_ORIGIN,
  startServer,
  tempDir,
} from './support/server-process.js';
import { makeTlsPair, type TlsPair } from './support/tls-pair.js';
import { mintSite } from './support/tokens.js';

const SKIP_REASON = 'SKIPPED: nginx not installed (set CI=true to require it)';
const binary = findNginx();
const required = process.env['CI'] === 'true';
const skip = binary === null && !required;
if (skip) console.warn(`nginx.test.ts: ${SKIP_REASON}`);

/** The address nginx connects to the server from (it proxies to 127.0.0.1). */
const NGINX_ADDRESS = '127.0.0.1';
/** Low on purpose: three sessions from one counted address are one too many. */
const SESSION_RATE = 2;
const SERVER_ENV = { POSTERN_ASSISTANT: 'none', POSTERN_SESSION_RATE: String(SESSION_RATE) };

const nextIp = loopbackPool(32);
let dir: ReturnType<typeof tempDir>;
let pair: TlsPair;
/** A server that trusts nginx, and the nginx in front of it. */
let trusting: { server: ServerProcess; nginx: Nginx };
/** The control: the same, except that POSTERN_TRUSTED_PROXIES is unset. */
let untrusting: { server: ServerProcess; nginx: Nginx };
const sockets: WebSocket[] = [];

async function serverBehindNginx(name: string, env: Record<string, string>) {
  if (binary === null) throw new Error('unreachable: no nginx');
  const folder = join(dir.path, name);
  mkdirSync(folder);
  const server = await startServer(env, { dir: { path: folder, remove: () => undefined } });
  try {
    const nginx = await startNginx({
      binary,
      dir: folder,
      upstreamPort: server.port,
      certFile: pair.certFile,
      keyFile: pair.keyFile,
    });
    return { server, nginx };
  } catch (error) {
    await server.dispose();
    throw error;
  }
}

interface CallInput {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly from: string;
}

/** An HTTPS request to nginx from the loopback address `from`, trusting only the test CA. */
function callThrough(nginx: Nginx, input: CallInput): Promise<HttpAnswer> {
  const { method = 'GET', path, headers = {}, body, from } = input;
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1',
      port: nginx.httpsPort,
      ca: pair.ca,
      method,
      path,
      headers,
      agent: false,
      timeout: 5_000,
      localAddress: from,
    });
    req.on('response', (res) => readAnswer(res).then(resolve, reject));
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in time`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** `POST /v1/widget/session` through nginx, optionally with a client-written X-Forwarded-For. */
function sessionThrough(nginx: Nginx, siteToken: string, from: string, forged?: string) {
  return callThrough(nginx, {
    method: 'POST',
    path: `/v1/widget/session?site_token=${encodeURIComponent(siteToken)}`,
    headers: {
      Origin: SHOP_ORIGIN,
      'Content-Type': 'application/json',
      ...(forged === undefined ? {} : { 'X-Forwarded-For': forged }),
    },
    body: '{}',
    from,
  });
}

/** A `wss://` widget socket through nginx from `from`, with extra handshake headers. */
function socketThrough(nginx: Nginx, from: string, headers: Record<string, string> = {}) {
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${nginx.httpsPort}/v1/ws/widget`, {
      origin: SHOP_ORIGIN,
      ca: pair.ca,
      localAddress: from,
      headers,
      handshakeTimeout: 5_000,
    });
    sockets.push(ws);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`handshake refused: ${res.statusCode}`));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

interface Visitor {
  readonly ws: WebSocket;
  readonly ready: Record<string, unknown>;
  readonly session: Record<string, string>;
  readonly siteToken: string;
}

/** A new visitor through nginx: its session, then its socket, `ready`. */
async function visitorThrough(
  nginx: Nginx,
  from: string,
  forged?: string,
  siteToken?: string,
): Promise<Visitor> {
  const site = siteToken ?? (await mintSite());
  const answer = await sessionThrough(nginx, site, from, forged);
  if (answer.status !== 200) throw new Error(`session refused: ${answer.status} ${answer.text}`);
  const session = answer.json as Record<string, string>;
  const ws = await socketThrough(
    nginx,
    from,
    forged === undefined ? {} : { 'X-Forwarded-For': forged },
  );
  const ready = await authenticate(ws, String(session['visitor_token']));
  return { ws, ready, session, siteToken: site };
}

/** The server's `ws_ready` line for the socket whose `ready` frame is `ready`. */
async function readyLine(server: ServerProcess, ready: Record<string, unknown>) {
  const find = () =>
    server
      .stdout()
      .split('\n')
      .filter((line) => line.includes('"ws_ready"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line['session_id'] === ready['session_id']);
  await waitUntil(() => find() !== undefined, 'the ws_ready log line', 5_000);
  return find() as Record<string, unknown>;
}

describe.skipIf(skip)(skip ? SKIP_REASON : 'black box: behind a real nginx', () => {
  beforeAll(async () => {
    if (binary === null) {
      throw new Error(
        "nginx is not installed and CI=true requires it: install Debian's nginx-light " +
          '(.ci/run does so when it runs as root)',
      );
    }
    dir = tempDir();
    pair = makeTlsPair(dir.path, 'proxy');
    trusting = await serverBehindNginx('trusting', {
      ...SERVER_ENV,
      POSTERN_TRUSTED_PROXIES: NGINX_ADDRESS,
    });
    untrusting = await serverBehindNginx('untrusting', SERVER_ENV);
  });
  afterAll(async () => {
    for (const ws of sockets.splice(0)) ws.terminate();
    await Promise.all([trusting?.nginx.stop(), untrusting?.nginx.stop()]);
    await Promise.all([trusting?.server.dispose(), untrusting?.server.dispose()]);
    dir?.remove();
  });

  it('proxies the session and the WebSocket over TLS: ready, then a chat both ways', async () => {
    const from = nextIp();
    const visitor = await visitorThrough(trusting.nginx, from);
    expect(visitor.ready).toMatchObject({ type: 'ready', dialog_id: visitor.session['dialog_id'] });
    const clientMsgId = randomUUID();
    const ack = nextFrame(visitor.ws, (frame) => frame['type'] === 'ack');
    const echo = nextFrame(visitor.ws, (frame) => frame['type'] === 'message');
    visitor.ws.send(
      JSON.stringify({
        type: 'send',
        dialog_id: visitor.session['dialog_id'],
        client_msg_id: clientMsgId,
        text: 'through the proxy',
      }),
    );
    expect(await ack).toMatchObject({ client_msg_id: clientMsgId, seq: 1 });
    expect(await echo).toMatchObject({ seq: 1, sender: 'visitor', text: 'through the proxy' });
  });

  it("resolves the client's own address from X-Forwarded-For, because nginx is trusted", async () => {
    const from = nextIp();
    const visitor = await visitorThrough(trusting.nginx, from);
    expect(await readyLine(trusting.server, visitor.ready)).toMatchObject({
      ip: from,
      ip_source: 'forwarded',
    });
  });

  it('ignores a forged X-Forwarded-For sent through nginx', async () => {
    const from = nextIp();
    const visitor = await visitorThrough(trusting.nginx, from, '203.0.113.9');
    expect(await readyLine(trusting.server, visitor.ready)).toMatchObject({
      ip: from,
      ip_source: 'forwarded',
    });

    // The per-IP session limit counts the real address, whatever each request claims…
    const site = await mintSite();
    const spoofer = nextIp();
    const statuses: number[] = [];
    for (const forged of ['203.0.113.10', '203.0.113.11', '203.0.113.12']) {
      statuses.push((await sessionThrough(trusting.nginx, site, spoofer, forged)).status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    // …and apart from everyone else's: a neighbour behind the same nginx is not affected.
    expect((await sessionThrough(trusting.nginx, site, nextIp())).status).toBe(200);
    expect(trusting.server.stdout()).not.toContain('203.0.113.');
  });

  it('sees every client as nginx when nginx is not in POSTERN_TRUSTED_PROXIES (control)', async () => {
    const from = nextIp();
    const visitor = await visitorThrough(untrusting.nginx, from);
    expect(await readyLine(untrusting.server, visitor.ready)).toMatchObject({
      ip: NGINX_ADDRESS,
      ip_source: 'socket',
    });
    // Three different clients, one counted address: the per-IP session limit is shared.
    const site = await mintSite();
    const second = await sessionThrough(untrusting.nginx, site, nextIp());
    const third = await sessionThrough(untrusting.nginx, site, nextIp());
    expect([second.status, third.status]).toEqual([200, 429]);
  });

  it('redirects plain HTTP to HTTPS', async () => {
    const answer = await new Promise<HttpAnswer>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: trusting.nginx.httpPort,
        path: '/widget.js',
        agent: false,
        timeout: 5_000,
        localAddress: nextIp(),
      });
      req.on('response', (res) => readAnswer(res).then(resolve, reject));
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(301);
    expect(answer.headers.location).toBe('https://127.0.0.1/widget.js');
  });

  it('keeps query strings and tokens out of the access log', async () => {
    const from = nextIp();
    const visitor = await visitorThrough(trusting.nginx, from);
    const closed = closeOf(visitor.ws);
    visitor.ws.close(1000);
    await closed;
    // The plain port logs too: a redirected request keeps its query in `Location` only.
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: trusting.nginx.httpPort,
        path: `/v1/widget/session?site_token=${encodeURIComponent(visitor.siteToken)}`,
        agent: false,
        localAddress: from,
      });
      req.on('response', (res) => res.resume().on('end', resolve));
      req.on('error', reject);
      req.end();
    });

    const mine = () => accessLogLines(trusting.nginx).filter((line) => line.startsWith(`${from} `));
    // nginx writes a WebSocket's line when the connection ends.
    await waitUntil(() => mine().length >= 3, 'three access-log lines of this client', 5_000);
    const lines = mine();
    expect(lines.some((line) => line.includes('"POST /v1/widget/session HTTP/1.1" 200'))).toBe(
      true,
    );
    expect(lines.some((line) => line.includes('"GET /v1/ws/widget HTTP/1.1" 101'))).toBe(true);
    expect(lines.some((line) => line.includes('"GET /v1/widget/session HTTP/1.1" 301'))).toBe(true);
    const everything = accessLogLines(trusting.nginx).join('\n');
    for (const secret of [
      '?',
      'site_token',
      visitor.siteToken,
      encodeURIComponent(visitor.siteToken),
      String(visitor.session['visitor_token']),
      String(visitor.session['refresh_token']),
    ]) {
      expect(everything).not.toContain(secret);
    }
  });
});
