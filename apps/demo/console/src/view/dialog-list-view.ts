/**
 * The dialog list (a navigation landmark): one button per live dialog with its site, handoff
 * state, last activity and an unread marker. Arrow keys, Home and End move between rows; the
 * selected row has `aria-current`. Re-rendered whole on change, keeping focus on its row.
 */
import type { DialogRow } from '../dialog-list.js';
import { HANDOFF_LABELS } from '../wording.js';
import { element, setShown } from './element.js';
import { timeElement } from './time-format.js';

export interface DialogListModel {
  readonly rows: readonly DialogRow[];
  readonly selectedId: string | null;
  readonly truncated: boolean;
  readonly connected: boolean;
  readonly now: number;
}

export interface DialogListView {
  readonly element: HTMLElement;
  render(model: DialogListModel): void;
}

/** A short, stable label for an opaque dialog id. */
export function dialogLabel(dialogId: string): string {
  return `Dialog ${dialogId.slice(0, 8)}`;
}

function rowButton(row: DialogRow, selected: boolean, now: number, onSelect: (id: string) => void) {
  const parts: Node[] = [
    element('span', { className: 'row-title', text: dialogLabel(row.dialog_id) }),
    element('span', { className: 'row-site', text: `Site ${row.site_id}` }),
    element('span', {
      className: `row-state row-state--${row.handoff.state}`,
      text: HANDOFF_LABELS[row.handoff.state],
    }),
    element('span', { className: 'row-time' }, [
      document.createTextNode('Last activity '),
      timeElement(row.last_message_at, now),
    ]),
  ];
  // A word, not only a dot: the marker must not rely on colour.
  if (row.unread) parts.push(element('span', { className: 'row-unread', text: 'New' }));
  const node = element(
    'button',
    {
      className: 'row',
      attrs: { type: 'button', 'data-dialog-id': row.dialog_id },
    },
    parts,
  );
  if (selected) node.setAttribute('aria-current', 'true');
  node.addEventListener('click', () => onSelect(row.dialog_id));
  return element('li', {}, [node]);
}

function moveFocus(list: HTMLElement, event: KeyboardEvent): void {
  const buttons = [...list.querySelectorAll<HTMLButtonElement>('button.row')];
  const index = buttons.indexOf(document.activeElement as HTMLButtonElement);
  if (index === -1) return;
  const targets: Record<string, number> = {
    ArrowDown: Math.min(index + 1, buttons.length - 1),
    ArrowUp: Math.max(index - 1, 0),
    Home: 0,
    End: buttons.length - 1,
  };
  const target = targets[event.key];
  if (target === undefined) return;
  event.preventDefault();
  buttons[target]?.focus();
}

export function createDialogListView(onSelect: (dialogId: string) => void): DialogListView {
  const heading = element('h2', { text: 'Live dialogs', attrs: { id: 'dialogs-heading' } });
  const empty = element('p', { className: 'empty', text: 'No open dialogs yet.' });
  const truncated = element('p', {
    className: 'notice',
    text: 'More open dialogs exist than the server listed; the oldest are not shown.',
    attrs: { role: 'status' },
  });
  const list = element('ul', {
    className: 'rows',
    attrs: { 'aria-labelledby': 'dialogs-heading' },
  });
  list.addEventListener('keydown', (event) => moveFocus(list, event));
  const root = element(
    'nav',
    { className: 'dialogs', attrs: { 'aria-labelledby': 'dialogs-heading' } },
    [heading, truncated, empty, list],
  );
  setShown(truncated, false);

  return {
    element: root,
    render(model) {
      const focused = (document.activeElement as HTMLElement | null)?.dataset?.['dialogId'];
      list.replaceChildren(
        ...model.rows.map((row) =>
          rowButton(row, row.dialog_id === model.selectedId, model.now, onSelect),
        ),
      );
      setShown(truncated, model.truncated);
      setShown(empty, model.rows.length === 0);
      empty.textContent = model.connected ? 'No open dialogs yet.' : 'Not connected.';
      if (focused !== undefined) {
        const again = [...list.querySelectorAll<HTMLButtonElement>('button.row')].find(
          (node) => node.dataset['dialogId'] === focused,
        );
        again?.focus();
      }
    },
  };
}
