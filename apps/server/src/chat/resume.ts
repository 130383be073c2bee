/**
 * Resume (SPEC §4): replay `after_seq+1 … after_seq+R`, then `resumed`; when more exist,
 * `gap: true` with `next_after_seq` and `head_seq`, and the client pages the history up to
 * `head_seq`. Live messages for the socket are held back until `resumed` is sent, then those
 * the replay already carried are dropped.
 */
import type { ServerFrame } from '@postern/protocol';
import type { Store } from '../store/types.js';
import type { Member } from './fanout.js';
import { messageFrame } from './frames.js';

/** A dialog membership that can hold live frames back while a replay runs. */
export interface HoldingMember extends Member {
  /** Holds live frames until `release`; frames beyond `bound` close the socket (slow consumer). */
  hold(): void;
  /** Sends the held frames whose `seq` is above `replayedUpTo`, then delivers live again. */
  release(replayedUpTo: number): void;
}

export function createHoldingMember(
  id: string,
  send: (frame: ServerFrame) => void,
  bound: number,
  onOverflow: () => void,
): HoldingMember {
  let held: ServerFrame[] | null = null;
  return {
    id,
    deliver(frame) {
      if (held === null) return send(frame);
      if (held.length >= bound) return onOverflow();
      held.push(frame);
    },
    hold() {
      held ??= [];
    },
    release(replayedUpTo) {
      const frames = held ?? [];
      held = null;
      for (const frame of frames) {
        if (frame.type === 'message' && frame.seq <= replayedUpTo) continue;
        send(frame);
      }
    },
  };
}

/** Replays a dialog to a held member and sends `resumed`; the member delivers live afterwards. */
export async function replay(
  store: Store,
  member: HoldingMember,
  send: (frame: ServerFrame) => void,
  dialogId: string,
  afterSeq: number,
  resumeMax: number,
): Promise<void> {
  member.hold();
  try {
    // The head is read before the page, while live frames are already held: every message
    // committed since the hold is either in the page or held (and sent after `resumed`). Read
    // after the page, a message committed in between would count towards the head but be
    // dropped from the held frames: a spurious gap, and a live message the socket never got.
    const dialog = await store.findDialog(dialogId);
    const messages = await store.listMessages(dialogId, { afterSeq, limit: resumeMax });
    for (const message of messages) send(messageFrame(message));
    const last = messages.at(-1)?.seq ?? afterSeq;
    const head = Math.max(dialog?.lastSeq ?? last, last);
    const gap = head > last;
    send({
      type: 'resumed',
      dialog_id: dialogId,
      replayed: messages.length,
      gap,
      head_seq: head,
      ...(gap ? { next_after_seq: last } : {}),
    });
    // Only what the replay carried is dropped; newer held messages follow `resumed` in order
    // (with a gap, the client backfills below them from the history up to `head_seq`).
    member.release(last);
  } catch (error) {
    member.release(afterSeq);
    throw error;
  }
}
