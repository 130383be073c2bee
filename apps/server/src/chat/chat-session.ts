/**
 * The chat side of one authenticated socket: its memberships (the visitor's dialog, an operator's
 * feed and subscriptions), the operator snapshot, resume, and the chat frames. Everything it
 * joins it leaves in `stop()`, so fan-out never outlives the socket.
 */
import {
  type ClientFrame,
  DIALOG_SNAPSHOT_MAX,
  type ErrorFrame,
  type HandoffActionFrame,
  RESUME_MIN_INTERVAL_MS,
  type ResumePoint,
  type ServerFrame,
} from '@postern/protocol';
import type { Store } from '../store/types.js';
import type { Identity } from '../ws/authenticate.js';
import type { Fanout } from './fanout.js';
import { dialogFrame } from './frames.js';
import { createHoldingMember, type HoldingMember, replay } from './resume.js';
import { type Actor, type Chat, coversSite, FrameRefusal } from './service.js';

export interface ChatSessionDeps {
  readonly chat: Chat;
  readonly fanout: Fanout;
  readonly store: Store;
  readonly now: () => number;
  readonly resumeMax: number;
  readonly maxSubscriptions: number;
  /** Operator sockets joining and leaving (handoff idle rule). */
  readonly presence: { online(operatorId: string): void; offline(operatorId: string): void };
}

export interface ChatSession {
  /** Right after `ready`: joins, then replays (`resume`) or sends the snapshot (operators). */
  start(resume: ResumePoint | undefined): Promise<void>;
  /** A chat frame; refusals are answered with `error`, never thrown. */
  /**
   * Handles one frame; refusals are answered with `error`. For a `send`, `submitted` is called
   * once it is queued for commit (or refused), before it is committed.
   */
  handle(frame: ClientFrame, submitted?: () => void): Promise<void>;
  /**
   * The socket's token was refreshed in band: an operator's `sites` and `name` may have changed.
   * Subscriptions outside the new scope are dropped at once.
   */
  rebind(identity: Identity): void;
  stop(): void;
}

function actorOf(identity: Identity, assistantId: string): Actor {
  return identity.kind === 'visitor'
    ? { kind: 'visitor', visitorId: identity.visitorId, siteId: identity.siteId, assistantId }
    : {
        kind: 'operator',
        operatorId: identity.operatorId,
        name: identity.name,
        sites: identity.sites,
      };
}

function refOf(frame: ClientFrame): string | undefined {
  if (frame.type === 'send') return frame.client_msg_id;
  return 'dialog_id' in frame ? frame.dialog_id : undefined;
}

export function createChatSession(
  deps: ChatSessionDeps,
  identity: Identity,
  socketId: string,
  send: (frame: ServerFrame) => void,
  onOverflow: () => void,
): ChatSession {
  let actor = actorOf(identity, identity.kind === 'visitor' ? identity.assistantId : '');
  const leaves = new Map<string, () => void>();
  /** Site of each subscribed dialog, to drop those a narrowed scope no longer covers. */
  const subscribedSites = new Map<string, string>();
  const members = new Map<string, HoldingMember>();
  let leaveFeed: (() => void) | null = null;
  let lastResumeAt = Number.NEGATIVE_INFINITY;
  let stopped = false;

  function join(dialogId: string): HoldingMember {
    const existing = members.get(dialogId);
    if (existing) return existing;
    // Held frames are bounded: a replay never waits for more than a page of live traffic.
    const member = createHoldingMember(socketId, send, deps.resumeMax * 2 + 64, onOverflow);
    members.set(dialogId, member);
    leaves.set(dialogId, deps.fanout.join(dialogId, member));
    return member;
  }

  function leave(dialogId: string): void {
    leaves.get(dialogId)?.();
    leaves.delete(dialogId);
    members.delete(dialogId);
    subscribedSites.delete(dialogId);
  }

  async function resume(dialogId: string, afterSeq: number): Promise<void> {
    const member = members.get(dialogId);
    if (!member) throw new FrameRefusal('not_found');
    await replay(deps.store, member, send, dialogId, afterSeq, deps.resumeMax);
  }

  async function snapshot(): Promise<void> {
    if (actor.kind !== 'operator') return;
    const dialogs = await deps.store.listOpenDialogs({
      sites: actor.sites,
      limit: DIALOG_SNAPSHOT_MAX + 1,
    });
    for (const dialog of dialogs.slice(0, DIALOG_SNAPSHOT_MAX)) send(dialogFrame(dialog));
    if (dialogs.length > DIALOG_SNAPSHOT_MAX) send({ type: 'dialogs_truncated' });
  }

  /**
   * A handoff action; the operator socket that takes a dialog is subscribed to it first (when its
   * subscription limit allows), so it sees the take's own system message and what follows.
   */
  async function takeOrHandoff(frame: HandoffActionFrame): Promise<void> {
    const joining =
      frame.action === 'take' &&
      actor.kind === 'operator' &&
      !members.has(frame.dialog_id) &&
      members.size < deps.maxSubscriptions;
    if (!joining) return deps.chat.handoff(actor, frame);
    const dialog = await deps.chat.dialogFor(actor, frame.dialog_id);
    if (stopped) return;
    join(dialog.id);
    subscribedSites.set(dialog.id, dialog.siteId);
    try {
      await deps.chat.handoff(actor, frame);
    } catch (error) {
      leave(dialog.id);
      throw error;
    }
  }

  async function dispatch(frame: ClientFrame, submitted?: () => void): Promise<void> {
    switch (frame.type) {
      case 'send':
        return deps.chat.send(actor, { id: socketId, deliver: send }, frame, submitted);
      case 'typing':
        return deps.chat.typing(actor, { id: socketId, deliver: send }, frame);
      case 'handoff':
        return takeOrHandoff(frame);
      case 'resume': {
        // At most once per 5 s per socket: a replay costs a query and a burst of frames.
        const now = deps.now();
        if (now - lastResumeAt < RESUME_MIN_INTERVAL_MS) throw new FrameRefusal('rate_limited');
        lastResumeAt = now;
        const dialog = await deps.chat.dialogFor(actor, frame.dialog_id);
        // One's own dialog that closed before this socket joined it is not "missing" (SPEC §3).
        if (dialog.state === 'closed' && !members.has(dialog.id)) {
          throw new FrameRefusal('dialog_closed');
        }
        return resume(frame.dialog_id, frame.after_seq);
      }
      case 'subscribe': {
        if (actor.kind !== 'operator') throw new FrameRefusal('forbidden');
        if (members.has(frame.dialog_id)) return;
        if (members.size >= deps.maxSubscriptions) throw new FrameRefusal('limit');
        const dialog = await deps.chat.dialogFor(actor, frame.dialog_id);
        // Checked again after the await: two pipelined subscribes must not pass the limit.
        if (stopped || members.has(dialog.id)) return;
        if (members.size >= deps.maxSubscriptions) throw new FrameRefusal('limit');
        join(dialog.id);
        subscribedSites.set(dialog.id, dialog.siteId);
        return;
      }
      case 'unsubscribe':
        if (actor.kind !== 'operator') throw new FrameRefusal('forbidden');
        leave(frame.dialog_id);
        return;
      default:
        return;
    }
  }

  return {
    async start(resumePoint) {
      if (identity.kind === 'visitor') {
        const member = join(identity.dialog.id);
        if (resumePoint && resumePoint.dialog_id === identity.dialog.id) {
          member.hold();
          lastResumeAt = deps.now();
          await replay(
            deps.store,
            member,
            send,
            identity.dialog.id,
            resumePoint.after_seq,
            deps.resumeMax,
          );
        }
        return;
      }
      deps.presence.online(identity.operatorId);
      // Changes that happen while the snapshot is read wait behind it, so a stale snapshot
      // frame never overwrites a newer change on the operator's screen.
      let heldChanges: ServerFrame[] | null = [];
      leaveFeed = deps.fanout.joinFeed({
        id: socketId,
        deliver: (frame) => {
          if (heldChanges === null) return send(frame);
          // Bounded like every buffer: a feed this busy during one query is a slow consumer.
          if (heldChanges.length >= DIALOG_SNAPSHOT_MAX) return onOverflow();
          heldChanges.push(frame);
        },
        covers: (siteId) => coversSite(actor, siteId),
      });
      try {
        await snapshot();
      } finally {
        const changes = heldChanges;
        heldChanges = null;
        for (const change of changes) send(change);
      }
    },
    async handle(frame, submitted) {
      try {
        await dispatch(frame, submitted);
      } catch (error) {
        if (!(error instanceof FrameRefusal)) throw error;
        const ref = refOf(frame);
        const refusal: ErrorFrame =
          ref === undefined
            ? { type: 'error', code: error.code }
            : { type: 'error', code: error.code, ref };
        send(refusal);
      }
    },
    rebind(next) {
      if (next.kind !== 'operator' || actor.kind !== 'operator') return;
      actor = actorOf(next, '');
      for (const [dialogId, siteId] of [...subscribedSites]) {
        if (!coversSite(actor, siteId)) leave(dialogId);
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      for (const leaveOne of leaves.values()) leaveOne();
      leaves.clear();
      leaveFeed?.();
      leaveFeed = null;
      members.clear();
      if (identity.kind === 'operator') deps.presence.offline(identity.operatorId);
    },
  };
}
