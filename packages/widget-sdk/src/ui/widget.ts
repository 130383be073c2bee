/**
 * The default chat UI over the public API of {@link PosternClient}. The client is created on the
 * first `open()`, not before: until the visitor opens the chat nothing is written to storage and
 * no socket is opened. After that it stays connected while the panel is closed (unread count) and
 * follows the client's own reconnect policy.
 */
import type { ChatMessage, HandoffState, Sender, TypingState } from '@postern/protocol';
import { PosternClient } from '../client/client.js';
import type { PosternError } from '../client/errors.js';
import { Emitter, type Listener } from '../client/events.js';
import type { StorageChoice } from '../client/storage.js';
import type { ReadyInfo, StateChange } from '../client/types.js';
import { MessageLog } from './message-log.js';
import { statusOf } from './status.js';
import { fill, LOCALES, plural, resolveLocale, type Strings } from './strings.js';
import { createSheets } from './styles.js';
import { themeOf } from './theme.js';
import { createView, relabel, type View } from './view.js';
import { Viewport } from './viewport.js';

export interface WidgetOptions {
  /** The Postern server, e.g. `https://chat.example.com`. */
  readonly serverUrl: string;
  readonly siteToken: string;
  /** Where the refresh token is kept (`data-storage`); default `'local'`. */
  readonly storage?: StorageChoice;
  /** A BCP 47 tag; unsupported languages fall back to English. */
  readonly locale?: string;
  /** Accent colour, `#rgb` or `#rrggbb` (`data-color`). */
  readonly color?: string;
  /** `right` (default) or `left` (`data-position`). */
  readonly position?: string;
}

/** Events of the widget, as `Postern('on', name, fn)` delivers them. */
export interface WidgetEvents {
  ready: ReadyInfo;
  state: StateChange;
  message: ChatMessage;
  /** The number of messages that arrived while the chat was closed or the page hidden. */
  unread: number;
  error: PosternError;
}

/** Someone typing stops showing after this long without news (a lost `stop`). */
const TYPING_TIMEOUT_MS = 8_000;
/** The visitor's own `typing start` is sent at most this often, and `stop` after this idle. */
const TYPING_IDLE_MS = 3_000;

export class ChatWidget {
  readonly #options: WidgetOptions;
  readonly #events = new Emitter<WidgetEvents>();
  readonly #view: View;
  readonly #viewport: Viewport;
  #client: PosternClient | null = null;
  #strings: Strings;
  #locale: string;
  #open = false;
  #unread = 0;
  #dialogId: string | null = null;
  #typingOut: ReturnType<typeof setTimeout> | undefined;
  #typingIn: ReturnType<typeof setTimeout> | undefined;
  #typer: Sender | null = null;
  #state: StateChange | null = null;
  readonly #log: MessageLog;

  constructor(options: WidgetOptions) {
    this.#options = options;
    this.#locale = resolveLocale(options.locale);
    this.#strings = LOCALES[this.#locale] as Strings;
    const view = createView();
    this.#view = view;
    this.#log = new MessageLog(view.log, () => this.#strings);
    const { sheets, host } = createSheets();
    view.root.adoptedStyleSheets = sheets;
    const theme = themeOf(options.color, options.position);
    view.host.dataset['position'] = theme.position;
    if (theme.accent && theme.accentText) {
      // CSSOM, not a style attribute: allowed under `style-src` without 'unsafe-inline'.
      host.setProperty('--postern-accent', theme.accent);
      host.setProperty('--postern-accent-text', theme.accentText);
    }
    this.#viewport = new Viewport(host);
    relabel(view, this.#strings, this.#locale);
    this.#listen();
    this.#mount();
  }

  get isOpen(): boolean {
    return this.#open;
  }

  on<K extends keyof WidgetEvents>(event: K, listener: Listener<WidgetEvents[K]>): () => void {
    return this.#events.on(event, listener);
  }

  off<K extends keyof WidgetEvents>(event: K, listener: Listener<WidgetEvents[K]>): void {
    this.#events.off(event, listener);
  }

  open(): void {
    const { panel, launcher, launcherLabel, host, input } = this.#view;
    if (!this.#open) {
      this.#open = true;
      panel.hidden = false;
      host.toggleAttribute('data-open', true);
      launcher.setAttribute('aria-expanded', 'true');
      launcherLabel.dataset['t'] = 'close';
      launcherLabel.textContent = this.#strings.close;
      this.#viewport.start();
      this.#setUnread(0);
      this.#log.scroll();
    }
    this.#connect();
    input.focus();
  }

  /** Closes the panel; focus goes back to the launcher when it was inside the widget. */
  close(): void {
    if (!this.#open) return;
    const { panel, launcher, launcherLabel, host, root } = this.#view;
    const hadFocus = root.activeElement !== null;
    this.#open = false;
    panel.hidden = true;
    host.removeAttribute('data-open');
    launcher.setAttribute('aria-expanded', 'false');
    launcherLabel.dataset['t'] = 'open';
    launcherLabel.textContent = this.#strings.open;
    this.#viewport.stop();
    if (hadFocus) launcher.focus();
  }

  toggle(): void {
    if (this.#open) this.close();
    else this.open();
  }

  /** Switches every string and the panel's direction to `tag`'s locale. */
  setLocale(tag: string): void {
    this.#locale = resolveLocale(tag);
    this.#strings = LOCALES[this.#locale] as Strings;
    relabel(this.#view, this.#strings, this.#locale);
    this.#renderStatus();
    this.#renderTyping();
    this.#setUnread(this.#unread);
  }

  /** Disconnects, removes the widget from the page and drops every listener. */
  shutdown(): void {
    this.close();
    this.#client?.disconnect();
    this.#client = null;
    this.#viewport.stop();
    document.removeEventListener('visibilitychange', this.#visible);
    this.#view.host.remove();
  }

  #mount(): void {
    const attach = () => document.body.append(this.#view.host);
    // An async script may run before <body> exists.
    if (document.body) attach();
    else document.addEventListener('DOMContentLoaded', attach, { once: true });
  }

  #listen(): void {
    const { root, launcher, closeButton, retry, handoff, form, input } = this.#view;
    launcher.addEventListener('click', () => this.toggle());
    closeButton.addEventListener('click', () => this.close());
    retry.addEventListener('click', () => this.#client?.connect());
    handoff.addEventListener('click', () => {
      this.#client?.requestHandoff();
      this.#renderHandoff('requested');
      // The button hides itself; focus must not fall out of the panel to the page.
      input.focus();
    });
    root.addEventListener('keydown', (event) => {
      if ((event as KeyboardEvent).key === 'Escape' && this.#open) {
        event.stopPropagation();
        this.close();
      }
    });
    input.addEventListener('keydown', (event) => {
      // Enter during IME composition confirms a candidate; it must not send.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.#send();
      }
    });
    input.addEventListener('input', () => this.#typed());
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#send();
    });
    document.addEventListener('visibilitychange', this.#visible);
  }

  readonly #visible = () => {
    if (document.visibilityState === 'visible' && this.#open) this.#setUnread(0);
  };

  /** Opening is a user action: start, or restart a stop the close policy allows to restart. */
  #connect(): void {
    if (!this.#client) this.#client = this.#createClient();
    const { state } = this.#client;
    const revival = this.#state?.disconnect?.revival ?? 'never';
    if (state === 'disconnected' || (state === 'stopped' && revival !== 'never')) {
      this.#client.connect();
    }
  }

  #createClient(): PosternClient {
    const { serverUrl, siteToken, storage } = this.#options;
    const client = new PosternClient({ serverUrl, siteToken, ...(storage ? { storage } : {}) });
    client.on('state', (change) => {
      this.#state = change;
      this.#renderStatus();
      this.#events.emit('state', change);
    });
    client.on('ready', (ready) => {
      if (this.#dialogId !== null && ready.dialogId !== this.#dialogId) this.#log.restart();
      this.#dialogId = ready.dialogId;
      this.#renderHandoff(ready.handoff.state);
      this.#events.emit('ready', ready);
    });
    client.on('message', (message) => this.#message(message));
    client.on('outbox', (entry) => {
      this.#log.outbox(entry);
      if (this.#state?.state === 'connecting') this.#renderStatus();
    });
    client.on('typing', ({ sender, state }) => this.#theyTyped(sender, state));
    client.on('handoff', ({ state }) => this.#renderHandoff(state));
    client.on('error', (error) => this.#events.emit('error', error));
    return client;
  }

  #send(): void {
    const { input } = this.#view;
    const text = input.value;
    if (!text.trim()) return;
    input.value = '';
    clearTimeout(this.#typingOut);
    this.#typingOut = undefined;
    this.#connect();
    this.#client?.typing('stop');
    this.#client?.send(text);
  }

  #typed(): void {
    if (this.#typingOut === undefined) this.#client?.typing('start');
    clearTimeout(this.#typingOut);
    this.#typingOut = setTimeout(() => {
      this.#typingOut = undefined;
      this.#client?.typing('stop');
    }, TYPING_IDLE_MS);
  }

  #theyTyped(sender: Sender, state: TypingState): void {
    clearTimeout(this.#typingIn);
    this.#typer = state === 'start' && sender !== 'visitor' ? sender : null;
    if (this.#typer)
      this.#typingIn = setTimeout(() => this.#theyTyped(sender, 'stop'), TYPING_TIMEOUT_MS);
    this.#renderTyping();
  }

  #message(message: ChatMessage): void {
    this.#log.add(message);
    if (message.sender === this.#typer) this.#theyTyped(message.sender, 'stop');
    this.#events.emit('message', message);
    if (message.sender !== 'visitor' && (!this.#open || document.visibilityState === 'hidden')) {
      this.#setUnread(this.#unread + 1);
    }
  }

  #setUnread(count: number): void {
    const changed = count !== this.#unread;
    this.#unread = count;
    const { badge } = this.#view;
    badge.hidden = count === 0;
    badge.textContent = count > 99 ? '99+' : count.toLocaleString(this.#locale);
    badge.setAttribute('aria-label', plural(this.#strings.unread, count, this.#locale));
    if (changed) this.#events.emit('unread', count);
  }

  #renderStatus(): void {
    const change = this.#state;
    const { status, statusText, retry } = this.#view;
    const pending = this.#client?.pending.length ?? 0;
    const current = change && statusOf(change.state, change.disconnect, pending);
    status.hidden = current === null;
    if (!current) return;
    status.dataset['kind'] = current.kind;
    retry.hidden = current.kind !== 'stopped' || !current.retry;
    statusText.textContent =
      current.kind === 'offline'
        ? plural(this.#strings.offline, current.pending, this.#locale)
        : this.#strings[current.text];
  }

  #renderTyping(): void {
    const { typing } = this.#view;
    typing.hidden = this.#typer === null;
    if (this.#typer)
      typing.textContent = fill(this.#strings.typing, { who: this.#strings[this.#typer] });
  }

  #renderHandoff(state: HandoffState): void {
    this.#view.handoff.hidden = state !== 'assistant';
    this.#view.note.hidden = state !== 'requested';
  }
}
