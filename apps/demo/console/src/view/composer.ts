/**
 * The reply composer: a labelled textarea where Enter sends and Shift+Enter adds a line (as in
 * the widget, SPEC §7), checked with the protocol's text rules before sending. It reports typing
 * as `start` on the first keystroke and `stop` after a pause, on send and on blur.
 */
import { checkMessageText, type TextProblem, type TypingState } from '@postern/protocol';
import { element } from './element.js';

export interface ComposerDeps {
  /** Sends a checked, trimmed text. */
  readonly onSend: (text: string) => void;
  readonly onTyping: (state: TypingState) => void;
  readonly timers: {
    setTimeout(callback: () => void, ms: number): unknown;
    clearTimeout(handle: unknown): void;
  };
}

export interface Composer {
  readonly element: HTMLFormElement;
  /** Enables or disables replying; `hint` says why when disabled. */
  setEnabled(enabled: boolean, hint: string): void;
  /** Ends typing (the dialog changed or the socket went away). */
  reset(): void;
  focus(): void;
}

/** A pause this long after the last keystroke ends "typing". */
export const TYPING_IDLE_MS = 3_000;

const PROBLEMS: Readonly<Record<TextProblem, string>> = {
  empty: 'Write a message first.',
  too_long: 'The message is too long (at most 4000 characters).',
  control: 'The message contains control characters that cannot be sent.',
  bidi_override: 'The message contains text-direction override characters that cannot be sent.',
  lone_surrogate: 'The message contains a broken character that cannot be sent.',
};

const ENABLED_HINT = 'Enter sends, Shift+Enter adds a line.';

export function createComposer(deps: ComposerDeps): Composer {
  const textarea = element('textarea', {
    attrs: { id: 'reply', name: 'reply', rows: '3', dir: 'auto', 'aria-describedby': 'reply-hint' },
  });
  const hint = element('p', { className: 'hint', text: ENABLED_HINT, attrs: { id: 'reply-hint' } });
  const problem = element('p', { className: 'problem', attrs: { role: 'alert' } });
  const send = element('button', { text: 'Send', attrs: { type: 'submit' } });
  const form = element('form', { className: 'composer' }, [
    element('label', { text: 'Reply', attrs: { for: 'reply' } }),
    textarea,
    element('div', { className: 'composer-row' }, [hint, send]),
    problem,
  ]);

  let typing = false;
  let idleTimer: unknown = null;

  function stopTyping(): void {
    if (idleTimer !== null) deps.timers.clearTimeout(idleTimer);
    idleTimer = null;
    if (!typing) return;
    typing = false;
    deps.onTyping('stop');
  }

  function noteTyping(): void {
    if (textarea.value.trim() === '') {
      stopTyping();
      return;
    }
    if (!typing) {
      typing = true;
      deps.onTyping('start');
    }
    if (idleTimer !== null) deps.timers.clearTimeout(idleTimer);
    idleTimer = deps.timers.setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function submit(): void {
    if (textarea.disabled) return;
    const checked = checkMessageText(textarea.value);
    if (!checked.ok) {
      problem.textContent = PROBLEMS[checked.problem];
      return;
    }
    problem.textContent = '';
    stopTyping();
    deps.onSend(checked.text);
    textarea.value = '';
    textarea.focus();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
  });
  textarea.addEventListener('keydown', (event) => {
    // `isComposing`: Enter that confirms an IME composition (CJK input) must not send.
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    submit();
  });
  textarea.addEventListener('input', () => {
    problem.textContent = '';
    noteTyping();
  });
  textarea.addEventListener('blur', stopTyping);

  return {
    element: form,
    setEnabled(enabled, disabledHint) {
      textarea.disabled = !enabled;
      send.disabled = !enabled;
      hint.textContent = enabled ? ENABLED_HINT : disabledHint;
      if (!enabled) stopTyping();
    },
    reset: stopTyping,
    focus: () => textarea.focus(),
  };
}
