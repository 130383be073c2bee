/**
 * Script-tag entry (`widget.js`). Reads its configuration from its own `<script>` element at
 * evaluation time (SPEC §7) and takes over the `window.Postern` queue stub.
 */
import { type EmbedCommand, isEmbedCommand } from './commands.js';

interface QueuedCall {
  readonly command: EmbedCommand;
  readonly args: readonly unknown[];
}

type PosternGlobal = ((...args: unknown[]) => void) & { q?: ArrayLike<ArrayLike<unknown>> };

// `currentScript` is only set while this script is being evaluated, so it is read right now.
const script = document.currentScript instanceof HTMLScriptElement ? document.currentScript : null;
const pending: QueuedCall[] = [];

function enqueue(args: ArrayLike<unknown>): void {
  const [command, ...rest] = Array.from(args);
  if (isEmbedCommand(command)) pending.push({ command, args: rest });
}

const host = window as unknown as { Postern?: PosternGlobal };
const stub = host.Postern;
for (const call of Array.from(stub?.q ?? [])) enqueue(call);
host.Postern = (...args: unknown[]) => enqueue(args);
if (script) script.dataset['posternLoaded'] = 'true';
