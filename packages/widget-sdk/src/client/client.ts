/**
 * `PosternClient`: the public face. It wires the connection state machine to the chat state —
 * outbox, dialog sync, typing and handoff — and turns server frames into events.
 */
import {
  type AuthFrame,
  type HandoffFrame,
  type HandoffStatus,
  RESUME_MIN_INTERVAL_MS,
  type ReadyFrame,
  type ServerFrame,
  type TypingState,
} from '@postern/protocol';
import { Connection } from './connection.js';
import { randomUuid, type ServerAddress, serverAddress, systemClock } from './environment.js';
import { PosternError, toTokenError } from './errors.js';
import { Emitter, type Listener } from './events.js';
import { Outbox, type OutboxEntry, type OutboxFailure } from './outbox.js';
import { browserPage } from './page.js';
import { DialogSync, fetchHistoryPage } from './resume.js';
import { createSessionSource, type FetchLike, type LockManagerLike } from './session.js';
import { openStore } from './storage.js';
import { TokenSource } from './tokens.js';
import type { ConnectionState, PosternClientOptions, PosternEvents } from './types.js';

// Server refusals of a `send` that have an outbox reason of their own; the rest read `invalid`.
const SEND_FAILURES: Readonly<Record<string, OutboxFailure>> = {
  rate_limited: 'rate_limited',
  dialog_closed: 'dialog_closed',
};

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
  readonly #options: PosternClientOptions;
  readonly #events = new Emitter<PosternEvents>();
  readonly #address: ServerAddress;
  readonly #tokens: TokenSource;
  readonly #outbox: Outbox;
  readonly #sync: DialogSync;
  readonly #connection: Connection;
  #serverSkewMs = 0;
  #authResumed: string | undefined;
  #lastResumeAt = Number.NEGATIVE_INFINITY;
  #handoffWanted = false;

  /** @throws {PosternError} `ERR_CONFIG` for a bad `serverUrl`, or with neither token source. */
  constructor(options: PosternClientOptions) {
    this.#options = options;
    this.#address = serverAddress(options.serverUrl);
    const clock = options.clock ?? systemClock;
    const now = () => clock.now();
    const { getToken, siteToken } = options;
    if (getToken) {
      this.#tokens = new TokenSource(getToken, now);
    } else if (siteToken) {
      const session = createSessionSource({
        siteToken,
        serverOrigin: this.#address.origin,
        api: this.#address.api,
        store: openStore(options.storage ?? 'local'),
        fetch: this.#fetch,
        locks: () =>
          options.locks !== undefined
            ? options.locks
            : ((globalThis.navigator?.locks as LockManagerLike | undefined) ?? null),
        now,
      });
      this.#tokens = new TokenSource(session.getToken, now, session.forget);
    } else {
      throw new PosternError('ERR_CONFIG', 'pass siteToken or getToken');
    }
    this.#outbox = new Outbox((entry) => this.#events.emit('outbox', entry));
    this.#sync = new DialogSync({
      deliver: (message) => this.#events.emit('message', message),
      page: async (dialogId, afterSeq) => {
        const token = await this.#tokens.get(false);
        return fetchHistoryPage(this.#fetch, this.#address.api, token, dialogId, afterSeq);
      },
      resynced: (result) => this.#events.emit('resynced', result),
      failed: (error) => this.#report(error),
    });
    this.#connection = new Connection(
      {
        url: this.#address.socket,
        tokens: this.#tokens,
        clock,
        random: options.random ?? Math.random,
        webSocket: () => options.WebSocket ?? globalThis.WebSocket,
        page: () => (options.page === undefined ? browserPage() : options.page),
      },
      {
        auth: (token) => this.#auth(token),
        frame: (frame) => this.#dispatch(frame),
        ended: (reset) => {
          this.#outbox.requeue();
          if (reset) this.#sync.reset();
          else this.#sync.interrupt();
        },
        state: (change) => this.#events.emit('state', change),
        probe: () => this.#resume(),
        report: (error) => this.#events.report(error),
      },
    );
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
    const id = (this.#options.uuid ?? randomUuid)();
    this.#outbox.add(id, text, this.#now());
    this.#connection.revive('user_action');
    this.#flush();
    return id;
  }

  /** Tells the dialog the visitor started or stopped typing (dropped while not connected). */
  typing(state: TypingState): void {
    const dialogId = this.#sync.dialogId;
    if (this.state === 'connected' && dialogId !== null) {
      this.#connection.write({ type: 'typing', dialog_id: dialogId, state });
    }
  }

  /** Asks for a human operator: sent now, or right after the next `ready`. A user action. */
  requestHandoff(): void {
    this.#handoffWanted = true;
    this.#connection.revive('user_action');
    this.#flush();
  }

  /** The first frame of each socket: the token, and where this client left off. */
  #auth(token: string): AuthFrame {
    const resume = this.#sync.point();
    this.#authResumed = resume?.dialog_id;
    if (!resume) return { type: 'auth', token };
    this.#lastResumeAt = this.#now();
    return { type: 'auth', token, resume };
  }

  #dispatch(frame: ServerFrame): void {
    const ours = 'dialog_id' in frame && frame.dialog_id === this.#sync.dialogId;
    switch (frame.type) {
      case 'ready':
        this.#ready(frame);
        return;
      case 'refresh_required':
        this.#refreshInBand();
        return;
      case 'refreshed':
        this.#tokens.expires(frame.token_expires_at + this.#serverSkewMs);
        return;
      case 'ack':
        this.#outbox.settle(frame.client_msg_id, frame);
        return;
      case 'message': {
        // Our own message echoed (after a lost ack, or in a replay) settles it just as well.
        if (frame.client_msg_id !== undefined) this.#outbox.settle(frame.client_msg_id, frame);
        // Delivered in the shape of a history item, whichever way it arrived.
        const { type: _type, ...stored } = frame;
        this.#sync.accept(stored);
        return;
      }
      case 'typing':
        if (ours) this.#events.emit('typing', { sender: frame.sender, state: frame.state });
        return;
      case 'handoff':
        if (ours) this.#events.emit('handoff', handoffStatus(frame));
        return;
      case 'resumed':
        if (ours) this.#sync.resumed(frame.gap, frame.head_seq);
        return;
      case 'error':
        // `ref` names one of our messages (a refused `send`), or else a dialog.
        if (
          frame.ref === undefined ||
          !this.#outbox.settle(frame.ref, SEND_FAILURES[frame.code] ?? 'invalid')
        ) {
          this.#report(
            new PosternError('ERR_REFUSED', `refused: ${frame.code}`, { detail: frame.code }),
          );
        }
        return;
      default:
        return;
    }
  }

  #ready(frame: ReadyFrame): void {
    const dialogId = frame.dialog_id;
    if (dialogId === undefined) {
      this.#report(new PosternError('ERR_PROTOCOL', 'ready without a dialog', { detail: 'ready' }));
      return;
    }
    this.#serverSkewMs = this.#now() - frame.server_time;
    this.#tokens.expires(frame.token_expires_at + this.#serverSkewMs);
    const resumed = this.#authResumed === dialogId;
    this.#sync.enter(dialogId);
    const lastSeq = frame.last_seq ?? 0;
    this.#connection.ready(frame.ping_interval_ms);
    if (this.state !== 'connected') return; // a `state` listener disconnected
    this.#events.emit('ready', {
      visitorId: frame.visitor_id ?? null,
      dialogId,
      lastSeq,
      handoff: frame.handoff ?? { state: 'assistant' },
    });
    // Resumed in `auth`: the replay and `resumed` follow. A dialog this client has not seen
    // with messages in it (a returning visitor, a new page): ask for them.
    if (resumed) this.#sync.begin();
    else if (lastSeq > this.#sync.lastSeq) this.#resume();
    this.#flush();
  }

  /** Asks for everything after the last `seq` held; `false` when it could not be sent. */
  #resume(): boolean {
    const point = this.#sync.point();
    const now = this.#now();
    // The server refuses a second `resume` within 5 s on one socket.
    if (!point || now - this.#lastResumeAt < RESUME_MIN_INTERVAL_MS) return false;
    if (!this.#connection.write({ type: 'resume', ...point })) return false;
    this.#lastResumeAt = now;
    this.#sync.begin();
    return true;
  }

  /** `refresh_required`: a fresh token in band; dropped if the socket changed meanwhile. */
  #refreshInBand(): void {
    const socket = this.#connection.socket;
    this.#tokens.get(true).then(
      (token) => {
        if (socket === this.#connection.socket && this.state === 'connected') {
          this.#connection.write({ type: 'refresh', token });
        }
      },
      // No retry here: at expiry the server closes with 4001 and the funnel refreshes.
      (error: unknown) => this.#report(toTokenError(error)),
    );
  }

  #flush(): void {
    const dialogId = this.#sync.dialogId;
    if (this.state !== 'connected' || dialogId === null) return;
    for (const { id, text } of this.#outbox.due(this.#now())) {
      const frame = { type: 'send', dialog_id: dialogId, client_msg_id: id, text } as const;
      if (!this.#connection.write(frame)) return;
      this.#outbox.markSent(id);
    }
    if (this.#handoffWanted) {
      const frame = { type: 'handoff', dialog_id: dialogId, action: 'request' } as const;
      if (this.#connection.write(frame)) this.#handoffWanted = false;
    }
  }

  #now(): number {
    return (this.#options.clock ?? systemClock).now();
  }

  readonly #fetch: FetchLike = (url, init) => {
    // Called unbound: `fetch` called as a method of another object throws "Illegal invocation".
    const fetchImpl = this.#options.fetch ?? globalThis.fetch;
    return fetchImpl(url, init);
  };

  #report(error: unknown): void {
    this.#events.report(
      error instanceof PosternError
        ? error
        : new PosternError('ERR_HISTORY', 'unexpected failure', { cause: error }),
    );
  }
}

function handoffStatus(frame: HandoffFrame): HandoffStatus {
  return frame.operator ? { state: frame.state, operator: frame.operator } : { state: frame.state };
}
