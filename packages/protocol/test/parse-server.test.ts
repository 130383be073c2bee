import { describe, expect, it } from 'vitest';
import { decodeServerFrame, parseServerFrame, SERVER_FRAME_TYPES } from '../src/parse-server.js';
import { INVALID, VALID } from './server-frames.js';

describe('parseServerFrame', () => {
  it('knows every server frame type of SPEC §4', () => {
    expect([...SERVER_FRAME_TYPES].sort()).toEqual(Object.keys(VALID).sort());
  });

  it.each(Object.entries(VALID))('accepts a valid %s frame as is', (_type, frame) => {
    expect(parseServerFrame(frame)).toEqual({ ok: true, frame });
  });

  it('accepts an app ready without widget fields, and leaves them absent', () => {
    const { visitor_id, dialog_id, last_seq, handoff, ...app } = VALID.ready;
    const result = parseServerFrame(app);
    expect(result).toEqual({ ok: true, frame: app });
    expect(result.ok && Object.keys(result.frame)).not.toContain('visitor_id');
  });

  it('drops unknown extra fields', () => {
    expect(parseServerFrame({ ...VALID.ack, html: '<b>' })).toEqual({ ok: true, frame: VALID.ack });
  });

  it('reports unknown types so clients can ignore them', () => {
    expect(parseServerFrame({ type: 'presence' })).toEqual({ ok: false, problem: 'unknown_type' });
    expect(parseServerFrame({ type: 'toString' })).toEqual({ ok: false, problem: 'unknown_type' });
    expect(parseServerFrame({})).toEqual({ ok: false, problem: 'unknown_type' });
    expect(parseServerFrame([])).toEqual({ ok: false, problem: 'not_object' });
    expect(decodeServerFrame('<html>')).toEqual({ ok: false, problem: 'not_json' });
  });

  it.each(INVALID)('refuses %j (%s: %s)', (frame, field, rule) => {
    expect(parseServerFrame(frame)).toEqual({ ok: false, problem: 'invalid', field, rule });
  });

  it('decodes text', () => {
    expect(decodeServerFrame(JSON.stringify(VALID.message))).toEqual({
      ok: true,
      frame: VALID.message,
    });
  });
});
