/**
 * SPEC §4 "Assistant": `POSTERN_ASSISTANT=demo|webhook|none`, default `demo`, or `webhook` when a
 * webhook URL is set; a misconfigured webhook refuses to start.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ASSISTANT_KINDS,
  createResponder,
  DEMO_OFFER_HUMAN,
  defaultAssistantKind,
  type FetchLike,
} from '../../src/assistant/index.js';
import { makeRequest } from './fixtures.js';

const unusedFetch: FetchLike = () => Promise.reject(new Error('no network in this test'));
const signal = () => new AbortController().signal;

describe('createResponder', () => {
  it('defaults to demo, or webhook when a webhook URL is set', () => {
    expect(defaultAssistantKind(undefined)).toBe('demo');
    expect(defaultAssistantKind('')).toBe('demo');
    expect(defaultAssistantKind('https://hook.example/')).toBe('webhook');
    expect(ASSISTANT_KINDS).toEqual(['demo', 'webhook', 'none']);
  });

  it('answers null for none: visitors wait for an operator', () => {
    expect(createResponder({ kind: 'none', fetch: unusedFetch })).toBeNull();
  });

  it('builds the demo responder, which needs no network', async () => {
    const responder = createResponder({ kind: 'demo', fetch: unusedFetch });
    const reply = await responder?.respond(makeRequest({ text: 'nonsense' }), signal());
    expect(reply?.text).toContain(DEMO_OFFER_HUMAN);
  });

  it('builds a webhook responder that signs with the configured secret and clock', async () => {
    const secret = new TextEncoder().encode('a-webhook-secret-of-32-bytes-ok!');
    const calls: { url: string; init: RequestInit }[] = [];
    const fetch: FetchLike = async (url, init) => {
      calls.push({ url, init });
      return new Response(null, { status: 204 });
    };
    const responder = createResponder({
      kind: 'webhook',
      webhookUrl: 'https://hook.example/answer',
      webhookSecret: secret,
      fetch,
      now: () => 42,
    });
    await expect(responder?.respond(makeRequest(), signal())).resolves.toBeNull();
    const [call] = calls;
    if (call === undefined) throw new Error('no call made');
    expect(call.url).toBe('https://hook.example/answer');
    expect(call.init.redirect).toBe('manual');
    const headers = new Headers(call.init.headers);
    const body = call.init.body as Uint8Array;
    expect(headers.get('x-postern-signature')).toBe(
      `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    );
    expect(headers.get('x-postern-timestamp')).toBe('42');
    expect(JSON.parse(new TextDecoder().decode(body)).sent_at).toBe(42);
  });

  it('refuses a webhook without URL or secret at start-up', () => {
    const secret = new Uint8Array(32).fill(1);
    expect(() =>
      createResponder({ kind: 'webhook', webhookSecret: secret, fetch: unusedFetch }),
    ).toThrow(TypeError);
    expect(() =>
      createResponder({ kind: 'webhook', webhookUrl: 'https://hook.example/', fetch: unusedFetch }),
    ).toThrow(TypeError);
    expect(() =>
      createResponder({
        kind: 'webhook',
        webhookUrl: 'javascript:alert(1)',
        webhookSecret: secret,
        fetch: unusedFetch,
      }),
    ).toThrow(TypeError);
  });

  it('refuses an unknown kind', () => {
    expect(() => createResponder({ kind: 'gpt' as never, fetch: unusedFetch })).toThrow(TypeError);
  });
});
