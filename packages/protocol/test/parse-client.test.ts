import { describe, expect, it } from 'vitest';
import { CLIENT_FRAME_TYPES, decodeClientFrame, parseClientFrame } from '../src/parse-client.js';

const UUID = '0b7c2f5e-3f4a-4c1d-9e2b-7a6f5d4c3b2a';
const DIALOG = 'dlg_Q2xvc2VkQ2hhbm5lbA';

/** A valid frame of each type, to be broken one field at a time. */
const VALID = {
  auth: { type: 'auth', token: 'a.b.c' },
  refresh: { type: 'refresh', token: 'a.b.c' },
  pong: { type: 'pong', id: 7 },
  send: { type: 'send', dialog_id: DIALOG, client_msg_id: UUID, text: 'hello' },
  typing: { type: 'typing', dialog_id: DIALOG, state: 'start' },
  resume: { type: 'resume', dialog_id: DIALOG, after_seq: 0 },
  handoff: { type: 'handoff', dialog_id: DIALOG, action: 'request' },
  subscribe: { type: 'subscribe', dialog_id: DIALOG },
  unsubscribe: { type: 'unsubscribe', dialog_id: DIALOG },
} as const;

function expectClose(result: ReturnType<typeof parseClientFrame>, problem: string) {
  expect(result).toEqual({ ok: false, kind: 'close', code: 4000, problem });
}

function expectInvalid(value: unknown, field: string, rule: string, ref?: string) {
  const result = parseClientFrame(value);
  expect(result.ok).toBe(false);
  if (result.ok || result.kind !== 'invalid') throw new Error('expected invalid');
  expect(result.problem).toEqual({ field, rule });
  expect(result.error).toEqual(
    ref === undefined
      ? { type: 'error', code: 'invalid' }
      : { type: 'error', code: 'invalid', ref },
  );
}

describe('parseClientFrame', () => {
  it('knows every client frame type of SPEC §4', () => {
    expect([...CLIENT_FRAME_TYPES].sort()).toEqual(Object.keys(VALID).sort());
  });

  it.each(Object.entries(VALID))('accepts a valid %s frame as is', (_type, frame) => {
    expect(parseClientFrame(frame)).toEqual({ ok: true, frame });
  });

  it('accepts auth with a resume point', () => {
    const frame = { type: 'auth', token: 't', resume: { dialog_id: DIALOG, after_seq: 41 } };
    expect(parseClientFrame(frame)).toEqual({ ok: true, frame });
  });

  it.each(['start', 'stop'])('accepts typing state %s', (state) => {
    expect(parseClientFrame({ ...VALID.typing, state }).ok).toBe(true);
  });

  it.each(['request', 'take', 'release', 'close'])('accepts handoff action %s', (action) => {
    expect(parseClientFrame({ ...VALID.handoff, action }).ok).toBe(true);
  });

  it('drops unknown extra fields, at every level', () => {
    const result = parseClientFrame({
      ...VALID.send,
      sender: 'operator',
      seq: 1,
      extra: { deep: true },
    });
    expect(result).toEqual({ ok: true, frame: VALID.send });
    const auth = parseClientFrame({
      type: 'auth',
      token: 't',
      resume: { dialog_id: DIALOG, after_seq: 1, x: 1 },
    });
    expect(auth).toEqual({
      ok: true,
      frame: { type: 'auth', token: 't', resume: { dialog_id: DIALOG, after_seq: 1 } },
    });
  });

  it('returns a new object, never the input', () => {
    const input = { ...VALID.subscribe };
    const result = parseClientFrame(input);
    expect(result.ok && result.frame).not.toBe(input);
  });

  describe('closes with 4000', () => {
    it.each([null, 1, 'send', true, [], [VALID.send]])(
      'when the frame %j is not an object',
      (v) => {
        expectClose(parseClientFrame(v), 'not_object');
      },
    );

    it('when type is missing', () => {
      expectClose(parseClientFrame({ dialog_id: DIALOG }), 'missing_type');
      expectClose(parseClientFrame({}), 'missing_type');
    });

    it.each([
      'sned',
      'SEND',
      ' send',
      'message',
      'ack',
      'ready',
      'error',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      '',
      1,
      null,
      ['send'],
      { send: true },
    ])('when type is %j', (type) => {
      expectClose(parseClientFrame({ type, dialog_id: DIALOG }), 'unknown_type');
    });

    it('when type is only inherited', () => {
      const inherited = Object.create({ type: 'send' }) as object;
      expectClose(parseClientFrame(inherited), 'missing_type');
    });
  });

  describe('answers error invalid, keeping the socket', () => {
    it.each(Object.keys(VALID).filter((type) => type !== 'pong' && type !== 'auth'))(
      '%s without dialog_id or token',
      (type) => {
        const frame: Record<string, unknown> = { ...VALID[type as keyof typeof VALID] };
        const field = 'dialog_id' in frame ? 'dialog_id' : 'token';
        delete frame[field];
        expect(parseClientFrame(frame)).toMatchObject({ ok: false, kind: 'invalid', type });
      },
    );

    it.each([
      [{ ...VALID.auth, token: '' }, 'token', 'format'],
      [{ ...VALID.auth, token: 42 }, 'token', 'type'],
      [{ type: 'auth' }, 'token', 'missing'],
      [{ ...VALID.auth, resume: 'x' }, 'resume', 'type'],
      [{ ...VALID.auth, resume: [] }, 'resume', 'type'],
      [{ ...VALID.auth, resume: { dialog_id: DIALOG } }, 'resume.after_seq', 'missing'],
      [{ ...VALID.auth, resume: { dialog_id: 'a b', after_seq: 1 } }, 'resume.dialog_id', 'format'],
      [{ ...VALID.refresh, token: null }, 'token', 'type'],
      [{ ...VALID.pong, id: -1 }, 'id', 'format'],
      [{ ...VALID.pong, id: '7' }, 'id', 'type'],
      [{ ...VALID.pong, id: 1.5 }, 'id', 'format'],
      [{ ...VALID.typing, state: 'START' }, 'state', 'not_allowed'],
      [{ ...VALID.typing, state: 1 }, 'state', 'type'],
      [{ ...VALID.handoff, action: 'steal' }, 'action', 'not_allowed'],
      [{ ...VALID.handoff, action: 'toString' }, 'action', 'not_allowed'],
      [{ ...VALID.resume, after_seq: -1 }, 'after_seq', 'format'],
      [{ ...VALID.resume, after_seq: 2 ** 53 }, 'after_seq', 'format'],
      [{ ...VALID.resume, after_seq: Number.MAX_SAFE_INTEGER + 2 }, 'after_seq', 'format'],
      [{ ...VALID.resume, after_seq: 1e300 }, 'after_seq', 'format'],
      [{ ...VALID.resume, after_seq: '3' }, 'after_seq', 'type'],
      [{ ...VALID.subscribe, dialog_id: '' }, 'dialog_id', 'format'],
      [{ ...VALID.subscribe, dialog_id: 'x'.repeat(65) }, 'dialog_id', 'format'],
      [{ ...VALID.subscribe, dialog_id: '../etc/passwd' }, 'dialog_id', 'format'],
      [{ ...VALID.subscribe, dialog_id: 'd1%00' }, 'dialog_id', 'format'],
      [{ ...VALID.subscribe, dialog_id: 12 }, 'dialog_id', 'type'],
      [{ ...VALID.subscribe, dialog_id: { $gt: '' } }, 'dialog_id', 'type'],
    ])('%j → %s %s', (frame, field, rule) => {
      const ref =
        typeof frame === 'object' && 'dialog_id' in frame && typeof frame.dialog_id === 'string'
          ? /^[A-Za-z0-9_-]{1,64}$/.test(frame.dialog_id)
            ? frame.dialog_id
            : undefined
          : undefined;
      expectInvalid(frame, field, rule, ref);
    });

    it('accepts the largest safe integer', () => {
      expect(parseClientFrame({ ...VALID.resume, after_seq: Number.MAX_SAFE_INTEGER }).ok).toBe(
        true,
      );
    });

    it.each([
      'not-a-uuid',
      '0b7c2f5e3f4a4c1d9e2b7a6f5d4c3b2a',
      `{${UUID}}`,
      `${UUID} `,
      `${UUID}0`,
      'zb7c2f5e-3f4a-4c1d-9e2b-7a6f5d4c3b2a',
      '',
    ])('send with client_msg_id %j', (client_msg_id) => {
      expectInvalid({ ...VALID.send, client_msg_id }, 'client_msg_id', 'format', DIALOG);
    });

    it('send with a non-string client_msg_id', () => {
      expectInvalid({ ...VALID.send, client_msg_id: 5 }, 'client_msg_id', 'type', DIALOG);
    });

    it('refers to the client_msg_id of a send when it is well-formed', () => {
      expectInvalid({ ...VALID.send, text: '' }, 'text', 'empty', UUID);
      expectInvalid({ ...VALID.send, text: '', dialog_id: '!' }, 'dialog_id', 'format', UUID);
    });

    it('never echoes a malformed ref', () => {
      expectInvalid(
        { ...VALID.typing, dialog_id: '<script>alert(1)</script>', state: 'x' },
        'dialog_id',
        'format',
      );
    });

    it.each([
      ['__proto__', '{"type":"send","__proto__":{"admin":true}}'],
      ['constructor', '{"type":"subscribe","dialog_id":"d1","constructor":{"prototype":{}}}'],
      ['__proto__', '{"type":"auth","token":"t","resume":{"__proto__":{},"dialog_id":"d1"}}'],
      ['__proto__', '{"type":"send","x":[{"y":{"__proto__":1}}]}'],
    ])('a %s key anywhere', (field, text) => {
      const result = decodeClientFrame(text);
      expect(result).toMatchObject({
        ok: false,
        kind: 'invalid',
        problem: { field, rule: 'poisoned_key' },
      });
      expect(({} as Record<string, unknown>)['admin']).toBeUndefined();
    });

    it('a poisoned key nested far deeper than any stack allows', () => {
      const depth = 20_000;
      const text = `{"type":"subscribe","dialog_id":"d1","x":${'{"a":'.repeat(depth)}{"constructor":1}${'}'.repeat(depth)}}`;
      expect(decodeClientFrame(text)).toMatchObject({ kind: 'invalid' });
    });
  });

  describe('message text', () => {
    const send = (text: unknown) => parseClientFrame({ ...VALID.send, text });
    const textOf = (text: unknown) => {
      const result = send(text);
      return result.ok && result.frame.type === 'send' ? result.frame.text : null;
    };

    it('is trimmed, and the trimmed text is what is kept', () => {
      expect(textOf('  hi there \n')).toBe('hi there');
      expect(textOf('line 1\nline 2\tend')).toBe('line 1\nline 2\tend');
    });

    it('counts UTF-16 code units: 4000 fit, 4001 do not', () => {
      expect(textOf('a'.repeat(4000))).toHaveLength(4000);
      expectInvalid({ ...VALID.send, text: 'a'.repeat(4001) }, 'text', 'too_long', UUID);
      // 2000 emoji = 4000 code units: fits; one more does not.
      expect(textOf('😀'.repeat(2000))).toHaveLength(4000);
      expectInvalid({ ...VALID.send, text: `😀${'😀'.repeat(2000)}` }, 'text', 'too_long', UUID);
      // Padding does not count.
      expect(textOf(`   ${'a'.repeat(4000)}   `)).toHaveLength(4000);
    });

    it.each(['', '   ', '\n\t ', '\u00a0', '\u2028', '\ufeff'])('refuses %j as empty', (text) => {
      expectInvalid({ ...VALID.send, text }, 'text', 'empty', UUID);
    });

    it.each([
      '\u0000',
      '\u0001',
      '\u0007',
      '\u0008',
      '\u000b',
      '\u000c',
      '\r',
      '\u001b[31m',
      '\u001f',
    ])('refuses the C0 control %j inside text', (control) => {
      expectInvalid({ ...VALID.send, text: `a${control}b` }, 'text', 'control', UUID);
    });

    it.each([
      '\u202a',
      '\u202b',
      '\u202c',
      '\u202d',
      '\u202e',
      '\u2066',
      '\u2067',
      '\u2068',
      '\u2069',
    ])('refuses the bidi control %j', (bidi) => {
      expectInvalid({ ...VALID.send, text: `abc${bidi}def` }, 'text', 'bidi_override', UUID);
    });

    it('allows right-to-left text and marks that cannot reorder other text', () => {
      expect(textOf('שלום עולם')).toBe('שלום עולם');
      expect(textOf('مرحبا \u200f!')).toBe('مرحبا \u200f!');
      expect(textOf('e\u0301 — 日本語 🇺🇦')).toBe('e\u0301 — 日本語 🇺🇦');
    });

    it.each(['\ud800', '\udfff', 'a\ud83d', '\ude00b', '\ude00\ud83d'])(
      'refuses the lone surrogate in %j',
      (text) => {
        expectInvalid({ ...VALID.send, text: `x${text}y` }, 'text', 'lone_surrogate', UUID);
      },
    );

    it('refuses non-string text', () => {
      for (const text of [1, null, ['a'], { toString: 'x' }]) {
        expect(send(text)).toMatchObject({ ok: false, kind: 'invalid' });
      }
    });
  });
});

describe('decodeClientFrame', () => {
  it.each(['', 'not json', '{', '{"type":"send"', "{'type':'send'}", 'undefined', 'NaN'])(
    'closes with 4000 on %j',
    (text) => {
      expectClose(decodeClientFrame(text), 'not_json');
    },
  );

  it.each(['null', '1', '"send"', '[]', 'true'])('closes on the non-object %s', (text) => {
    expectClose(decodeClientFrame(text), 'not_object');
  });

  it('decodes a valid frame', () => {
    expect(decodeClientFrame(JSON.stringify(VALID.send))).toEqual({ ok: true, frame: VALID.send });
  });

  it('a maximal valid send fits the default 16 KiB frame limit', () => {
    const text = '\u0800'.repeat(4000); // 3 UTF-8 bytes each, the worst for BMP text
    const frame = JSON.stringify({ ...VALID.send, text });
    expect(new TextEncoder().encode(frame).byteLength).toBeLessThanOrEqual(16_384);
    expect(decodeClientFrame(frame).ok).toBe(true);
  });
});
