import { describe, expect, it } from 'vitest';
import { parseHistoryPage, parseSessionResponse } from '../src/http.js';
import { parseServerFrame } from '../src/parse-server.js';
import {
  decodeServerFrameLean,
  parseHistoryPageLean,
  parseServerFrameLean,
  parseSessionResponseLean,
} from '../src/parse-server-lean.js';
import { INVALID, VALID } from './server-frames.js';

const OPERATOR_ONLY = new Set(['dialog', 'dialogs_truncated']);
const WIDGET_FRAMES = Object.entries(VALID).filter(([type]) => !OPERATOR_ONLY.has(type));

// Values of the wrong type for each kind of field a frame has.
const NOT_A_STRING = [5, true, {}, [], '', null];
const NOT_A_COUNT = ['1', -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, true, {}, null];

function wrongValues(valid: unknown): unknown[] {
  if (typeof valid === 'string') return NOT_A_STRING;
  if (typeof valid === 'number') return NOT_A_COUNT;
  if (typeof valid === 'boolean') return ['yes', 0, null];
  return ['x', 5, [], null];
}

describe('parseServerFrameLean', () => {
  it.each(WIDGET_FRAMES)(
    'accepts a valid %s frame exactly as the full validator does',
    (_, frame) => {
      expect(parseServerFrameLean(frame)).toEqual(parseServerFrame(frame));
    },
  );

  it('accepts an app ready without widget fields, and leaves them absent', () => {
    const { visitor_id, dialog_id, last_seq, handoff, ...app } = VALID.ready;
    const result = parseServerFrameLean({ ...app, dialog_id: null });
    expect(result).toEqual({ ok: true, frame: app });
    expect(result.ok && Object.keys(result.frame)).not.toContain('dialog_id');
  });

  it('drops unknown extra fields, and never copies a __proto__ key', () => {
    expect(parseServerFrameLean({ ...VALID.ack, html: '<b>' })).toEqual({
      ok: true,
      frame: VALID.ack,
    });
    const poisoned = decodeServerFrameLean(
      '{"type":"handoff","dialog_id":"d","state":"operator","operator":{"name":"A","__proto__":{"x":1}}}',
    );
    expect(poisoned).toEqual({
      ok: true,
      frame: { type: 'handoff', dialog_id: 'd', state: 'operator', operator: { name: 'A' } },
    });
    expect(poisoned.ok && Object.getPrototypeOf(poisoned.frame)).toBe(Object.prototype);
  });

  it('reports unknown types, operator-only frames among them, so a widget ignores them', () => {
    for (const value of [{ type: 'presence' }, { type: 'toString' }, { type: '__proto__' }, {}]) {
      expect(parseServerFrameLean(value)).toEqual({ ok: false, problem: 'unknown_type' });
    }
    for (const type of OPERATOR_ONLY) {
      expect(parseServerFrameLean(VALID[type as keyof typeof VALID])).toEqual({
        ok: false,
        problem: 'unknown_type',
      });
    }
    expect(parseServerFrameLean([])).toEqual({ ok: false, problem: 'not_object' });
    expect(parseServerFrameLean(null)).toEqual({ ok: false, problem: 'not_object' });
    expect(decodeServerFrameLean('<html>')).toEqual({ ok: false, problem: 'not_json' });
  });

  // The full validator's cases: every one that breaks a type or an enum is refused here too. Two
  // rules are left to the full validator on purpose: the UUID shape of `client_msg_id` and the
  // length cap of `ref` — both are strings either way, which is all a widget relies on.
  const SHAPE_ONLY = new Set(['client_msg_id', 'ref']);
  it.each(
    INVALID.filter(
      ([frame, field]) => !OPERATOR_ONLY.has(String(frame['type'])) && !SHAPE_ONLY.has(field),
    ),
  )('refuses %j (%s: %s)', (frame) => {
    expect(parseServerFrameLean(frame)).toEqual({ ok: false, problem: 'invalid' });
  });

  it.each(INVALID.filter(([, field]) => SHAPE_ONLY.has(field)))(
    'accepts %j: still a string (%s: %s)',
    (frame, field) => {
      const result = parseServerFrameLean(frame);
      expect(result.ok && typeof (result.frame as unknown as Record<string, unknown>)[field]).toBe(
        'string',
      );
    },
  );

  // The optional fields of each widget frame (SPEC §4); every other field is required.
  const OPTIONAL: Readonly<Record<string, readonly string[]>> = {
    ready: ['visitor_id', 'dialog_id', 'last_seq', 'handoff'],
    message: ['client_msg_id'],
    handoff: ['operator'],
    resumed: ['next_after_seq'],
    error: ['ref'],
  };

  it.each(WIDGET_FRAMES)(
    'refuses a %s frame missing a required field, or with a wrong type in any field',
    (type, frame) => {
      for (const [name, valid] of Object.entries(frame)) {
        if (name === 'type') continue;
        const optional = OPTIONAL[type]?.includes(name) ?? false;
        if (!optional) {
          const { [name]: _, ...missing } = frame as Record<string, unknown>;
          expect(parseServerFrameLean(missing), `${name} missing`).toEqual({
            ok: false,
            problem: 'invalid',
          });
        }
        for (const wrong of wrongValues(valid)) {
          if (wrong === null && optional) continue; // null reads as absent
          expect(parseServerFrameLean({ ...frame, [name]: wrong }), `${name}: ${wrong}`).toEqual({
            ok: false,
            problem: 'invalid',
          });
        }
      }
    },
  );

  it('refuses senders and states outside their lists, prototype names included', () => {
    for (const sender of ['admin', '__proto__', 'toString', 'dir']) {
      expect(parseServerFrameLean({ ...VALID.message, sender }).ok).toBe(false);
    }
    expect(parseServerFrameLean({ ...VALID.typing, state: 'paused' }).ok).toBe(false);
    expect(parseServerFrameLean({ ...VALID.handoff, operator: { name: 5 } }).ok).toBe(false);
  });

  it('decodes text', () => {
    expect(decodeServerFrameLean(JSON.stringify(VALID.message))).toEqual({
      ok: true,
      frame: VALID.message,
    });
  });
});

describe('lean response bodies', () => {
  const session = {
    visitor_token: 'a.b.c',
    refresh_token: 'r',
    visitor_id: 'v1',
    dialog_id: 'd1',
    expires_at: 1_790_000_000_000,
  };
  const message = { dialog_id: 'd1', seq: 1, id: 'm1', sender: 'assistant', text: 'hi', ts: 1 };

  it('reads a session response as the full validator does', () => {
    for (const body of [{ ...session, extra: 1 }, { ...session, expires_at: '1' }, null, 'x']) {
      const full = parseSessionResponse(body);
      expect(parseSessionResponseLean(body)).toEqual(full.ok ? full.value : null);
    }
    expect(parseSessionResponseLean({ ...session, visitor_token: '' })).toBeNull();
  });

  it('reads a history page as the full validator does', () => {
    for (const body of [
      { messages: [message], next_after_seq: null },
      { messages: [message], next_after_seq: 1 },
      { messages: [message] },
      { messages: [message, 'x'] },
      { messages: {} },
      { messages: [{ ...message, sender: 'root' }] },
      { messages: [{ ...message, text: 5 }] },
      { messages: [message], next_after_seq: '1' },
      null,
    ]) {
      const full = parseHistoryPage(body);
      expect(parseHistoryPageLean(body), JSON.stringify(body)).toEqual(full.ok ? full.value : null);
    }
  });
});
