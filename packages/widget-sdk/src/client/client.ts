/**
 * `PosternClient`: the public face. It wires the connection state machine to the chat state —
 * outbox, dialog sync, typing and handoff — and turns server frames into events. The class is a
 * thin shell over closures built in its constructor: closure variables minify to one letter,
 * where every private field access would stay `this.#x`.
 */
import {
  RESUME_MIN_INTERVAL_MS,
  type ReadyFrame,
  type ServerFrame,
  type TypingState,
} from '@postern/protocol';
import { type Connection, createConnection } from './connection.js';
import { randomUuid, serverAddress, systemClock } from './environment.js';
import { PosternError, toTokenError } from './errors.js';
import { createEmitter, type Emitter, type Listener } from './events.js';
import { indexedDbLedger } from './ledger.js';
import { createOutbox, type Outbox, type OutboxEntry, type OutboxFailure } from './outbox.js';
import { browserPage } from './page.js';
import { createDialogSync, type DialogSync, fetchHistoryPage } from './resume.js';
import { createSessionSource, type FetchLike, type LockManagerLike } from './session.js';
import { openStore } from './storage.js';
import { createTokenSource } from './tokens.js';
import type { ConnectionState, PosternClientOptions, PosternEvents } from './types.js';

/**
 * A headless Postern chat client: connection, tokens, outbox and message sync, no UI.
 * Construct it anywhere (it touches no browser global until `connect()`).
 *
 * @example
 * const client = new PosternClient({ serverUrl: 'https://chat.example.com', siteToken });
 * client.on('message', (message) => render(message));
 * client.on('state', ({ state, disconnect }) => showStatus(state, disconnect));
 * client.connect();
 * const id = client.send('Hello!'); // returns at once; `outbox` events tell its fate
 */
export class PosternClient {
  readonly #events: Emitter<PosternEvents> = createEmitter();
  readonly #connection: Connection;
  readonly #sync: DialogSync;
  readonly #outbox: Outbox;
  readonly #send: (text: string) => string;
  readonly #typing: (state: TypingState) => void;
  readonly #handoff: () => void;

  /** @throws {PosternError} `ERR_CONFIG` for a bad `serverUrl`, or with neither token source. */
  constructor(options: PosternClientOptions) {
    const events = this.#events;
    const address = serverAddress(options.serverUrl);
    const clock = options.clock ?? systemClock;
    const now = () => clock.now();
    // Called unbound: `fetch` called as a method of another object throws "Illegal invocation".
    const fetch: FetchLike = (url, init) => (options.fetch ?? globalThis.fetch)(url, init);
    const { getToken, siteToken, storage = 'local' } = options;
    const session =
      siteToken && !getToken
        ? createSessionSource({
            siteToken,
            serverOrigin: address.origin,
            api: address.api,
            store: openStore(storage),
            fetch,
            locks: () =>
              options.locks !== undefined
                ? options.locks
                : ((globalThis.navigator?.locks as LockManagerLike | undefined) ?? null),
            // Only `localStorage` is shared by tabs (and lags between them); see ledger.ts.
            ledger: (key) =>
              storage === 'local' && globalThis.indexedDB
                ? indexedDbLedger(globalThis.indexedDB, key)
                : null,
            now,
          })
        : null;
    const fetchToken = getToken ?? session?.getToken;
    if (!fetchToken) throw new PosternError('ERR_CONFIG', 'no siteToken or getToken');
    const tokens = createTokenSource(fetchToken, now, session?.forget);
    const report = (error: unknown) =>
      events.report(
        error instanceof PosternError
          ? error
          : new PosternError('ERR_HISTORY', 'unexpected', { cause: error }),
      );
    const outbox = createOutbox((entry) => events.emit('outbox', entry));
    const sync = createDialogSync({
      deliver: (message) => events.emit('message', message),
      page: async (dialogId, afterSeq) =>
        fetchHistoryPage(fetch, address.api, await tokens.get(false), dialogId, afterSeq),
      resynced: (result) => events.emit('resynced', result),
      failed: report,
    });
    let serverSkewMs = 0;
    let authResumed: string | undefined;
    let lastResumeAt = -Infinity;
    let handoffWanted = false;
    // A liveness probe's `resume` is outstanding: its `resumed` is not a catch-up to report
    // unless it found a gap.
    let probing = false;

    /**
     * Asks for everything after the last `seq` held; `false` when it could not be sent. A `probe`
     * (is the socket alive?) reports no `resynced` when nothing was missed.
     */
    const resume = (probe?: boolean): boolean => {
      const point = sync.point();
      const at = now();
      // The server refuses a second `resume` within 5 s on one socket.
      if (!point || at - lastResumeAt < RESUME_MIN_INTERVAL_MS) return false;
      if (!connection.write({ type: 'resume', ...point })) return false;
      lastResumeAt = at;
      if (probe) probing = true;
      else sync.begin();
      return true;
    };

    const flush = () => {
      const dialog_id = sync.dialogId;
      if (connection.state !== 'connected' || dialog_id === null) return;
      for (const { id, text } of outbox.due(now())) {
        if (!connection.write({ type: 'send', dialog_id, client_msg_id: id, text })) return;
        outbox.markSent(id);
      }
      if (handoffWanted && connection.write({ type: 'handoff', dialog_id, action: 'request' })) {
        handoffWanted = false;
      }
    };

    const ready = (frame: ReadyFrame) => {
      const dialogId = frame.dialog_id;
      if (dialogId === undefined)
        return report(new PosternError('ERR_PROTOCOL', 'ready', { detail: 'ready' }));
      serverSkewMs = now() - frame.server_time;
      tokens.expires(frame.token_expires_at + serverSkewMs);
      const resumed = authResumed === dialogId;
      sync.enter(dialogId);
      const lastSeq = frame.last_seq ?? 0;
      connection.ready(frame.ping_interval_ms);
      if (connection.state !== 'connected') return; // a `state` listener disconnected
      events.emit('ready', {
        visitorId: frame.visitor_id ?? null,
        dialogId,
        lastSeq,
        handoff: frame.handoff ?? { state: 'assistant' },
      });
      // Resumed in `auth`: the replay and `resumed` follow. A dialog this client has not seen
      // with messages in it (a returning visitor, a new page): ask for them.
      if (resumed) sync.begin();
      else {
        // The server counts an `auth` resume only for the dialog it names: this socket has not
        // resumed yet, whatever the last one did.
        lastResumeAt = -Infinity;
        if (lastSeq > sync.lastSeq) resume();
      }
      flush();
    };

    /** `refresh_required`: a fresh token in band; dropped if the socket changed meanwhile. */
    const refreshInBand = () => {
      const socket = connection.socket;
      tokens.get(true).then(
        (token) => {
          if (socket === connection.socket && connection.state === 'connected') {
            connection.write({ type: 'refresh', token });
          }
        },
        // No retry here: at expiry the server closes with 4001 and the funnel refreshes.
        (error: unknown) => report(toTokenError(error)),
      );
    };

    const dispatch = (frame: ServerFrame) => {
      const ours = 'dialog_id' in frame && frame.dialog_id === sync.dialogId;
      switch (frame.type) {
        case 'ready':
          return ready(frame);
        case 'refresh_required':
          return refreshInBand();
        case 'refreshed':
          return tokens.expires(frame.token_expires_at + serverSkewMs);
        case 'ack':
          outbox.settle(frame.client_msg_id, frame);
          return;
        case 'message': {
          // Our own message echoed (after a lost ack, or in a replay) settles it just as well.
          if (frame.client_msg_id !== undefined) outbox.settle(frame.client_msg_id, frame);
          // Delivered in the shape of a history item, whichever way it arrived.
          const { type: _type, ...stored } = frame;
          return sync.accept(stored);
        }
        case 'typing':
        case 'handoff': {
          // What is left without the type and the dialog is the event: `{sender, state}` or
          // `{state, operator?}` (the lean decoder keeps no other field).
          const { type, dialog_id: _, ...event } = frame;
          if (ours) events.emit(type, event as never);
          return;
        }
        case 'resumed': {
          const quiet = probing && !frame.gap;
          probing = false;
          if (ours && !quiet) sync.resumed(frame.gap, frame.head_seq);
          return;
        }
        case 'error': {
          // `ref` names one of our messages (a refused `send`), or else a dialog.
          const { code, ref } = frame;
          const reason: OutboxFailure =
            code === 'rate_limited' || code === 'dialog_closed' ? code : 'invalid';
          if (ref === undefined || !outbox.settle(ref, reason)) {
            report(new PosternError('ERR_REFUSED', code, { detail: code }));
          }
        }
      }
    };

    const connection = createConnection(
      {
        url: address.socket,
        tokens,
        clock,
        random: options.random ?? Math.random,
        webSocket: () => options.WebSocket ?? globalThis.WebSocket,
        page: () => (options.page === undefined ? browserPage() : options.page),
      },
      {
        // The first frame of each socket: the token, and where this client left off.
        auth(token) {
          const point = sync.point();
          authResumed = point?.dialog_id;
          if (!point) return { type: 'auth', token };
          lastResumeAt = now();
          return { type: 'auth', token, resume: point };
        },
        frame: dispatch,
        ended(reset) {
          probing = false;
          outbox.requeue();
          if (reset) sync.reset();
          else sync.interrupt();
        },
        state(change) {
          // Offline, this is the beat that remains (each failed attempt): a message past its
          // 24 h fails here rather than waiting in the outbox for the next connection.
          outbox.due(now());
          events.emit('state', change);
        },
        probe: () => resume(true),
        report: events.report,
      },
    );
    this.#connection = connection;
    this.#sync = sync;
    this.#outbox = outbox;
    this.#send = (text) => {
      const id = (options.uuid ?? randomUuid)();
      outbox.add(id, text, now());
      connection.revive('user_action');
      flush();
      return id;
    };
    this.#typing = (state) => {
      const dialog_id = sync.dialogId;
      if (connection.state === 'connected' && dialog_id !== null) {
        connection.write({ type: 'typing', dialog_id, state });
      }
    };
    this.#handoff = () => {
      handoffWanted = true;
      connection.revive('user_action');
      flush();
    };
  }

  /** The connection state; every change is a `state` event. */
  get state(): ConnectionState {
    return this.#connection.state;
  }

  /** The current dialog, known from the first `ready`. */
  get dialogId(): string | null {
    return this.#sync.dialogId;
  }

  /** Messages sent but not acknowledged yet (`queued` or `sent`), oldest first. */
  get pending(): readonly OutboxEntry[] {
    return this.#outbox.list();
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<K extends keyof PosternEvents>(event: K, listener: Listener<PosternEvents[K]>): () => void {
    return this.#events.on(event, listener);
  }

  /** Unsubscribes a listener given to `on`. */
  off<K extends keyof PosternEvents>(event: K, listener: Listener<PosternEvents[K]>): void {
    this.#events.off(event, listener);
  }

  /**
   * Starts connecting. A user action: it also restarts a client stopped for any reason, with
   * the attempt counter at zero. Nothing happens while connecting or connected.
   * @throws {PosternError} `ERR_CONFIG` when there is no WebSocket implementation.
   */
  connect(): void {
    this.#connection.connect();
  }

  /** Closes the connection; `disconnected` until `connect()`. Pending messages are kept. */
  disconnect(): void {
    this.#connection.disconnect();
  }

  /**
   * Sends a message: returns its `client_msg_id` at once and reports its progress as `outbox`
   * events (`queued` → `sent` → `acked`, or `failed`). Messages wait while offline and are re-sent
   * with the same id after each reconnect until acknowledged. A user action: it restarts a client
   * stopped until one (after 4004, 4005, or 4008 eight times).
   */
  send(text: string): string {
    return this.#send(text);
  }

  /** Tells the dialog the visitor started or stopped typing (dropped while not connected). */
  typing(state: TypingState): void {
    this.#typing(state);
  }

  /** Asks for a human operator: sent now, or right after the next `ready`. A user action. */
  requestHandoff(): void {
    this.#handoff();
  }
}
