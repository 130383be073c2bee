/**
 * Black box: TLS on the public port (`POSTERN_TLS_CERT_FILE` + `POSTERN_TLS_KEY_FILE`). A
 * self-signed pair made here with `openssl` is the only CA the clients trust, so every answer
 * below also proves the chain and the name (127.0.0.1 is in the certificate's SAN).
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type HttpAnswer, readAnswer } from '../support/http-answer.js';
import { authenticate, closeOf, nextFrame } from './support/clients.js';
import {
  DIST_MAIN,
  loopbackPool,
  productionEnv,
  requireBuild,
  runToExit,
  type ServerProcess,
  SHOP_ORIGIN,
  startServer,
  tempDir,
} from './support/server-process.js';
import { makeTlsPair } from './support/tls-pair.js';
import { mintSite } from './support/tokens.js';

const nextIp = loopbackPool(30);
const dir = tempDir();
let certFile: string;
let keyFile: string;
let otherCertFile: string;
let otherKeyFile: string;
let ca: Buffer;
let server: ServerProcess;
let metricsPort: number;

beforeAll(async () => {
  requireBuild();
  ({ certFile, keyFile, ca } = makeTlsPair(dir.path, 'server'));
  ({ certFile: otherCertFile, keyFile: otherKeyFile } = makeTlsPair(dir.path, 'other'));
  server = await startServer(
    {
      POSTERN_TLS_CERT_FILE: certFile,
      POSTERN_TLS_KEY_FILE: keyFile,
      POSTERN_ASSISTANT: 'none',
      POSTERN_METRICS_PORT: '0',
    },
    { dir },
  );
  const listening = server
    .stdout()
    .split('\n')
    .find((line) => line.includes('"listening"'));
  metricsPort = Number((JSON.parse(listening ?? '{}') as { metrics_port?: unknown }).metrics_port);
});
afterAll(async () => {
  await server?.dispose();
  dir.remove();
});

interface HttpsInput {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  /** The CA to trust; `undefined` trusts only Node's default roots. */
  readonly ca?: Buffer;
}

function httpsCall(input: HttpsInput): Promise<HttpAnswer> {
  const { method = 'GET', path, headers = {}, body } = input;
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1',
      port: server.port,
      method,
      path,
      headers,
      agent: false,
      timeout: 5_000,
      localAddress: nextIp(),
      ...(input.ca === undefined ? {} : { ca: input.ca }),
    });
    req.on('response', (res) => readAnswer(res).then(resolve, reject));
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in time`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A plain-HTTP GET; resolves with the status, rejects when the connection fails. */
function plainGet(port: number, path: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, timeout: 5_000 });
    req.on('response', (res) => readAnswer(res).then(resolve, reject));
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in time`)));
    req.on('error', reject);
    req.end();
  });
}

function wssOpen(path: string, origin: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}${path}`, {
      origin,
      ca,
      localAddress: nextIp(),
      handshakeTimeout: 5_000,
    });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      reject(new Error(`handshake refused: ${res.statusCode}`));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** Starts `node dist/main.js` in production with the TLS variables of `tls`, to its exit. */
function startWithTls(tls: Record<string, string>) {
  return runToExit([DIST_MAIN], productionEnv(join(dir.path, 'refused.db'), tls), 8_000);
}

describe('black box: TLS from certificate files', () => {
  it('answers /healthz over HTTPS to a client trusting only the test CA', async () => {
    const answer = await httpsCall({ path: '/healthz', ca });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ status: 'ok' });
    // The control: without that CA the same request fails verification, so the chain is checked.
    await expect(httpsCall({ path: '/healthz' })).rejects.toThrow(/self.signed|certificate/i);
  });

  it('runs a widget session over HTTPS and its socket over wss:// to ready and a chat', async () => {
    const session = await httpsCall({
      method: 'POST',
      path: `/v1/widget/session?site_token=${encodeURIComponent(await mintSite())}`,
      headers: { Origin: SHOP_ORIGIN, 'Content-Type': 'application/json' },
      body: '{}',
      ca,
    });
    expect(session.status).toBe(200);
    const { visitor_token: token, dialog_id: dialogId } = session.json as Record<string, string>;

    const ws = await wssOpen('/v1/ws/widget', SHOP_ORIGIN);
    try {
      const ready = await authenticate(ws, String(token));
      expect(ready).toMatchObject({ type: 'ready', dialog_id: dialogId });
      const clientMsgId = randomUUID();
      const ack = nextFrame(ws, (frame) => frame['type'] === 'ack');
      const echo = nextFrame(ws, (frame) => frame['type'] === 'message');
      ws.send(
        JSON.stringify({
          type: 'send',
          dialog_id: dialogId,
          client_msg_id: clientMsgId,
          text: 'hi',
        }),
      );
      expect(await ack).toMatchObject({ client_msg_id: clientMsgId, seq: 1 });
      expect(await echo).toMatchObject({ seq: 1, sender: 'visitor', text: 'hi' });
      const closed = closeOf(ws);
      ws.close(1000);
      expect(await closed).toMatchObject({ code: 1000 });
    } finally {
      ws.terminate();
    }
  });

  it('does not speak plain HTTP on the TLS port', async () => {
    await expect(plainGet(server.port, '/healthz')).rejects.toThrow();
    // …and is still serving TLS clients afterwards.
    expect((await httpsCall({ path: '/healthz', ca })).status).toBe(200);
  });

  it('keeps the metrics listener on plain HTTP on loopback', async () => {
    expect(metricsPort).toBeGreaterThan(0);
    const scrape = await plainGet(metricsPort, '/metrics');
    expect(scrape.status).toBe(200);
    expect(scrape.text).toContain('postern_ws_connections_active');
  });
});

describe('black box: TLS configuration refused at start-up', () => {
  const garbage = join(dir.path, 'garbage.pem');

  beforeAll(() => {
    writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n');
  });

  it.each([
    {
      what: 'a certificate without a key',
      tls: () => ({ POSTERN_TLS_CERT_FILE: certFile }),
      line: 'POSTERN_TLS_KEY_FILE: must be set together with POSTERN_TLS_CERT_FILE',
    },
    {
      what: 'a key without a certificate',
      tls: () => ({ POSTERN_TLS_KEY_FILE: keyFile }),
      line: 'POSTERN_TLS_CERT_FILE: must be set together with POSTERN_TLS_KEY_FILE',
    },
    {
      what: 'the key of another certificate',
      tls: () => ({ POSTERN_TLS_CERT_FILE: certFile, POSTERN_TLS_KEY_FILE: otherKeyFile }),
      line: 'POSTERN_TLS_KEY_FILE: is not the key of the certificate in POSTERN_TLS_CERT_FILE',
    },
    {
      what: 'a key file that does not exist',
      tls: () => ({
        POSTERN_TLS_CERT_FILE: certFile,
        POSTERN_TLS_KEY_FILE: join(dir.path, 'none.pem'),
      }),
      line: 'POSTERN_TLS_KEY_FILE: file cannot be read',
    },
    {
      what: 'a certificate file that is not PEM',
      tls: () => ({ POSTERN_TLS_CERT_FILE: garbage, POSTERN_TLS_KEY_FILE: keyFile }),
      line: 'POSTERN_TLS_CERT_FILE: is not a PEM certificate',
    },
    {
      what: 'a certificate given as the key',
      tls: () => ({ POSTERN_TLS_CERT_FILE: certFile, POSTERN_TLS_KEY_FILE: otherCertFile }),
      line: 'POSTERN_TLS_KEY_FILE: is not an unencrypted PEM private key',
    },
  ])('exits 1 with one readable line for $what', async ({ tls, line }) => {
    // The files exist only once beforeAll ran, after this table was built.
    const result = await startWithTls(tls());
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([`postern: ${line}`]);
    expect(result.stdout).not.toMatch(/"listening"/);
    // Never a file's contents: one of them is a private key.
    expect(result.stderr).not.toMatch(/BEGIN|PRIVATE/);
  });
});
