/**
 * Connects the chat to the assistant runner: visitor messages go out while no operator holds the
 * dialog; replies come back as `assistant` messages, failures and overload as one `system`
 * message (SPEC §4: never silence); anything arriving after an operator took over is dropped.
 */

import type { AssistantFailureReason } from '../assistant/outcome.js';
import type { AssistantRunner } from '../assistant/runner.js';
import { ASSISTANT_HISTORY_MAX, type AssistantRequest } from '../assistant/types.js';
import type { DialogRecord, MessageRecord, Store } from '../store/types.js';
import type { AssistantHook } from './service.js';

/** What a visitor reads when the assistant cannot answer: plain words, never the raw reason. */
function failureText(reason: AssistantFailureReason): string {
  return reason === 'overload' || reason === 'rate_limited'
    ? 'The assistant is busy right now. Ask for a person, or try again in a moment.'
    : 'The assistant could not answer just now. Ask for a person and someone will help.';
}

export interface AssistantBridge extends AssistantHook {
  /** The runner's `isStillAssistant`: true while no operator holds the dialog. */
  isStillAssistant(dialogId: string): boolean;
  /** Marks a dialog held (take) or free (release, close, idle return). */
  setHeld(dialogId: string, held: boolean): void;
  reply(request: AssistantRequest, text: string): void;
  fail(request: AssistantRequest, reason: AssistantFailureReason): void;
}

export interface BridgeDeps {
  readonly store: Store;
  readonly runner: () => AssistantRunner;
  /** Posts an assistant or system message into a dialog. */
  readonly post: (dialogId: string, sender: 'assistant' | 'system', text: string) => Promise<void>;
  readonly onError: (error: unknown) => void;
}

export function createAssistantBridge(deps: BridgeDeps): AssistantBridge {
  // Held dialogs, bounded by what operators hold; entries leave on release, close or idle return.
  const held = new Set<string>();

  async function request(
    dialog: DialogRecord,
    message: MessageRecord,
    assistantId: string,
  ): Promise<AssistantRequest> {
    const recent = await deps.store.listMessages(dialog.id, {
      beforeSeq: message.seq,
      limit: ASSISTANT_HISTORY_MAX,
    });
    return {
      siteId: dialog.siteId,
      assistantId,
      dialogId: dialog.id,
      visitorId: dialog.visitorId,
      message: { id: message.id, seq: message.seq, text: message.text, ts: message.ts },
      history: recent.map(({ sender, text, ts }) => ({ sender, text, ts })),
    };
  }

  return {
    visitorMessage(dialog, message, assistantId) {
      if (held.has(dialog.id)) return;
      request(dialog, message, assistantId)
        .then((built) => deps.runner().submit(built))
        .catch(deps.onError);
    },
    handoffChanged(dialog) {
      const answering = dialog.state === 'open' && dialog.handoff !== 'operator';
      // Taken over or closed: a call in flight would only produce a reply nobody should see.
      if (!answering) deps.runner().cancel(dialog.id);
      if (dialog.handoff === 'operator' && dialog.state === 'open') held.add(dialog.id);
      else held.delete(dialog.id);
    },
    isStillAssistant: (dialogId) => !held.has(dialogId),
    setHeld(dialogId, isHeld) {
      if (isHeld) {
        held.add(dialogId);
        deps.runner().cancel(dialogId);
      } else {
        held.delete(dialogId);
      }
    },
    reply(req, text) {
      if (held.has(req.dialogId)) return;
      deps.post(req.dialogId, 'assistant', text).catch(deps.onError);
    },
    fail(req, reason) {
      if (held.has(req.dialogId)) return;
      deps.post(req.dialogId, 'system', failureText(reason)).catch(deps.onError);
    },
  };
}
