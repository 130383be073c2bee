/**
 * The console's behaviour: turns server frames and operator actions into state, and state into
 * view models. Which dialog is open, its subscription, typing, refusals, pending sends and their
 * resend after a reconnect live here; the socket lives in `connection.ts`, history loading in
 * `history-sync.ts`, the pure state in `dialog-list.ts` and `message-log.ts`, the DOM in `view/`.
 */
import {
  type ClientFrame,
  type DialogSummary,
  type HandoffAction,
  Paths,
  type Sender,
  type ServerFrame,
  type TypingState,
} from '@postern/protocol';
import {
  type Connection,
  type ConnectionState,
  createConnection,
  type OpenSocket,
  type Timers,
} from './connection.js';
import { dialogRows, emptyDialogList, reduceDialogList } from './dialog-list.js';
import { createHistorySync } from './history-sync.js';
import * as Log from './message-log.js';
import type { TokenKeeper } from './token-source.js';
import type { ConversationModel } from './view/conversation-view.js';
import type { DialogListModel } from './view/dialog-list-view.js';
import { REFUSALS } from './wording.js';

export interface ConsoleView {
  renderStatus(state: ConnectionState): void;
  renderDialogs(model: DialogListModel): void;
  renderConversation(model: ConversationModel): void;
}

type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export interface ConsoleDeps {
  /** The Postern server origin (`http://localhost:8787`). */
  readonly serverOrigin: string;
  readonly tokens: TokenKeeper;
  readonly fetch: Fetch;
  readonly openSocket: OpenSocket;
  readonly random: () => number;
  readonly timers: Timers;
  readonly now: () => number;
  /** A random UUID for `client_msg_id`. */
  readonly uuid: () => string;
  readonly view: ConsoleView;
  readonly onError?: (error: unknown) => void;
}

export interface ConsoleApp {
  start(): void;
  select(dialogId: string): void;
  handoff(action: Exclude<HandoffAction, 'request'>): void;
  send(text: string): void;
  typing(state: TypingState): void;
  loadEarlier(): void;
  retryPending(clientMsgId: string): void;
  discardPending(clientMsgId: string): void;
  /** The operator asked to reconnect. */
  reconnect(): void;
  /** The page became visible again (revives a `retry_once` stop). */
  visible(): void;
}

/** A typing indicator without a `stop` clears itself after this long. */
export const REMOTE_TYPING_MS = 8_000;

export function createConsoleApp(deps: ConsoleDeps): ConsoleApp {
  const { view, timers } = deps;
  let list = emptyDialogList;
  let selected: DialogSummary | null = null;
  let log: Log.MessageLog | null = null;
  let remoteTyping: Sender | null = null;
  let remoteTypingTimer: unknown = null;
  let typingDialogId: string | null = null;
  let notice: string | null = null;

  const history = createHistorySync({
    serverOrigin: deps.serverOrigin,
    tokens: deps.tokens,
    fetch: deps.fetch,
    getLog: () => log,
    merge(dialogId, messages) {
      if (log === null || log.dialogId !== dialogId) return;
      log = Log.mergeMessages(log, messages);
      markSeen();
    },
    onProblem(text) {
      notice = text;
    },
    onChange: render,
  });

  const connection: Connection = createConnection({
    url: `${deps.serverOrigin.replace(/^http/, 'ws')}${Paths.WS_APP}`,
    getToken: deps.tokens.fresh,
    openSocket: deps.openSocket,
    random: deps.random,
    timers,
    onFrame: handleFrame,
    onState(state) {
      view.renderStatus(state);
      if (state.kind !== 'ready') typingDialogId = null;
      render();
    },
    ...(deps.onError ? { onError: deps.onError } : {}),
  });

  const connected = () => connection.state.kind === 'ready';
  const selectedId = () => selected?.dialog_id ?? null;

  function render(): void {
    const now = deps.now();
    view.renderDialogs({
      rows: dialogRows(list),
      selectedId: selectedId(),
      truncated: list.truncated,
      connected: connected(),
      now,
    });
    view.renderConversation({
      dialog: selected,
      log,
      loadingHistory: history.loading,
      hasEarlier: log !== null && Log.hasEarlier(log),
      typing: remoteTyping,
      notice,
      connected: connected(),
      now,
    });
  }

  function markSeen(): void {
    if (selected === null) return;
    const seq = Math.max(selected.last_seq, log ? Log.lastSeq(log) : 0);
    list = reduceDialogList(list, { type: 'seen', dialogId: selected.dialog_id, seq });
  }

  function setRemoteTyping(sender: Sender | null): void {
    if (remoteTypingTimer !== null) timers.clearTimeout(remoteTypingTimer);
    remoteTypingTimer = null;
    remoteTyping = sender;
    if (sender !== null) {
      remoteTypingTimer = timers.setTimeout(() => {
        remoteTypingTimer = null;
        remoteTyping = null;
        render();
      }, REMOTE_TYPING_MS);
    }
  }

  function sendFrame(frame: ClientFrame): boolean {
    return connection.send(frame);
  }

  function resendPending(): void {
    if (log === null) return;
    for (const item of Log.unacknowledged(log)) {
      sendFrame({
        type: 'send',
        dialog_id: log.dialogId,
        client_msg_id: item.clientMsgId,
        text: item.text,
      });
    }
  }

  function onReady(): void {
    // A fresh snapshot of `dialog` frames follows every `ready`.
    list = reduceDialogList(list, { type: 'reset' });
    if (selected !== null) {
      sendFrame({ type: 'subscribe', dialog_id: selected.dialog_id });
      void history.backfill();
      resendPending();
    }
  }

  function onDialog(dialog: DialogSummary): void {
    list = reduceDialogList(list, { type: 'dialog', dialog });
    if (dialog.dialog_id === selectedId()) {
      selected = dialog;
      markSeen();
    }
  }

  function onMessage(frame: ServerFrame & { type: 'message' }): void {
    if (log === null || frame.dialog_id !== log.dialogId) return;
    const { type: _type, ...message } = frame;
    const gap = Log.leavesGap(log, message.seq);
    log = Log.mergeMessages(log, [message]);
    if (remoteTyping === message.sender) setRemoteTyping(null);
    markSeen();
    if (gap) void history.backfill();
  }

  function onError(frame: ServerFrame & { type: 'error' }): void {
    const pending = log?.pending.find((item) => item.clientMsgId === frame.ref);
    if (log !== null && pending !== undefined) {
      log = Log.refusePending(log, pending.clientMsgId, frame.code);
      return;
    }
    if (frame.ref === undefined || frame.ref === selectedId()) notice = REFUSALS[frame.code];
  }

  function handleFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'ready':
        onReady();
        break;
      case 'dialog': {
        const { type: _type, ...dialog } = frame;
        onDialog(dialog);
        break;
      }
      case 'dialogs_truncated':
        list = reduceDialogList(list, { type: 'truncated' });
        break;
      case 'message':
        onMessage(frame);
        break;
      case 'ack':
        if (log !== null) log = Log.ackPending(log, frame.client_msg_id, frame.seq);
        break;
      case 'typing':
        if (frame.dialog_id === selectedId() && frame.sender !== 'operator') {
          setRemoteTyping(frame.state === 'start' ? frame.sender : null);
        }
        break;
      case 'handoff':
        if (selected !== null && frame.dialog_id === selected.dialog_id) {
          const handoff = frame.operator
            ? { state: frame.state, operator: frame.operator }
            : { state: frame.state };
          selected = {
            ...selected,
            handoff,
            state: frame.state === 'closed' ? 'closed' : selected.state,
          };
        }
        break;
      case 'error':
        onError(frame);
        break;
      default:
        // ping, refresh_required, refreshed, resumed: handled by the connection or not used.
        return;
    }
    render();
  }

  return {
    start: () => connection.start(),
    select(dialogId) {
      if (dialogId === selectedId()) return;
      const summary = list.dialogs.get(dialogId);
      if (summary === undefined) return;
      if (selected !== null) sendFrame({ type: 'unsubscribe', dialog_id: selected.dialog_id });
      selected = summary;
      log = Log.emptyLog(dialogId);
      notice = null;
      setRemoteTyping(null);
      sendFrame({ type: 'subscribe', dialog_id: dialogId });
      markSeen();
      void history.latest();
    },
    handoff(action) {
      if (selected === null) return;
      const sent = sendFrame({ type: 'handoff', dialog_id: selected.dialog_id, action });
      notice = sent ? null : 'Not connected. Try again when the console is back online.';
      render();
    },
    send(text) {
      if (log === null) return;
      const clientMsgId = deps.uuid();
      log = Log.addPending(log, clientMsgId, text);
      // Offline, it stays pending and goes out (same client_msg_id) after the next `ready`.
      sendFrame({ type: 'send', dialog_id: log.dialogId, client_msg_id: clientMsgId, text });
      render();
    },
    typing(state) {
      if (state === 'start' && selected !== null) {
        if (sendFrame({ type: 'typing', dialog_id: selected.dialog_id, state })) {
          typingDialogId = selected.dialog_id;
        }
      } else if (state === 'stop' && typingDialogId !== null) {
        sendFrame({ type: 'typing', dialog_id: typingDialogId, state });
        typingDialogId = null;
      }
    },
    loadEarlier() {
      void history.earlier();
    },
    retryPending(clientMsgId) {
      if (log === null) return;
      const item = log.pending.find((entry) => entry.clientMsgId === clientMsgId);
      if (item === undefined) return;
      // Same client_msg_id: a refused send was never stored, and a stored one is not doubled.
      log = Log.addPending(Log.dropPending(log, clientMsgId), clientMsgId, item.text);
      sendFrame({
        type: 'send',
        dialog_id: log.dialogId,
        client_msg_id: clientMsgId,
        text: item.text,
      });
      render();
    },
    discardPending(clientMsgId) {
      if (log === null) return;
      log = Log.dropPending(log, clientMsgId);
      render();
    },
    reconnect: () => connection.retry(),
    visible() {
      const { state } = connection;
      if (state.kind === 'stopped' && state.revival === 'user_action_or_visible')
        connection.retry();
    },
  };
}
