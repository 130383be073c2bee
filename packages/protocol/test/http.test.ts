import { describe, expect, it } from 'vitest';
import {
  HttpError,
  isHttpErrorCode,
  messagesPath,
  parseErrorBody,
  parseHistoryPage,
  parseSessionResponse,
  versionedWidgetPath,
} from '../src/http.js';

describe('paths', () => {
  it('builds history paths with the id encoded', () => {
    expect(messagesPath('widget', 'd1')).toBe('/v1/widget/dialogs/d1/messages');
    expect(messagesPath('app', 'a/b?c')).toBe('/v1/app/dialogs/a%2Fb%3Fc/messages');
    expect(versionedWidgetPath('1.2.3')).toBe('/widget/1.2.3/widget.js');
  });
});

describe('HttpError', () => {
  it('maps every code to a 4xx or 5xx status', () => {
    for (const status of Object.values(HttpError)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
    expect(HttpError.origin_not_allowed).toBe(403);
    expect(HttpError.refresh_reused).toBe(401);
    expect(HttpError.payload_too_large).toBe(413);
    expect(HttpError.unsupported_media_type).toBe(415);
  });

  it('recognises only its own codes', () => {
    expect(isHttpErrorCode('refresh_invalid')).toBe(true);
    expect(isHttpErrorCode('toString')).toBe(false);
    expect(isHttpErrorCode('__proto__')).toBe(false);
    expect(parseErrorBody({ error: 'origin_not_allowed' })).toBe('origin_not_allowed');
    expect(parseErrorBody({ error: 'Error: ENOENT at /srv' })).toBeNull();
    expect(parseErrorBody('origin_not_allowed')).toBeNull();
  });
});

describe('response bodies', () => {
  const session = {
    visitor_token: 'a.b.c',
    refresh_token: 'r',
    visitor_id: 'v1',
    dialog_id: 'd1',
    expires_at: 1_790_000_000_000,
  };

  it('validates a session response', () => {
    expect(parseSessionResponse({ ...session, extra: 1 })).toEqual({ ok: true, value: session });
    expect(parseSessionResponse({ ...session, expires_at: '1' })).toEqual({
      ok: false,
      field: 'expires_at',
    });
    expect(parseSessionResponse(null)).toEqual({ ok: false, field: '(body)' });
  });

  it('validates a history page item by item', () => {
    const message = { dialog_id: 'd1', seq: 1, id: 'm1', sender: 'assistant', text: 'hi', ts: 1 };
    expect(parseHistoryPage({ messages: [message], next_after_seq: null })).toEqual({
      ok: true,
      value: { messages: [message], next_after_seq: null },
    });
    expect(parseHistoryPage({ messages: [message], next_after_seq: 1 })).toMatchObject({
      ok: true,
      value: { next_after_seq: 1 },
    });
    expect(parseHistoryPage({ messages: [message, 'x'] })).toEqual({
      ok: false,
      field: 'messages[1]',
    });
    expect(parseHistoryPage({ messages: {} })).toEqual({ ok: false, field: 'messages' });
    expect(parseHistoryPage({ messages: [{ ...message, sender: 'root' }] })).toEqual({
      ok: false,
      field: 'sender',
    });
  });
});
