/**
 * The widget's DOM: a launcher button and a chat panel inside an open shadow root. Static labels
 * carry their string key (`data-t` for text, `data-l` for `aria-label`, `data-p` for the
 * placeholder), so switching the locale relabels everything in one pass.
 */
import { h, icon } from './dom.js';
import type { Strings, TextKey } from './strings.js';

/** Element ids are scoped to the shadow root, so `aria-controls` works without clashing. */
const PANEL_ID = 'postern-panel';

export interface View {
  readonly host: HTMLElement;
  readonly root: ShadowRoot;
  readonly launcher: HTMLButtonElement;
  readonly launcherLabel: HTMLElement;
  readonly badge: HTMLElement;
  readonly panel: HTMLElement;
  readonly closeButton: HTMLButtonElement;
  readonly status: HTMLElement;
  readonly statusText: HTMLElement;
  readonly retry: HTMLButtonElement;
  readonly log: HTMLDivElement;
  readonly typing: HTMLElement;
  readonly note: HTMLElement;
  readonly handoff: HTMLButtonElement;
  readonly form: HTMLFormElement;
  readonly input: HTMLTextAreaElement;
}

const text = (key: TextKey, attributes: Record<string, string> = {}) =>
  h('span', { 'data-t': key, ...attributes });

export function createView(): View {
  const host = document.createElement('postern-widget');
  const root = host.attachShadow({ mode: 'open' });
  const launcherLabel = text('open', { class: 'sr' });
  const badge = h('span', { class: 'badge', role: 'img', hidden: '' });
  const launcher = h(
    'button',
    { class: 'launcher', type: 'button', 'aria-expanded': 'false', 'aria-controls': PANEL_ID },
    icon('chat'),
    launcherLabel,
    badge,
  );
  const closeButton = h('button', { type: 'button', 'data-l': 'close' }, icon('close'));
  const statusText = h('span');
  const retry = h('button', { type: 'button', 'data-t': 'retry', hidden: '' });
  const status = h('p', { class: 'status', role: 'status', hidden: '' }, statusText, retry);
  // role=log is a live region already; aria-live is explicit for older screen readers. A div,
  // not a list: the role would strip list semantics and leave orphaned list items (axe listitem).
  const log = h('div', { class: 'log', role: 'log', 'aria-live': 'polite', 'data-l': 'title' });
  const typing = h('p', { class: 'typing', 'aria-live': 'polite', hidden: '' });
  const note = h('p', { class: 'note', 'data-t': 'handoffRequested', hidden: '' });
  const handoff = h('button', { class: 'handoff', type: 'button', 'data-t': 'handoff' });
  const input = h('textarea', { rows: '1', 'data-l': 'message', 'data-p': 'placeholder' });
  const send = h('button', { class: 'send', type: 'submit', 'data-l': 'send' }, icon('send'));
  const form = h('form', {}, input, send);
  const panel = h(
    'section',
    { id: PANEL_ID, class: 'panel', role: 'dialog', 'data-l': 'title', hidden: '' },
    h('div', { class: 'head' }, h('h2', { 'data-t': 'title' }), closeButton),
    status,
    log,
    typing,
    note,
    handoff,
    form,
  );
  root.append(panel, launcher);
  return {
    host,
    root,
    launcher,
    launcherLabel,
    badge,
    panel,
    closeButton,
    status,
    statusText,
    retry,
    log,
    typing,
    note,
    handoff,
    form,
    input,
  };
}

/** Writes every static label of `view` in `strings`. */
export function relabel(view: View, strings: Strings, locale: string): void {
  const { root, panel, launcher } = view;
  for (const node of root.querySelectorAll<HTMLElement>('[data-t]')) {
    node.textContent = strings[node.dataset['t'] as TextKey];
  }
  for (const node of root.querySelectorAll<HTMLElement>('[data-l]')) {
    node.setAttribute('aria-label', strings[node.dataset['l'] as TextKey]);
  }
  for (const node of root.querySelectorAll<HTMLElement>('[data-p]')) {
    node.setAttribute('placeholder', strings[node.dataset['p'] as TextKey]);
  }
  for (const node of [panel, launcher]) {
    node.dir = strings.dir;
    node.lang = locale;
  }
  panel.dataset['locale'] = locale;
}
