/**
 * The answer to a successful `auth` (SPEC §4): `ready` — with the visitor's dialog, its last `seq`
 * and handoff state on the widget endpoint — and, when the client asked to resume a dialog that
 * has closed since, `error dialog_closed` right after it.
 */
import type { ServerFrame } from '@postern/protocol';
import { handoffStatus } from '../chat/frames.js';
import type { Identity } from './authenticate.js';

export function readyFrames(
  who: Identity,
  sessionId: string,
  serverTime: number,
  pingIntervalMs: number,
): ServerFrame[] {
  const ready = {
    type: 'ready' as const,
    session_id: sessionId,
    server_time: serverTime,
    ping_interval_ms: pingIntervalMs,
    token_expires_at: who.expiresAt,
  };
  if (who.kind === 'operator') return [ready];
  const frames: ServerFrame[] = [
    {
      ...ready,
      visitor_id: who.visitorId,
      dialog_id: who.dialog.id,
      last_seq: who.dialog.lastSeq,
      handoff: handoffStatus(who.dialog),
    },
  ];
  if (who.resumedClosed) frames.push({ type: 'error', code: 'dialog_closed' });
  return frames;
}
