/**
 * Script-tag entry (`widget.js`, an IIFE). Reads its options from its own `<script>` element at
 * evaluation time (SPEC §7), replays the calls queued by the `window.Postern` stub and replaces
 * the stub with the live command function. A second copy of the script on the same page finds
 * the live function and does nothing, so the widget never shows twice.
 */

import { readEmbedOptions } from './embed/options.js';
import { createPostern, drainQueue, isLive } from './embed/queue.js';
import { ChatWidget } from './ui/widget.js';
import { SDK_VERSION } from './version.js';

const page = window as unknown as { Postern?: unknown };

if (!isLive(page.Postern)) {
  // `currentScript` is only set while this script is being evaluated, so it is read right now.
  const script =
    document.currentScript instanceof HTMLScriptElement ? document.currentScript : null;
  const config = readEmbedOptions(script, document.documentElement.lang);
  if (!config.ok) console.warn(`Postern: ${config.problem}`);
  const queued = drainQueue(page.Postern);
  const postern = createPostern(config.ok ? new ChatWidget(config.options) : null, SDK_VERSION);
  page.Postern = postern;
  for (const call of queued) postern(...call);
}
