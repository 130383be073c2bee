/**
 * Server → client frames shared by the tests of both validators: one valid frame of every type,
 * and frames each breaking one rule, with the field and rule the full validator reports.
 */
import type { FieldRule } from '../src/fields.js';

const UUID = '0b7c2f5e-3f4a-4c1d-9e2b-7a6f5d4c3b2a';
const D = 'dlg_1';
const T = 1_790_000_000_000;

export const VALID = {
  ready: {
    type: 'ready',
    session_id: 's1',
    server_time: T,
    ping_interval_ms: 25_000,
    token_expires_at: T + 900_000,
    visitor_id: 'v1',
    dialog_id: D,
    last_seq: 3,
    handoff: { state: 'operator', operator: { name: 'Ana' } },
  },
  ping: { type: 'ping', id: 1 },
  refresh_required: { type: 'refresh_required', expires_at: T },
  refreshed: { type: 'refreshed', token_expires_at: T },
  message: {
    type: 'message',
    dialog_id: D,
    seq: 1,
    id: 'm1',
    client_msg_id: UUID,
    sender: 'visitor',
    text: 'hi',
    ts: T,
  },
  ack: { type: 'ack', client_msg_id: UUID, id: 'm1', seq: 1 },
  typing: { type: 'typing', dialog_id: D, sender: 'operator', state: 'stop' },
  handoff: { type: 'handoff', dialog_id: D, state: 'requested' },
  resumed: {
    type: 'resumed',
    dialog_id: D,
    replayed: 200,
    gap: true,
    head_seq: 900,
    next_after_seq: 200,
  },
  dialog: {
    type: 'dialog',
    dialog_id: D,
    site_id: 'site_1',
    state: 'open',
    handoff: { state: 'assistant' },
    last_seq: 4,
    last_message_at: T,
    created_at: T - 1,
  },
  dialogs_truncated: { type: 'dialogs_truncated' },
  error: { type: 'error', code: 'not_holder', ref: D },
} as const;

export const INVALID: readonly (readonly [Record<string, unknown>, string, FieldRule])[] = [
  [{ ...VALID.message, sender: 'admin' }, 'sender', 'not_allowed'],
  [{ ...VALID.message, seq: -1 }, 'seq', 'format'],
  [{ ...VALID.message, text: 5 }, 'text', 'type'],
  [{ ...VALID.message, client_msg_id: 'x' }, 'client_msg_id', 'format'],
  [{ ...VALID.ack, seq: '1' }, 'seq', 'type'],
  [{ ...VALID.ready, server_time: 1.5 }, 'server_time', 'format'],
  [{ ...VALID.ready, handoff: { state: 'gone' } }, 'state', 'not_allowed'],
  [{ ...VALID.ready, handoff: { state: 'operator', operator: {} } }, 'name', 'missing'],
  [{ ...VALID.resumed, gap: 'yes' }, 'gap', 'type'],
  [{ ...VALID.dialog, state: 'archived' }, 'state', 'not_allowed'],
  [{ ...VALID.dialog, handoff: null }, 'handoff', 'type'],
  [{ ...VALID.error, code: 'teapot' }, 'code', 'not_allowed'],
  [{ ...VALID.error, ref: 'x'.repeat(65) }, 'ref', 'format'],
  [{ ...VALID.ping, id: Number.POSITIVE_INFINITY }, 'id', 'format'],
];
