/**
 * The `window.Postern` command function. Calls made before `widget.js` loaded sit in the queue
 * stub of SPEC §7 (`Postern.q`, a list of `arguments` objects); they are replayed in order, then
 * the stub is replaced by the live function.
 */
import { isEmbedCommand, isEmbedEvent } from '../commands.js';
import type { WidgetEvents } from '../ui/widget.js';

/** What the commands act on: the widget, or a fake in tests. */
export interface Commandable {
  open(): void;
  close(): void;
  toggle(): void;
  shutdown(): void;
  setLocale(tag: string): void;
  on<K extends keyof WidgetEvents>(event: K, listener: (payload: WidgetEvents[K]) => void): unknown;
  off<K extends keyof WidgetEvents>(event: K, listener: (payload: WidgetEvents[K]) => void): void;
}

/** The live `window.Postern`; `version` marks it, so a second copy of the script stands down. */
export type PosternFunction = ((...args: unknown[]) => void) & { readonly version: string };

/** The calls the queue stub collected, oldest first; nothing when there is no stub. */
export function drainQueue(stub: unknown): unknown[][] {
  const queue = typeof stub === 'function' ? (stub as { q?: unknown }).q : undefined;
  if (!Array.isArray(queue)) return [];
  return queue.flatMap((call) =>
    call !== null && typeof call === 'object' && 'length' in call
      ? [Array.from(call as ArrayLike<unknown>)]
      : [],
  );
}

/** Whether `value` is the live function of an already loaded copy of the script. */
export function isLive(value: unknown): value is PosternFunction {
  return (
    typeof value === 'function' && typeof (value as { version?: unknown }).version === 'string'
  );
}

/**
 * Runs one `Postern(command, …args)` call. Unknown commands and malformed arguments are ignored
 * with a warning: a typo in a host page must never break the page or the widget.
 */
export function runCommand(target: Commandable | null, args: readonly unknown[]): void {
  const problem = apply(target, args);
  if (problem) console.warn(`Postern: ${problem}`);
}

/** Runs a call; returns what was wrong with it, if anything. */
function apply(target: Commandable | null, args: readonly unknown[]): string | null {
  const [command, first, second] = args;
  if (!isEmbedCommand(command)) return `unknown command ${String(command)}`;
  if (!target) return `${command} ignored: the widget is not running`;
  switch (command) {
    case 'on':
    case 'off':
      if (!isEmbedEvent(first) || typeof second !== 'function') {
        return `${command} needs an event name and a function`;
      }
      target[command](first, second as (payload: unknown) => void);
      return null;
    case 'locale':
      if (typeof first !== 'string') return 'locale needs a language tag';
      target.setLocale(first);
      return null;
    default:
      target[command]();
      return null;
  }
}

/** The live function over `target`: runs each call at once; after `shutdown`, nothing. */
export function createPostern(target: Commandable | null, version: string): PosternFunction {
  let current = target;
  const postern = (...args: unknown[]) => {
    runCommand(current, args);
    if (args[0] === 'shutdown') current = null;
  };
  return Object.assign(postern, { version });
}
