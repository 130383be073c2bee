/**
 * The selected dialog (the main landmark): heading and handoff state, the Take / Release /
 * Close buttons enabled per state, notices in plain words, the message log with "Load earlier",
 * who is typing, and the composer.
 */
import type { DialogSummary, HandoffAction, Sender } from '@postern/protocol';
import type { MessageLog } from '../message-log.js';
import { HANDOFF_LABELS, SENDER_LABELS } from '../wording.js';
import type { Composer } from './composer.js';
import { dialogLabel } from './dialog-list-view.js';
import { button, element, setShown } from './element.js';
import { createMessageListView, type PendingActions } from './message-list-view.js';

export interface ConversationModel {
  /** The selected dialog's latest summary (kept after it closed), or `null`. */
  readonly dialog: DialogSummary | null;
  readonly log: MessageLog | null;
  readonly loadingHistory: boolean;
  readonly hasEarlier: boolean;
  /** Who is typing in the dialog (never this operator), or `null`. */
  readonly typing: Sender | null;
  /** The last refusal or failure, in words. */
  readonly notice: string | null;
  readonly connected: boolean;
  readonly now: number;
}

export interface ConversationActions extends PendingActions {
  readonly onHandoff: (action: Exclude<HandoffAction, 'request'>) => void;
  readonly onLoadEarlier: () => void;
}

export interface ConversationView {
  readonly element: HTMLElement;
  render(model: ConversationModel): void;
}

/** Which actions the handoff state allows (SPEC §4 "Operators"); the server has the last word. */
export function allowedActions(dialog: DialogSummary | null, connected: boolean) {
  const state = dialog?.state === 'closed' ? 'closed' : dialog?.handoff.state;
  const live = connected && dialog !== null && state !== 'closed';
  return {
    take: live && (state === 'assistant' || state === 'requested'),
    release: live && state === 'operator',
    close: live && state === 'operator',
    reply: dialog !== null && state === 'operator',
  };
}

function replyHint(dialog: DialogSummary | null): string {
  if (dialog === null) return 'Select a dialog to reply.';
  if (dialog.state === 'closed' || dialog.handoff.state === 'closed') {
    return 'This dialog is closed.';
  }
  return 'Take the dialog to reply.';
}

function stateLine(dialog: DialogSummary): string {
  const state = dialog.state === 'closed' ? 'closed' : dialog.handoff.state;
  const holder = dialog.handoff.operator?.name;
  const label = HANDOFF_LABELS[state];
  return `Site ${dialog.site_id} · ${holder && state === 'operator' ? `${label}: ${holder}` : label}`;
}

export function createConversationView(
  actions: ConversationActions,
  composer: Composer,
): ConversationView {
  const heading = element('h2', {
    text: 'No dialog selected',
    attrs: { id: 'conversation-heading', tabindex: '-1' },
  });
  const meta = element('p', { className: 'meta' });
  const take = button('Take', () => actions.onHandoff('take'));
  const release = button('Release', () => actions.onHandoff('release'), {
    className: 'secondary',
  });
  const close = button('Close dialog', () => actions.onHandoff('close'), {
    className: 'danger',
  });
  const toolbar = element(
    'div',
    {
      className: 'actions',
      attrs: { role: 'group', 'aria-label': 'Dialog actions' },
    },
    [take, release, close],
  );
  const notice = element('p', { className: 'notice', attrs: { role: 'alert' } });
  const earlier = button('Load earlier messages', actions.onLoadEarlier, {
    className: 'secondary earlier',
  });
  const messages = createMessageListView(actions);
  const typing = element('p', { className: 'typing', attrs: { 'aria-live': 'polite' } });
  const placeholder = element('p', {
    className: 'empty',
    text: 'Choose a dialog from the list to read it and reply.',
  });
  const root = element(
    'main',
    {
      className: 'conversation',
      attrs: { id: 'conversation', 'aria-labelledby': 'conversation-heading' },
    },
    [
      heading,
      meta,
      toolbar,
      notice,
      placeholder,
      earlier,
      messages.element,
      typing,
      composer.element,
    ],
  );
  let shownDialogId: string | null = null;

  return {
    element: root,
    render(model) {
      const { dialog } = model;
      const focused = document.activeElement;
      if ((dialog?.dialog_id ?? null) !== shownDialogId) {
        // A new dialog: typing in the old one ends.
        composer.reset();
        shownDialogId = dialog?.dialog_id ?? null;
      }
      heading.textContent = dialog ? dialogLabel(dialog.dialog_id) : 'No dialog selected';
      meta.textContent = dialog ? stateLine(dialog) : '';
      const allowed = allowedActions(dialog, model.connected);
      take.disabled = !allowed.take;
      release.disabled = !allowed.release;
      close.disabled = !allowed.close;
      setShown(toolbar, dialog !== null);
      setShown(placeholder, dialog === null);
      notice.textContent = model.notice ?? '';
      setShown(earlier, model.hasEarlier);
      earlier.disabled = model.loadingHistory;
      messages.render(model.log, model.loadingHistory, model.now);
      setShown(messages.element, dialog !== null);
      typing.textContent = model.typing ? `${SENDER_LABELS[model.typing]} is typing…` : '';
      composer.setEnabled(allowed.reply, replyHint(dialog));
      setShown(composer.element, dialog !== null);
      // A button that just got disabled (Take after taking) drops focus to the page; keep the
      // keyboard user where the work continues instead.
      if (focused instanceof HTMLButtonElement && root.contains(focused) && focused.disabled) {
        if (allowed.reply) composer.focus();
        else heading.focus();
      }
    },
  };
}
