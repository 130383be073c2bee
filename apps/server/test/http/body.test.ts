import { HTTP_BODY_MAX_BYTES, Paths } from '@postern/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APP, type Harness, SHOP } from '../support/harness.js';
import {
  expectError,
  postSession,
  rawRequest,
  sessionPath,
  socketRequest,
  startApiHarness,
} from './api-client.js';

let harness: Harness;
let siteToken: string;
beforeEach(async () => {
  harness = await startApiHarness();
  siteToken = (await harness.siteToken()).token;
});
afterEach(() => harness.close());

/** `POST /v1/widget/session` with exactly these headers and body bytes. */
async function postRaw(
  headers: Record<string, string | number>,
  body: string | Buffer | readonly (string | Buffer)[],
) {
  const res = await rawRequest(harness.base, {
    method: 'POST',
    path: sessionPath(siteToken),
    headers: { Origin: SHOP, ...headers },
    ...(typeof body === 'string' || Buffer.isBuffer(body) ? { body } : { chunks: body }),
  });
  return { ...res, body: (res.json ?? {}) as Record<string, unknown> };
}

/** A JSON object of exactly `bytes` bytes (an ignored `pad` field). */
function jsonOfSize(bytes: number): string {
  const empty = JSON.stringify({ pad: '' });
  return JSON.stringify({ pad: 'x'.repeat(bytes - empty.length) });
}

function expectReadableError(
  res: { status: number; text: string; headers: Record<string, unknown> },
  status: number,
  code: string,
) {
  expect({ status: res.status, text: res.text }).toEqual({
    status,
    text: JSON.stringify({ error: code }),
  });
  expect(res.headers['access-control-allow-origin']).toBe(SHOP);
}

describe('request bodies: media type', () => {
  it.each([
    ['text/plain', 'text/plain;charset=UTF-8'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['a JSON lookalike', 'application/jsonx'],
    ['a JSON suffix type', 'application/merge-patch+json'],
    ['multipart', 'multipart/form-data; boundary=x'],
  ])('refuses %s with 415', async (_label, type) => {
    const res = await postRaw({ 'Content-Type': type }, '{}');
    expectReadableError(res, 415, 'unsupported_media_type');
  });

  it('refuses a body without Content-Type with 415', async () => {
    const res = await postRaw({ 'Content-Length': 2 }, '{}');
    expectReadableError(res, 415, 'unsupported_media_type');
  });

  it('refuses a chunked body without Content-Type with 415', async () => {
    const res = await postRaw({}, ['{', '}']);
    expectReadableError(res, 415, 'unsupported_media_type');
  });

  it('accepts JSON with parameters and any casing', async () => {
    const res = await postRaw({ 'Content-Type': 'Application/JSON; charset=utf-8' }, '{}');
    expect(res.status).toBe(200);
  });

  it('checks the media type on app routes too', async () => {
    const res = await rawRequest(harness.base, {
      method: 'POST',
      path: Paths.APP_REVOCATIONS,
      headers: {
        Origin: APP,
        Authorization: `Bearer ${await harness.operatorToken()}`,
        'Content-Type': 'text/plain',
      },
      body: JSON.stringify({ site_id: 'site_shop' }),
    });
    expect(res.status).toBe(415);
    expect(res.json).toEqual({ error: 'unsupported_media_type' });
    expect((await postSession(harness, siteToken)).status).toBe(200);
  });
});

describe('request bodies: size', () => {
  const json = { 'Content-Type': 'application/json' };

  it(`accepts exactly ${HTTP_BODY_MAX_BYTES} bytes`, async () => {
    const body = jsonOfSize(HTTP_BODY_MAX_BYTES);
    expect(Buffer.byteLength(body)).toBe(HTTP_BODY_MAX_BYTES);
    expect((await postRaw(json, body)).status).toBe(200);
  });

  it('refuses one byte more with 413', async () => {
    const res = await postRaw(json, jsonOfSize(HTTP_BODY_MAX_BYTES + 1));
    expectReadableError(res, 413, 'payload_too_large');
    expect(res.text).not.toContain('4096');
  });

  it('refuses an oversized chunked body (no Content-Length) with 413', async () => {
    const chunk = 'x'.repeat(1024);
    const body = ['{"pad":"', chunk, chunk, chunk, chunk, chunk, '"}'];
    const res = await postRaw(json, body);
    expectReadableError(res, 413, 'payload_too_large');
  });

  it('counts multi-byte characters as bytes, not characters', async () => {
    const body = JSON.stringify({ pad: 'é'.repeat(2100) });
    expect(body.length).toBeLessThan(HTTP_BODY_MAX_BYTES);
    const res = await postRaw(json, Buffer.from(body));
    expectReadableError(res, 413, 'payload_too_large');
  });

  it('answers a declared oversize at once, without waiting for the body', async () => {
    const head = [
      `POST ${sessionPath(siteToken)} HTTP/1.1`,
      `Host: 127.0.0.1:${harness.port}`,
      `Origin: ${SHOP}`,
      'Content-Type: application/json',
      'Content-Length: 1000000000',
      '',
      '',
    ].join('\r\n');
    const res = await socketRequest(harness.port, head, '{"pad":"');
    expect(res.status).toBe(413);
    expect(res.text.endsWith('{"error":"payload_too_large"}')).toBe(true);
  });

  it('reads no more than a (lying) short Content-Length: the rest is never a session', async () => {
    const body = jsonOfSize(HTTP_BODY_MAX_BYTES * 2);
    const head = [
      `POST ${sessionPath(siteToken)} HTTP/1.1`,
      `Host: 127.0.0.1:${harness.port}`,
      `Origin: ${SHOP}`,
      'Content-Type: application/json',
      'Content-Length: 10',
      '',
      '',
    ].join('\r\n');
    const res = await socketRequest(harness.port, head, body);
    // The first ten bytes are not JSON and what follows them is not a request: a bare 400.
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('visitor_token');
  });

  it('keeps serving the same client after a 413', async () => {
    expect((await postRaw(json, jsonOfSize(HTTP_BODY_MAX_BYTES * 4))).status).toBe(413);
    expect((await postSession(harness, siteToken)).status).toBe(200);
  });
});

describe('request bodies: JSON shape', () => {
  const json = { 'Content-Type': 'application/json' };

  it.each([
    ['truncated JSON', '{"refresh_token":'],
    ['a trailing comma', '{"a":1,}'],
    ['single quotes', "{'refresh_token':'x'}"],
    ['invalid UTF-8 that breaks the JSON', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])],
  ])('refuses %s with 400 invalid_body', async (_label, body) => {
    const res = await postRaw(json, body);
    expectReadableError(res, 400, 'invalid_body');
  });

  it.each([
    ['an array', '[]'],
    ['null', 'null'],
    ['a string', '"refresh"'],
    ['a number', '5'],
    ['refresh_token: 5', '{"refresh_token":5}'],
    ['refresh_token: null', '{"refresh_token":null}'],
    ['refresh_token: an object', '{"refresh_token":{"a":1}}'],
    ['refresh_token: an array', '{"refresh_token":["prt_x"]}'],
  ])('refuses %s with 400 invalid_body', async (_label, body) => {
    const res = await postRaw(json, body);
    expectReadableError(res, 400, 'invalid_body');
  });

  it('treats an empty body as {} (a new session)', async () => {
    const res = await postRaw({ ...json, 'Content-Length': 0 }, '');
    expect(res.status).toBe(200);
  });

  it('ignores unknown fields and never treats __proto__ as a refresh token', async () => {
    const res = await postRaw(json, '{"__proto__":{"refresh_token":"prt_x"},"extra":1}');
    expect(res.status).toBe(200);
    expect(typeof res.body['visitor_token']).toBe('string');
  });

  it('refuses invalid JSON on app routes with 400 invalid_body', async () => {
    const res = await rawRequest(harness.base, {
      method: 'POST',
      path: Paths.APP_REVOCATIONS,
      headers: {
        Origin: APP,
        Authorization: `Bearer ${await harness.operatorToken()}`,
        'Content-Type': 'application/json',
      },
      body: '{"site_id":',
    });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: 'invalid_body' });
  });

  it('refuses an oversized body on app routes with 413', async () => {
    const res = await rawRequest(harness.base, {
      method: 'POST',
      path: Paths.APP_REVOCATIONS,
      headers: {
        Origin: APP,
        Authorization: `Bearer ${await harness.operatorToken()}`,
        'Content-Type': 'application/json',
      },
      body: jsonOfSize(HTTP_BODY_MAX_BYTES + 1),
    });
    expect(res.status).toBe(413);
    expect(res.json).toEqual({ error: 'payload_too_large' });
  });
});

describe('request bodies: error bodies', () => {
  it('are exactly {"error": code} whatever went wrong', async () => {
    const res = await postSession(harness, 'garbage');
    expectError(res, 401, 'unauthorized');
  });
});
