/**
 * The default chat UI over the public API of {@link PosternClient}. On a first visit the client
 * is created on the first `open()`, not before: until the visitor opens the chat nothing is
 * written to storage and no socket is opened. A browser that opened the chat before (a refresh
 * token is stored) creates and connects it at page load. Either way it then stays connected while
 * the page is visible, panel open or closed (unread count); see `visibility.ts`. The class is a
 * thin shell over closures built in its constructor, which minify far smaller than private fields. */
import type { ChatMessage, HandoffState, Sender, TypingState } from '@postern/protocol';
import { PosternClient } from '../client/client.js';
import { serverAddress, systemClock } from '../client/environment.js';
import type { PosternError } from '../client/errors.js';
import { createEmitter, type Listener } from '../client/events.js';
import type { StorageChoice } from '../client/storage.js';
import type { ReadyInfo, StateChange } from '../client/types.js';
import { MessageLog } from './message-log.js';
import { statusOf } from './status.js';
import { fill, LOCALES, plural, resolveLocale, type Strings } from './strings.js';
import { createSheets } from './styles.js';
import { themeOf } from './theme.js';
import { createView, relabel } from './view.js';
import { Viewport } from './viewport.js';
import {
  disconnectWhileHidden,
  HIDDEN_DISCONNECT_MS,
  hasStoredSession,
  type PageVisibility,
} from './visibility.js';

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
  /** How long a hidden page keeps its socket before a clean disconnect; default 5 minutes. */
  readonly hiddenDisconnectMs?: number;
}

/** Events of the widget, as `Postern('on', name, fn)` delivers them. */
export interface WidgetEvents {
  ready: ReadyInfo;
  state: StateChange;
  message: ChatMessage;
  /**
   * The number of messages that arrived during this page view while the chat was closed or the
   * page hidden (history from before the page loaded is not unread).
   */
  unread: number;
  error: PosternError;
}

/** Someone typing stops showing after this long without news (a lost `stop`). */
const TYPING_TIMEOUT_MS = 8_000;
/** The visitor's own `typing start` is sent at most this often, and `stop` after this idle. */
const TYPING_IDLE_MS = 3_000;

// The page's visibility, from `document` (the widget only runs in a browser).
const documentVisibility: PageVisibility = {
  get hidden() {
    return document.visibilityState === 'hidden';
  },
  listen(changed) {
    document.addEventListener('visibilitychange', changed);
    return () => document.removeEventListener('visibilitychange', changed);
  },
};

export class ChatWidget {
  readonly #events = createEmitter<WidgetEvents>();
  readonly #isOpen: () => boolean;
  readonly #open: () => void;
  readonly #close: () => void;
  readonly #setLocale: (tag: string) => void;
  readonly #shutdown: () => void;

  constructor(options: WidgetOptions) {
    const events = this.#events;
    let locale = resolveLocale(options.locale);
    let strings = LOCALES[locale] as Strings;
    let client: PosternClient | null = null;
    let open = false;
    let unread = 0;
    let dialogId: string | null = null;
    // Messages up to this `seq` were there before this page view: history, not unread.
    let baseline = 0;
    let typingOut: ReturnType<typeof setTimeout> | undefined;
    let typingIn: ReturnType<typeof setTimeout> | undefined;
    let typer: Sender | null = null;
    let current: StateChange | null = null;
    let unwatch = () => {};

    const view = createView();
    const { host: hostElement, root, panel, launcher, launcherLabel, input, badge } = view;
    const log = new MessageLog(view.log, () => strings);
    const { sheets, host } = createSheets();
    root.adoptedStyleSheets = sheets;
    const theme = themeOf(options.color, options.position);
    hostElement.dataset['position'] = theme.position;
    if (theme.accent && theme.accentText) {
      // CSSOM, not a style attribute: allowed under `style-src` without 'unsafe-inline'.
      host.setProperty('--postern-accent', theme.accent);
      host.setProperty('--postern-accent-text', theme.accentText);
    }
    const viewport = new Viewport(host);

    const setUnread = (count: number) => {
      const changed = count !== unread;
      unread = count;
      badge.hidden = !count;
      badge.textContent = count > 99 ? '99+' : count.toLocaleString(locale);
      badge.setAttribute('aria-label', plural(strings.unread, count, locale));
      if (changed) events.emit('unread', count);
    };

    const renderStatus = () => {
      const { status, statusText, retry } = view;
      const shown =
        current && statusOf(current.state, current.disconnect, client?.pending.length ?? 0);
      // A chat that stopped for good (not available here, revoked…) offers nothing to type into.
      const ended = shown?.kind === 'stopped' && !shown.retry;
      view.form.hidden = ended;
      if (ended) view.handoff.hidden = true;
      status.hidden = !shown;
      if (!shown) return;
      status.dataset['kind'] = shown.kind;
      retry.hidden = shown.kind !== 'stopped' || !shown.retry;
      statusText.textContent =
        shown.kind === 'offline'
          ? plural(strings.offline, shown.pending, locale)
          : strings[shown.text];
    };

    const renderTyping = () => {
      view.typing.hidden = !typer;
      if (typer) view.typing.textContent = fill(strings.typing, { who: strings[typer] });
    };

    const renderHandoff = (state: HandoffState) => {
      view.handoff.hidden = state !== 'assistant';
      view.note.hidden = state !== 'requested';
    };

    const theyTyped = (sender: Sender, state: TypingState) => {
      clearTimeout(typingIn);
      typer = state === 'start' && sender !== 'visitor' ? sender : null;
      if (typer) typingIn = setTimeout(() => theyTyped(sender, 'stop'), TYPING_TIMEOUT_MS);
      renderTyping();
    };

    const createClient = () => {
      const { serverUrl, siteToken, storage } = options;
      const created = new PosternClient({ serverUrl, siteToken, ...(storage ? { storage } : {}) });
      created.on('state', (change) => {
        current = change;
        renderStatus();
        events.emit('state', change);
      });
      created.on('ready', (ready) => {
        if (ready.dialogId !== dialogId) {
          if (dialogId !== null) log.restart();
          dialogId = ready.dialogId;
          baseline = ready.lastSeq;
        }
        renderHandoff(ready.handoff.state);
        events.emit('ready', ready);
      });
      created.on('message', (message) => {
        log.add(message);
        if (message.sender === typer) theyTyped(message.sender, 'stop');
        events.emit('message', message);
        if (
          message.sender !== 'visitor' &&
          message.seq > baseline &&
          (!open || documentVisibility.hidden)
        ) {
          setUnread(unread + 1);
        }
      });
      created.on('outbox', (entry) => {
        log.outbox(entry);
        if (current?.state === 'connecting') renderStatus();
      });
      created.on('typing', ({ sender, state }) => theyTyped(sender, state));
      created.on('handoff', ({ state }) => renderHandoff(state));
      created.on('error', (error) => events.emit('error', error));
      unwatch = disconnectWhileHidden(
        created,
        documentVisibility,
        systemClock,
        options.hiddenDisconnectMs ?? HIDDEN_DISCONNECT_MS,
      );
      return created;
    };

    /** Opening is a user action: start, or restart a stop the close policy allows to restart. */
    const connect = () => {
      client ??= createClient();
      const { state } = client;
      const revival = current?.disconnect?.revival ?? 'never';
      if (state === 'disconnected' || (state === 'stopped' && revival !== 'never')) {
        client.connect();
      }
    };

    const setOpen = (next: boolean) => {
      open = next;
      panel.hidden = !next;
      hostElement.toggleAttribute('data-open', next);
      launcher.setAttribute('aria-expanded', String(next));
      const label = next ? 'close' : 'open';
      launcherLabel.dataset['t'] = label;
      launcherLabel.textContent = strings[label];
    };

    this.#isOpen = () => open;
    this.#open = () => {
      if (!open) {
        setOpen(true);
        viewport.start();
        setUnread(0);
        log.scroll();
      }
      connect();
      (view.form.hidden ? view.closeButton : input).focus();
    };
    this.#close = () => {
      if (!open) return;
      const hadFocus = root.activeElement !== null;
      setOpen(false);
      viewport.stop();
      if (hadFocus) launcher.focus();
    };
    this.#setLocale = (tag) => {
      locale = resolveLocale(tag);
      strings = LOCALES[locale] as Strings;
      relabel(view, strings, locale);
      renderStatus();
      renderTyping();
      setUnread(unread);
    };

    const send = () => {
      const text = input.value;
      if (!text.trim()) return;
      input.value = '';
      clearTimeout(typingOut);
      typingOut = undefined;
      connect();
      client?.typing('stop');
      client?.send(text);
    };
    const visible = () => {
      if (!documentVisibility.hidden && open) setUnread(0);
    };
    const listen = (target: EventTarget, type: string, listener: (event: Event) => void) =>
      target.addEventListener(type, listener);

    listen(launcher, 'click', () => this.toggle());
    listen(view.closeButton, 'click', () => this.close());
    listen(view.retry, 'click', () => client?.connect());
    listen(view.handoff, 'click', () => {
      client?.requestHandoff();
      renderHandoff('requested');
      // The button hides itself; focus must not fall out of the panel to the page.
      input.focus();
    });
    listen(root, 'keydown', (event) => {
      if ((event as KeyboardEvent).key === 'Escape' && open) {
        event.stopPropagation();
        this.close();
      }
    });
    listen(input, 'keydown', (event) => {
      const { key, shiftKey, isComposing } = event as KeyboardEvent;
      // Enter during IME composition confirms a candidate; it must not send.
      if (key === 'Enter' && !shiftKey && !isComposing) {
        event.preventDefault();
        send();
      }
    });
    listen(input, 'input', () => {
      if (typingOut === undefined) client?.typing('start');
      clearTimeout(typingOut);
      typingOut = setTimeout(() => {
        typingOut = undefined;
        client?.typing('stop');
      }, TYPING_IDLE_MS);
    });
    listen(view.form, 'submit', (event) => {
      event.preventDefault();
      send();
    });
    listen(document, 'visibilitychange', visible);

    let live = true;
    this.#shutdown = () => {
      live = false;
      this.close();
      unwatch();
      client?.disconnect();
      client = null;
      viewport.stop();
      document.removeEventListener('visibilitychange', visible);
      hostElement.remove();
    };

    relabel(view, strings, locale);
    const attach = () => document.body.append(hostElement);
    // An async script may run before <body> exists.
    if (document.body) attach();
    else document.addEventListener('DOMContentLoaded', attach, { once: true });

    // A browser that opened this chat before connects at load, panel closed: the unread count
    // and new messages arrive without a click. On a first visit, nothing happens until the first
    // open. A microtask later, so listeners added right after construction (the embed's queued
    // `Postern('on', …)` calls) hear the first `state` event too.
    let returning = false;
    try {
      returning = hasStoredSession(
        serverAddress(options.serverUrl).origin,
        options.siteToken,
        options.storage ?? 'local',
      );
    } catch {
      // A `serverUrl` that cannot work is reported by the client, on the first open.
    }
    if (returning) queueMicrotask(() => live && connect());
  }

  get isOpen(): boolean {
    return this.#isOpen();
  }

  on<K extends keyof WidgetEvents>(event: K, listener: Listener<WidgetEvents[K]>): () => void {
    return this.#events.on(event, listener);
  }

  off<K extends keyof WidgetEvents>(event: K, listener: Listener<WidgetEvents[K]>): void {
    this.#events.off(event, listener);
  }

  open(): void {
    this.#open();
  }

  /** Closes the panel; focus goes back to the launcher when it was inside the widget. */
  close(): void {
    this.#close();
  }

  toggle(): void {
    if (this.#isOpen()) this.close();
    else this.open();
  }

  /** Switches every string and the panel's direction to `tag`'s locale. */
  setLocale(tag: string): void {
    this.#setLocale(tag);
  }

  /** Disconnects, removes the widget from the page and drops every listener. */
  shutdown(): void {
    this.#shutdown();
  }
}
