/**
 * The messages of the dialog on screen: a `role="log"` region, so screen readers
 * announce new messages politely. Children are keyed and reconciled, never rebuilt, so only
 * real additions are announced. Every text goes in with `textContent` and `dir="auto"`: visitor
 * text is text, in whatever direction it is written.
 */
import type { ChatMessage } from '@postern/protocol';
import type { MessageLog, PendingMessage } from '../message-log.js';
import { REFUSALS, SENDER_LABELS } from '../wording.js';
import { button, element } from './element.js';
import { timeElement } from './time-format.js';

export interface PendingActions {
  readonly onRetry: (clientMsgId: string) => void;
  readonly onDiscard: (clientMsgId: string) => void;
}

export interface MessageListView {
  readonly element: HTMLDivElement;
  /** Shows `log`; `busy` marks a history load (announcements held back meanwhile). */
  render(log: MessageLog | null, busy: boolean, now: number): void;
}

function messageItem(message: ChatMessage, now: number): HTMLElement {
  return element('div', { className: `message message--${message.sender}` }, [
    element('p', { className: 'message-meta' }, [
      element('span', { className: 'message-sender', text: SENDER_LABELS[message.sender] }),
      document.createTextNode(' · '),
      timeElement(message.ts, now),
    ]),
    element('p', { className: 'message-text', text: message.text, attrs: { dir: 'auto' } }),
  ]);
}

function pendingItem(item: PendingMessage, actions: PendingActions): HTMLElement {
  const status =
    item.status === 'refused'
      ? REFUSALS[item.refusal ?? 'invalid']
      : item.status === 'acked'
        ? 'Sent'
        : 'Sending…';
  const children: Node[] = [
    element('p', { className: 'message-meta' }, [
      element('span', { className: 'message-sender', text: 'You' }),
      document.createTextNode(' · '),
      element('span', { className: 'message-status', text: status }),
    ]),
    element('p', { className: 'message-text', text: item.text, attrs: { dir: 'auto' } }),
  ];
  if (item.status === 'refused') {
    children.push(
      element('p', { className: 'message-actions' }, [
        button('Try again', () => actions.onRetry(item.clientMsgId), { className: 'secondary' }),
        button('Discard', () => actions.onDiscard(item.clientMsgId), { className: 'secondary' }),
      ]),
    );
  }
  return element(
    'div',
    { className: `message message--operator message--${item.status}` },
    children,
  );
}

interface Keyed {
  readonly key: string;
  readonly build: () => HTMLElement;
}

function keyedItems(log: MessageLog, now: number, actions: PendingActions): Keyed[] {
  return [
    ...log.messages.map((message) => ({
      key: `m:${message.seq}`,
      build: () => messageItem(message, now),
    })),
    // The status is part of the key: a status change replaces the item.
    ...log.pending.map((item) => ({
      key: `p:${item.clientMsgId}:${item.status}`,
      build: () => pendingItem(item, actions),
    })),
  ];
}

export function createMessageListView(actions: PendingActions): MessageListView {
  // A div, not a list: role=log strips list semantics and leaves orphaned items (axe listitem).
  const list = element('div', {
    className: 'messages',
    attrs: { role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages', tabindex: '0' },
  });
  const byKey = new Map<string, HTMLElement>();
  let shownDialog: string | null = null;

  return {
    element: list,
    render(log, busy, now) {
      list.setAttribute('aria-busy', String(busy));
      if (log === null || log.dialogId !== shownDialog) {
        byKey.clear();
        list.replaceChildren();
        shownDialog = log?.dialogId ?? null;
      }
      if (log === null) return;
      const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
      const heightBefore = list.scrollHeight;
      const firstBefore = list.firstElementChild;
      const wanted = keyedItems(log, now, actions);
      const keep = new Set(wanted.map((item) => item.key));
      for (const [key, node] of byKey) {
        if (keep.has(key)) continue;
        node.remove();
        byKey.delete(key);
      }
      wanted.forEach((item, index) => {
        let node = byKey.get(item.key);
        if (node === undefined) {
          node = item.build();
          byKey.set(item.key, node);
        }
        const current = list.children[index] ?? null;
        if (current !== node) list.insertBefore(node, current);
      });
      if (firstBefore !== null && list.firstElementChild !== firstBefore && !atBottom) {
        // Earlier messages were added above: keep what the reader was looking at in place.
        list.scrollTop += list.scrollHeight - heightBefore;
      } else if (atBottom || firstBefore === null) {
        list.scrollTop = list.scrollHeight;
      }
    },
  };
}
