/**
 * SPEC §4 "Assistant": webhook calls are signed, time out, accept ≤ 64 KB, never follow
 * redirects, and fail with a stable reason. Every test talks to a real HTTP server on
 * 127.0.0.1 port 0 through the real global `fetch`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WEBHOOK_RESPONSE_MAX_BYTES } from '@postern/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ResponderError } from '../../src/assistant/errors.js';
import { ASSISTANT_HISTORY_MAX, type AssistantRequest } from '../../src/assistant/types.js';
import {
  createWebhookResponder,
  type WebhookResponderOptions,
} from '../../src/assistant/webhook.js';
import { type LocalServer, makeRequest, readBody, startServer, until } from './fixtures.js';

const SECRET = randomBytes(32);
const SENT_AT = 1_750_000_000_123;

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}

function responderFor(url: string, options: Partial<WebhookResponderOptions> = {}) {
  return createWebhookResponder({
    url,
    secret: SECRET,
    fetch: globalThis.fetch,
    now: () => SENT_AT,
    ...options,
  });
}

const signal = () => new AbortController().signal;

/** Answers with `body` as JSON, status 200. */
function json(body: unknown, status = 200) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}

/** The ResponderError a call rejected with. */
async function failure(promise: Promise<unknown>): Promise<ResponderError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ResponderError);
  return error as ResponderError;
}

describe('webhook responder', () => {
  it('POSTs the documented JSON, signed with HMAC-SHA256 of the exact body bytes', async () => {
    let seen: { headers: IncomingMessage['headers']; method?: string; body: Buffer } | undefined;
    const server = await serve(async (req, res) => {
      seen = { headers: req.headers, method: req.method ?? '', body: await readBody(req) };
      json({ text: '  Hello from the hook  ', offer_human: true })(req, res);
    });
    const request: AssistantRequest = makeRequest({
      text: 'Where is my parcel? ünïcödé 📦',
      history: [{ sender: 'assistant', text: 'Hi!', ts: 1 }],
    });

    const reply = await responderFor(server.url).respond(request, signal());

    expect(reply).toEqual({ text: 'Hello from the hook', offerHuman: true });
    if (seen === undefined) throw new Error('the server saw no request');
    expect(seen.method).toBe('POST');
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.headers['user-agent']).toBe('postern-webhook');
    expect(seen.headers['x-postern-timestamp']).toBe(String(SENT_AT));
    // The receiver's side of the contract, with nothing but node:crypto.
    const signature = String(seen.headers['x-postern-signature']);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    const expected = createHmac('sha256', SECRET).update(seen.body).digest();
    expect(timingSafeEqual(Buffer.from(signature.slice('sha256='.length), 'hex'), expected)).toBe(
      true,
    );
    expect(JSON.parse(seen.body.toString('utf8'))).toEqual({
      site_id: request.siteId,
      assistant_id: request.assistantId,
      dialog_id: request.dialogId,
      visitor_id: request.visitorId,
      message: request.message,
      history: [{ sender: 'assistant', text: 'Hi!', ts: 1 }],
      sent_at: SENT_AT,
    });
    // Nothing else travels: no secret, in any encoding.
    const raw = JSON.stringify(seen.headers) + seen.body.toString('latin1');
    for (const encoding of ['hex', 'base64', 'base64url', 'latin1'] as const) {
      expect(raw).not.toContain(SECRET.toString(encoding));
    }
  });

  it('signs with its own copy of the secret, so later changes to the caller’s bytes do not matter', async () => {
    const secret = Uint8Array.from(SECRET);
    let signature = '';
    let body: Buffer = Buffer.alloc(0);
    const server = await serve(async (req, res) => {
      signature = String(req.headers['x-postern-signature']);
      body = await readBody(req);
      res.writeHead(204).end();
    });
    const responder = responderFor(server.url, { secret });
    secret.fill(0);
    await responder.respond(makeRequest(), signal());
    expect(signature).toBe(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
  });

  it(`sends at most the ${ASSISTANT_HISTORY_MAX} newest history entries`, async () => {
    let history: unknown[] = [];
    const server = await serve(async (req, res) => {
      history = JSON.parse((await readBody(req)).toString('utf8')).history;
      res.writeHead(204).end();
    });
    const long = Array.from({ length: 25 }, (_, i) => ({
      sender: 'visitor' as const,
      text: `m${i}`,
      ts: i,
    }));
    await responderFor(server.url).respond(makeRequest({ history: long }), signal());
    expect(history).toEqual(long.slice(-ASSISTANT_HISTORY_MAX));
  });

  it('answers null for 204 (nothing to say)', async () => {
    const server = await serve((_req, res) => res.writeHead(204).end());
    await expect(responderFor(server.url).respond(makeRequest(), signal())).resolves.toBeNull();
  });

  it('reads a reply without offer_human as a plain reply', async () => {
    const server = await serve(json({ text: 'ok', extra: { ignored: true } }));
    await expect(responderFor(server.url).respond(makeRequest(), signal())).resolves.toEqual({
      text: 'ok',
    });
  });

  it.each([500, 502, 201, 400, 404])('fails with bad_status on %i', async (status) => {
    const server = await serve(json({ text: 'not for you' }, status));
    const error = await failure(responderFor(server.url).respond(makeRequest(), signal()));
    expect(error.reason).toBe('bad_status');
    expect(error.code).toBe('ERR_ASSISTANT_BAD_STATUS');
    expect(error.status).toBe(status);
  });

  it.each([
    ['not JSON', 'Hello!'],
    ['an array', '[{"text":"hi"}]'],
    ['null', 'null'],
    ['no text', '{"offer_human":true}'],
    ['a non-string text', '{"text":42}'],
    ['a non-boolean offer_human', '{"text":"hi","offer_human":"yes"}'],
    ['an empty text', '{"text":"   "}'],
    ['a text over 4000 code units', JSON.stringify({ text: 'a'.repeat(4001) })],
    ['a control character', JSON.stringify({ text: 'bell\u0007' })],
    ['a bidi override', JSON.stringify({ text: 'abc\u202Edef' })],
    ['a lone surrogate', '{"text":"\\ud800"}'],
    ['text only on the prototype', '{"__proto__":{"text":"hi"}}'],
    ['an empty body', ''],
  ])('fails with bad_body on %s', async (_label, body) => {
    const server = await serve(json(body));
    const error = await failure(responderFor(server.url).respond(makeRequest(), signal()));
    expect(error.reason).toBe('bad_body');
    expect(error.code).toBe('ERR_ASSISTANT_BAD_BODY');
  });

  it('fails with bad_body on invalid UTF-8', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
      );
    });
    const error = await failure(responderFor(server.url).respond(makeRequest(), signal()));
    expect(error.reason).toBe('bad_body');
  });

  it('accepts an answer of exactly 64 KB', async () => {
    const body = '{"text":"ok"}'.padEnd(WEBHOOK_RESPONSE_MAX_BYTES, ' ');
    expect(Buffer.byteLength(body)).toBe(WEBHOOK_RESPONSE_MAX_BYTES);
    const server = await serve(json(body));
    await expect(responderFor(server.url).respond(makeRequest(), signal())).resolves.toEqual({
      text: 'ok',
    });
  });

  it('aborts a streamed answer once it passes 64 KB (too_large), without reading the rest', async () => {
    let disconnected = false;
    let written = 0;
    const server = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no length announced
      res.on('close', () => {
        disconnected = true;
      });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.write('{"text":"');
      pump();
      req.resume();
    });
    const error = await failure(responderFor(server.url).respond(makeRequest(), signal()));
    expect(error.reason).toBe('too_large');
    expect(error.code).toBe('ERR_ASSISTANT_TOO_LARGE');
    await until(() => disconnected);
    expect(written).toBeLessThan(64 * 1024 * 1024); // the server was cut off, not drained
  });

  it('refuses an announced Content-Length over 64 KB before reading it', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(WEBHOOK_RESPONSE_MAX_BYTES + 1) });
      res.write('{"text":"'); // and then nothing: the length alone decides
    });
    const error = await failure(responderFor(server.url).respond(makeRequest(), signal()));
    expect(error.reason).toBe('too_large');
  });

  it('times out (timeout) when the server never answers', async () => {
    let disconnected = false;
    const server = await serve((req) => {
      req.resume();
      req.socket.on('close', () => {
        disconnected = true;
      });
    });
    const error = await failure(
      responderFor(server.url, { timeoutMs: 200 }).respond(makeRequest(), signal()),
    );
    expect(error.reason).toBe('timeout');
    expect(error.code).toBe('ERR_ASSISTANT_TIMEOUT');
    await until(() => disconnected); // the connection was torn down, not left hanging
  });

  it('times out when the headers come but the body stalls (the deadline covers the body)', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"text":'); // never finished
    });
    const error = await failure(
      responderFor(server.url, { timeoutMs: 200 }).respond(makeRequest(), signal()),
    );
    expect(error.reason).toBe('timeout');
  });

  it.each([301, 302, 303, 307, 308])('never follows a %i redirect (bad_status)', async (status) => {
    const target = await serve(json({ text: 'from the redirect target' }));
    const server = await serve((_req, res) => {
      res.writeHead(status, { location: target.url }).end();
    });
    const error = await failure(responderFor(server.url).respond(makeRequest(), signal()));
    expect(error.reason).toBe('bad_status');
    expect(error.status).toBe(status);
    expect(server.received()).toBe(1);
    expect(target.received()).toBe(0);
  });

  it('fails with network when nothing listens', async () => {
    const gone = await startServer(() => {});
    await gone.close();
    const error = await failure(responderFor(gone.url).respond(makeRequest(), signal()));
    expect(error.reason).toBe('network');
    expect(error.code).toBe('ERR_ASSISTANT_NETWORK');
  });

  it('fails with network when the server drops the connection', async () => {
    const server = await serve((req) => req.socket.destroy());
    const error = await failure(responderFor(server.url).respond(makeRequest(), signal()));
    expect(error.reason).toBe('network');
  });

  it('stops at once when the caller aborts, rejecting with the caller’s reason', async () => {
    let disconnected = false;
    const server = await serve((req) => {
      req.resume();
      req.socket.on('close', () => {
        disconnected = true;
      });
    });
    const controller = new AbortController();
    const call = responderFor(server.url).respond(makeRequest(), controller.signal);
    await until(() => server.received() === 1);
    const reason = new Error('operator took over');
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    await until(() => disconnected);
  });

  it('keeps the secret and the URL out of errors', async () => {
    const server = await serve(json({ text: 42 }, 500));
    const url = `${server.url}?key=url-credential-123`;
    const error = await failure(responderFor(url).respond(makeRequest(), signal()));
    const gone = await startServer(() => {});
    await gone.close();
    const network = await failure(
      responderFor(`${gone.url}?key=url-credential-123`).respond(makeRequest(), signal()),
    );
    for (const e of [error, network]) {
      const text = `${e.message} ${e.stack} ${JSON.stringify(e)} ${String(e.cause)}`;
      expect(text).not.toContain('url-credential-123');
      expect(text).not.toContain(SECRET.toString('hex'));
    }
  });

  it('holds its secret only in a closure: nothing on the responder exposes it', () => {
    const responder = responderFor('http://127.0.0.1:9/hook');
    expect(Object.keys(responder)).toEqual(['respond']);
    expect(JSON.stringify(responder)).toBe('{}');
  });

  it.each([
    ['not a URL', 'hook.example/path'],
    ['a non-http scheme', 'ftp://hook.example/'],
    ['a file URL', 'file:///etc/passwd'],
    ['credentials in the URL', 'https://user:pass@hook.example/'],
  ])('refuses %s at creation, without echoing it', (_label, url) => {
    expect(() => responderFor(url)).toThrow(TypeError);
    try {
      responderFor(url);
    } catch (error) {
      expect(String(error)).not.toContain(url);
    }
  });

  it('refuses an empty secret and non-positive bounds at creation', () => {
    const url = 'https://hook.example/';
    expect(() => responderFor(url, { secret: new Uint8Array(0) })).toThrow(TypeError);
    expect(() => responderFor(url, { timeoutMs: 0 })).toThrow(RangeError);
    expect(() => responderFor(url, { maxResponseBytes: -1 })).toThrow(RangeError);
  });
});
