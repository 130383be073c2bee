/**
 * Console entry: reads where the Postern server is, builds the views, wires them to the console
 * logic and the browser (fetch, WebSocket, timers, visibility), and starts connecting.
 */
import './console.css';
import { browserSocket } from './connection.js';
import { type ConsoleApp, createConsoleApp } from './console-app.js';
import { devTokenSource, tokenKeeper } from './token-source.js';
import { randomUuid } from './uuid.js';
import { createComposer } from './view/composer.js';
import { createConversationView } from './view/conversation-view.js';
import { createDialogListView } from './view/dialog-list-view.js';
import { element } from './view/element.js';
import { createStatusView } from './view/status-view.js';

const DIRECTIONS = new Set(['ltr', 'rtl']);

/** The Postern server origin, from the demo server's `/config.json`. */
async function readServerOrigin(): Promise<string> {
  const response = await fetch('/config.json', { cache: 'no-store' });
  const body: unknown = await response.json();
  const value =
    typeof body === 'object' && body !== null
      ? (body as Record<string, unknown>)['server_url']
      : null;
  if (typeof value !== 'string' || !/^https?:\/\/[^/]+$/.test(value)) {
    throw new Error('config.json has no server_url');
  }
  return value;
}

/** `?dir=rtl` previews the console right to left (everything uses logical properties). */
function applyDirection(): void {
  const requested = new URLSearchParams(location.search).get('dir');
  if (requested !== null && DIRECTIONS.has(requested)) document.documentElement.dir = requested;
}

const timers = {
  setTimeout: (callback: () => void, ms: number): unknown => window.setTimeout(callback, ms),
  clearTimeout: (handle: unknown) => window.clearTimeout(handle as number),
};

function mount(serverOrigin: string): void {
  // Views call into the app, which is created after them (it needs the view to render into).
  let app: ConsoleApp | null = null;
  const composer = createComposer({
    onSend: (text) => app?.send(text),
    onTyping: (state) => app?.typing(state),
    timers,
  });
  const status = createStatusView(() => app?.reconnect());
  const dialogs = createDialogListView((id) => {
    app?.select(id);
    document.getElementById('conversation-heading')?.focus();
  });
  const conversation = createConversationView(
    {
      onHandoff: (action) => app?.handoff(action),
      onLoadEarlier: () => app?.loadEarlier(),
      onRetry: (id) => app?.retryPending(id),
      onDiscard: (id) => app?.discardPending(id),
    },
    composer,
  );
  const header = element('header', { className: 'top' }, [
    element('h1', { text: 'Postern operator console' }),
    status.element,
  ]);
  const skip = element('a', {
    className: 'skip',
    text: 'Skip to the conversation',
    attrs: { href: '#conversation' },
  });
  document.body.replaceChildren(
    skip,
    header,
    element('div', { className: 'layout' }, [dialogs.element, conversation.element]),
  );

  app = createConsoleApp({
    serverOrigin,
    tokens: tokenKeeper(
      devTokenSource((input, init) => fetch(input, init)),
      Date.now,
    ),
    fetch: (input, init) => fetch(input, init),
    openSocket: browserSocket(WebSocket),
    random: Math.random,
    timers,
    now: Date.now,
    uuid: randomUuid,
    view: {
      renderStatus: status.render,
      renderDialogs: dialogs.render,
      renderConversation: conversation.render,
    },
    onError: (error) => console.warn('postern console:', error),
  });
  const started = app;
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') started.visible();
  });
  started.start();
}

applyDirection();
readServerOrigin().then(mount, () => {
  document.body.replaceChildren(
    element('main', {}, [
      element('h1', { text: 'Postern operator console' }),
      element('p', {
        text: 'The console could not read its configuration. Is the demo server running?',
        attrs: { role: 'alert' },
      }),
    ]),
  );
});
