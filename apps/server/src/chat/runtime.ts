/**
 * The chat layer, assembled: fan-out, group commit, the chat service, the assistant (runner and
 * bridge), operator presence for the handoff idle rule, and the housekeeping sweeper. The server
 * opens one {@link ChatSession} per authenticated socket and closes the runtime at shutdown,
 * after its sockets, so that every commit in flight finishes.
 */
import { MINUTE_WINDOW_MS, type ServerFrame } from '@postern/protocol';
import { createAssistantRunner, createResponder, type FetchLike } from '../assistant/index.js';
import type { AssistantRunner } from '../assistant/runner.js';
import type { AssistantConfig } from '../config.js';
import type { Logger } from '../log.js';
import { createRateTable, type RateTable } from '../security/rate-table.js';
import type { DialogRecord, IdleClosure, Store } from '../store/types.js';
import type { Identity } from '../ws/authenticate.js';
import { type AssistantBridge, createAssistantBridge } from './assistant-bridge.js';
import { type ChatSession, createChatSession } from './chat-session.js';
import { type CommitQueue, createCommitQueue } from './commit-queue.js';
import { createFanout, type Fanout } from './fanout.js';
import { dialogFrame, handoffFrame, messageFrame } from './frames.js';
import { createPresence, type Presence } from './presence.js';
import { type Chat, createChat } from './service.js';
import { startSweeper } from './sweeper.js';

export interface ChatRuntimeOptions {
  readonly store: Store;
  readonly log: Logger;
  readonly now: () => number;
  readonly newId: () => string;
  readonly assistant: AssistantConfig;
  /** The `fetch` the webhook assistant uses. */
  readonly fetch: FetchLike;
  readonly limits: {
    readonly visitorMsgRate: number;
    readonly limiterMaxKeys: number;
    readonly resumeMax: number;
    readonly maxSubscriptions: number;
    readonly handoffIdleMs: number;
    readonly dialogIdleCloseMs: number;
    readonly assistantSiteRate: number;
  };
}

export interface ChatRuntime {
  readonly chat: Chat;
  readonly fanout: Fanout;
  readonly commits: CommitQueue;
  readonly presence: Presence;
  /** `null` with `POSTERN_ASSISTANT=none`. */
  readonly runner: AssistantRunner | null;
  /** The chat layer's own rate tables, read by the metrics (sizes and evictions). */
  readonly rateTables: {
    readonly visitorMsg: Pick<RateTable, 'size' | 'evictions'>;
    readonly assistantSite: Pick<RateTable, 'size' | 'evictions'>;
  };
  /** The chat side of one authenticated socket. */
  openSession(
    identity: Identity,
    socketId: string,
    send: (frame: ServerFrame) => void,
    onOverflow: () => void,
  ): ChatSession;
  /** Restores what outlives a restart (held dialogs, their idle timers) and starts the sweeper. */
  start(): Promise<void>;
  /** One housekeeping pass now (also runs on its own timer). */
  sweep(): Promise<void>;
  /** Finishes commits in flight, stops the assistant and every timer. Call after sockets closed. */
  close(): Promise<void>;
}

/** How often the sweeper runs: often enough for the idle-close deadline, at most once a second. */
function sweepInterval(idleCloseMs: number): number {
  return Math.min(60_000, Math.max(1_000, Math.floor(idleCloseMs / 4)));
}

export function createChatRuntime(options: ChatRuntimeOptions): ChatRuntime {
  const { store, log, now, newId, limits } = options;
  const fanout = createFanout();
  const commits = createCommitQueue(store);
  const onError = (error: unknown) => log.error('chat_error', { error });
  const rate = (limit: number) =>
    createRateTable({ limit, windowMs: MINUTE_WINDOW_MS, maxKeys: limits.limiterMaxKeys, now });
  const visitorRate = rate(limits.visitorMsgRate);
  // Per-site bound: one busy site cannot use up every call slot (SPEC §4).
  const assistantSiteRate = rate(limits.assistantSiteRate);

  let runner: AssistantRunner | null = null;
  let bridge: AssistantBridge | null = null;
  const responder = createResponder({
    kind: options.assistant.kind,
    ...(options.assistant.kind === 'webhook'
      ? { webhookUrl: options.assistant.url, webhookSecret: options.assistant.secret }
      : {}),
    fetch: options.fetch,
    now,
  });

  const chat = createChat({
    store,
    fanout,
    commits,
    newId,
    now,
    log,
    visitorRate,
    assistant: {
      visitorMessage: (dialog, message, assistantId) =>
        bridge?.visitorMessage(dialog, message, assistantId),
      handoffChanged: (dialog) => handoffChanged(dialog),
    },
  });

  if (responder !== null) {
    bridge = createAssistantBridge({
      store,
      runner: () => runner as AssistantRunner,
      post: chat.post,
      onError,
    });
    const bridged = bridge;
    runner = createAssistantRunner({
      responder,
      siteRate: assistantSiteRate,
      now,
      onReply: (request, reply) => bridged.reply(request, reply.text),
      onFailure: (request, reason) => bridged.fail(request, reason),
      isStillAssistant: (dialogId) => bridged.isStillAssistant(dialogId),
      log,
    });
  }

  /** A held dialog whose holder stayed away goes back to `requested` (SPEC §4). */
  async function returnHeld(operatorId: string): Promise<void> {
    for (const dialog of await store.listHeldDialogs(operatorId)) {
      await chat.changeHandoff(dialog, ['operator'], 'requested', null, operatorId);
    }
  }

  const presence = createPresence({
    idleMs: limits.handoffIdleMs,
    onAbsent: (operatorId) => void returnHeld(operatorId).catch(onError),
  });

  /** Every handoff change: presence learns who holds what, the assistant whether to answer. */
  function handoffChanged(dialog: DialogRecord): void {
    const holder = dialog.handoff === 'operator' ? (dialog.holder?.id ?? null) : null;
    presence.holderChanged(dialog.id, holder);
    bridge?.handoffChanged(dialog);
  }

  function publishClosure({ dialog, message }: IdleClosure): void {
    handoffChanged(dialog);
    if (message) fanout.toDialog(dialog.id, messageFrame(message));
    fanout.toDialog(dialog.id, handoffFrame(dialog));
    // Operators see a dialog only from its first message (SPEC §3): an empty one closes unseen.
    if (message) fanout.toFeed(dialogFrame(dialog));
  }

  let sweeper: ReturnType<typeof startSweeper> | null = null;
  const sweeperOptions = {
    store,
    now,
    newId,
    log,
    idleCloseMs: limits.dialogIdleCloseMs,
    intervalMs: sweepInterval(limits.dialogIdleCloseMs),
    onClosed: publishClosure,
  };

  return {
    chat,
    fanout,
    commits,
    presence,
    runner,
    rateTables: { visitorMsg: visitorRate, assistantSite: assistantSiteRate },
    openSession: (identity, socketId, send, onOverflow) =>
      createChatSession(
        {
          chat,
          fanout,
          store,
          now,
          resumeMax: limits.resumeMax,
          maxSubscriptions: limits.maxSubscriptions,
          presence,
        },
        identity,
        socketId,
        send,
        onOverflow,
      ),
    async start() {
      // After a restart no holder has a socket yet: each gets the full idle time to come back.
      for (const dialog of await store.listHeldDialogs()) {
        bridge?.setHeld(dialog.id, true);
        presence.holderChanged(dialog.id, dialog.holder?.id ?? null);
      }
      sweeper = startSweeper(sweeperOptions);
    },
    sweep: () => sweeper?.sweep() ?? Promise.resolve(),
    async close() {
      sweeper?.close();
      presence.close();
      await runner?.close();
      await commits.drain();
    },
  };
}
