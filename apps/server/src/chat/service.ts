/**
 * The chat itself (SPEC §3–§4): `send` → validated → committed → `ack` to the sender → `message`
 * to every socket of the dialog; typing; handoff. The sender is always decided here, from the
 * authenticated identity — never taken from a frame.
 */
import type {
  ClientTypingFrame,
  FrameErrorCode,
  HandoffActionFrame,
  SendFrame,
} from '@postern/protocol';
import type { Logger } from '../log.js';
import type { RateTable } from '../security/rate-table.js';
import type {
  AppendInput,
  DialogRecord,
  HandoffState,
  MessageRecord,
  Store,
} from '../store/types.js';
import type { CommitQueue } from './commit-queue.js';
import type { Fanout, Member } from './fanout.js';
import { dialogFrame, handoffFrame, messageFrame } from './frames.js';

/** Who acts: decided by the server from the token. */
export type Actor =
  | {
      readonly kind: 'visitor';
      readonly visitorId: string;
      readonly siteId: string;
      /** The site token's `assistant_id`, handed to the assistant. */
      readonly assistantId: string;
    }
  | {
      readonly kind: 'operator';
      readonly operatorId: string;
      readonly name: string;
      readonly sites: readonly string[] | '*';
    };

/** What the chat asks of the assistant (implemented in ../assistant). */
export interface AssistantHook {
  /** A visitor message the assistant may answer (the dialog is not held by an operator). */
  visitorMessage(dialog: DialogRecord, message: MessageRecord, assistantId: string): void;
  /** A dialog's handoff changed (taken, released, closed, returned): stop or resume answering. */
  handoffChanged(dialog: DialogRecord): void;
}

export interface ChatDeps {
  readonly store: Store;
  readonly fanout: Fanout;
  readonly commits: CommitQueue;
  readonly newId: () => string;
  readonly now: () => number;
  readonly log: Logger;
  /** `send` frames per visitor per minute, all tabs together. */
  readonly visitorRate: RateTable;
  readonly assistant?: AssistantHook;
}

/** A refusal of one frame: `error {code, ref}` to the socket that sent it. */
export class FrameRefusal extends Error {
  constructor(readonly code: FrameErrorCode) {
    super(code);
    this.name = 'FrameRefusal';
  }
}

/** System texts stored with each handoff change, so a resume replays them (SPEC §4). */
const SYSTEM_TEXT: Record<HandoffState, (name: string) => string> = {
  assistant: () => 'The assistant is back in this conversation.',
  requested: () => 'A person has been asked to join. Please stay in this chat.',
  operator: (name) => `${name} joined the conversation.`,
  closed: () => 'This conversation was closed.',
};

export function coversSite(actor: Actor, siteId: string): boolean {
  if (actor.kind === 'visitor') return actor.siteId === siteId;
  return actor.sites === '*' || actor.sites.includes(siteId);
}

export function createChat(deps: ChatDeps) {
  const { store, fanout, commits } = deps;

  /** The dialog an actor may act on, or the refusal. "Not yours" looks like "missing". */
  async function dialogFor(actor: Actor, dialogId: string): Promise<DialogRecord> {
    const dialog = await store.findDialog(dialogId);
    const yours =
      dialog !== null &&
      (actor.kind === 'visitor'
        ? dialog.visitorId === actor.visitorId
        : coversSite(actor, dialog.siteId));
    if (!dialog || !yours) throw new FrameRefusal('not_found');
    return dialog;
  }

  /** Dialogs with messages published in this tick whose change the operator feed still owes. */
  const feedDue = new Set<string>();

  /**
   * One `dialog` frame per changed dialog per tick, read once all of the tick's messages are
   * published: a commit batch often holds several messages of one dialog, and operators need
   * the state it ended in, not each step (SPEC §4). Read fresh, so it is never older than a
   * handoff change published directly in the same tick.
   */
  async function flushFeed(): Promise<void> {
    const ids = [...feedDue];
    feedDue.clear();
    // Started together so every lookup is done before the first frame goes out.
    const dialogs = await Promise.all(ids.map((id) => store.findDialog(id)));
    for (const dialog of dialogs) if (dialog) fanout.toFeed(dialogFrame(dialog));
  }

  /** Tells everyone what changed: the message to the dialog now, the metadata to operators. */
  function publish(message: MessageRecord): void {
    fanout.toDialog(message.dialogId, messageFrame(message));
    if (feedDue.size === 0) {
      process.nextTick(() => {
        // Nobody awaits the flush: a store closed meanwhile (shutdown) must not go unhandled.
        flushFeed().catch((error: unknown) => deps.log.warn('chat_feed_failed', { error }));
      });
    }
    feedDue.add(message.dialogId);
  }

  function systemInput(dialogId: string, text: string): AppendInput {
    return {
      dialogId,
      id: deps.newId(),
      clientMsgId: null,
      sender: 'system',
      senderId: null,
      text,
      ts: deps.now(),
    };
  }

  /**
   * A `send`: checked, committed (with others, see the commit queue), acknowledged, published.
   * `submitted` is called once the message is in the commit queue — from then on its place in
   * the dialog's order is fixed — so a socket may go on with its next frame while this one commits.
   */
  async function send(
    actor: Actor,
    member: Member,
    frame: SendFrame,
    submitted?: () => void,
  ): Promise<void> {
    if (actor.kind === 'visitor' && !deps.visitorRate.hit(actor.visitorId).allowed) {
      throw new FrameRefusal('rate_limited');
    }
    const dialog = await dialogFor(actor, frame.dialog_id);
    // A closed dialog is refused by the store, which answers a duplicate first: a retry of a
    // message committed just before the close must get its original ack, not `dialog_closed`
    // (the client would otherwise think a stored message was lost). A closed dialog has no holder.
    if (
      dialog.state === 'open' &&
      actor.kind === 'operator' &&
      dialog.holder?.id !== actor.operatorId
    ) {
      throw new FrameRefusal('not_holder');
    }
    const committed = commits.submit({
      dialogId: dialog.id,
      id: deps.newId(),
      clientMsgId: frame.client_msg_id,
      sender: actor.kind,
      senderId: actor.kind === 'visitor' ? actor.visitorId : actor.operatorId,
      text: frame.text,
      ts: deps.now(),
    });
    submitted?.();
    const result = await committed;
    if (result.kind === 'dialog_closed' || result.kind === 'not_found') {
      throw new FrameRefusal(result.kind);
    }
    const { message } = result;
    // The sender learns its message is committed before it sees its own copy (SPEC §4).
    member.deliver({
      type: 'ack',
      client_msg_id: frame.client_msg_id,
      id: message.id,
      seq: message.seq,
    });
    // A duplicate was broadcast the first time; it is never broadcast twice.
    if (result.kind === 'duplicate') return;
    publish(message);
    // Every socket of the sender sees its own message (SPEC §4), also an operator socket that
    // writes into a dialog it did not subscribe to.
    if (!fanout.isMember(message.dialogId, member.id)) member.deliver(messageFrame(message));
    // The dialog is read again only when an assistant may answer: the common case skips a query.
    if (actor.kind !== 'visitor' || !deps.assistant) return;
    const current = await store.findDialog(message.dialogId);
    if (current && current.handoff !== 'operator' && current.state === 'open') {
      deps.assistant.visitorMessage(current, message, actor.assistantId);
    }
  }

  async function typing(actor: Actor, member: Member, frame: ClientTypingFrame): Promise<void> {
    const dialog = await dialogFor(actor, frame.dialog_id);
    if (dialog.state === 'closed') throw new FrameRefusal('dialog_closed');
    if (actor.kind === 'operator' && dialog.holder?.id !== actor.operatorId) {
      throw new FrameRefusal('not_holder');
    }
    const relay = {
      type: 'typing',
      dialog_id: dialog.id,
      sender: actor.kind,
      state: frame.state,
    } as const;
    fanout.toDialog(dialog.id, relay, member.id);
  }

  /** Applies a handoff change with its system message; publishes both on success. */
  async function changeHandoff(
    dialog: DialogRecord,
    from: readonly HandoffState[],
    to: HandoffState,
    holder: { id: string; name: string } | null,
    expectHolderId?: string,
  ) {
    const text = SYSTEM_TEXT[to](holder?.name ?? '');
    const change = {
      from,
      to,
      holder,
      ...(expectHolderId === undefined ? {} : { expectHolderId }),
    };
    const system = { id: deps.newId(), text, ts: deps.now() };
    const result = await store.setHandoff(dialog.id, change, system);
    if (result.kind === 'changed') {
      deps.assistant?.handoffChanged(result.dialog);
      fanout.toDialog(dialog.id, messageFrame(result.message));
      fanout.toDialog(dialog.id, handoffFrame(result.dialog));
      fanout.toFeed(dialogFrame(result.dialog));
    }
    return result;
  }

  async function handoff(actor: Actor, frame: HandoffActionFrame): Promise<void> {
    const dialog = await dialogFor(actor, frame.dialog_id);
    if (dialog.state === 'closed') throw new FrameRefusal('dialog_closed');
    if (actor.kind === 'visitor') {
      if (frame.action !== 'request') throw new FrameRefusal('forbidden');
      // Asking again while already asked (or served) changes nothing and is no error.
      if (dialog.handoff !== 'assistant') return;
      const result = await changeHandoff(dialog, ['assistant'], 'requested', null);
      if (result.kind === 'dialog_closed') throw new FrameRefusal('dialog_closed');
      return;
    }
    const me = { id: actor.operatorId, name: actor.name };
    switch (frame.action) {
      case 'request':
        throw new FrameRefusal('forbidden');
      case 'take': {
        if (dialog.handoff === 'operator' && dialog.holder?.id === me.id) return;
        const result = await changeHandoff(dialog, ['assistant', 'requested'], 'operator', me);
        if (result.kind === 'conflict') throw new FrameRefusal('conflict');
        if (result.kind === 'dialog_closed') throw new FrameRefusal('dialog_closed');
        return;
      }
      case 'release':
      case 'close': {
        const to = frame.action === 'release' ? 'assistant' : 'closed';
        const result = await changeHandoff(dialog, ['operator'], to, null, me.id);
        if (result.kind === 'conflict') throw new FrameRefusal('not_holder');
        if (result.kind === 'dialog_closed') throw new FrameRefusal('dialog_closed');
        return;
      }
    }
  }

  /** A message by the assistant or the system, if the dialog is still in a state to take it. */
  async function post(dialogId: string, sender: 'assistant' | 'system', text: string) {
    const result = await commits.submit({ ...systemInput(dialogId, text), sender });
    if (result.kind === 'appended') publish(result.message);
  }

  return { send, typing, handoff, post, changeHandoff, dialogFor };
}

export type Chat = ReturnType<typeof createChat>;
