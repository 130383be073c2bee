/**
 * The message list. Messages this page sent show at once (from the outbox) and are matched to
 * the server's copy by `client_msg_id`, so each shows once; everything else is appended as it
 * arrives, in `seq` order as the client delivers it. Text goes in as a text node, never as markup.
 */
import type { ChatMessage, Sender } from '@postern/protocol';
import type { OutboxEntry } from '../client/outbox.js';
import { h } from './dom.js';
import type { Strings } from './strings.js';

export class MessageLog {
  readonly #list: HTMLDivElement;
  readonly #strings: () => Strings;
  /** Bubbles of messages this page sent, by `client_msg_id`, until the server's copy arrives. */
  readonly #mine = new Map<string, HTMLElement>();

  constructor(list: HTMLDivElement, strings: () => Strings) {
    this.#list = list;
    this.#strings = strings;
  }

  /** A message of the dialog; this page's own is already on screen. */
  add(message: ChatMessage): void {
    const id = message.client_msg_id ?? '';
    const mine = this.#mine.get(id);
    if (mine) {
      this.#mine.delete(id);
      mine.removeAttribute('data-pending');
    } else {
      this.#bubble(message.sender, message.text);
    }
  }

  /** A message this page sent, from `queued` to `acked` or `failed`. */
  outbox(entry: OutboxEntry): void {
    let bubble = this.#mine.get(entry.id);
    if (!bubble && entry.status !== 'acked') {
      bubble = this.#bubble('visitor', entry.text);
      bubble.toggleAttribute('data-pending', true);
      this.#mine.set(entry.id, bubble);
    }
    if (bubble && entry.status === 'failed') {
      this.#mine.delete(entry.id);
      bubble.append(h('small', { 'data-t': 'notSent' }, this.#strings().notSent));
    }
  }

  /** A new dialog (the old one was gone, 4004): only this page's unsent messages stay. */
  restart(): void {
    const keep = new Set<Element>(this.#mine.values());
    for (const item of [...this.#list.children]) if (!keep.has(item)) item.remove();
  }

  scroll(): void {
    this.#list.scrollTop = this.#list.scrollHeight;
  }

  #bubble(sender: Sender, text: string): HTMLElement {
    const bubble = h(
      'div',
      { class: 'msg', 'data-sender': sender },
      // Who said it, for screen readers; the bubble's side and colour say it visually.
      h('span', { class: 'sr', 'data-t': sender }, this.#strings()[sender]),
      h('p', { dir: 'auto' }, text),
    );
    this.#list.append(bubble);
    this.scroll();
    return bubble;
  }
}
