/**
 * The script tag's options (SPEC §7), read from its `data-*` attributes. A pure function of the
 * attributes and the script's `src`, so it is tested without a browser.
 */
import type { StorageChoice } from '../client/storage.js';
import type { WidgetOptions } from '../ui/widget.js';

/** The parts of the `<script>` element that configure the widget. */
export interface ScriptTag {
  readonly src: string;
  readonly dataset: Readonly<Record<string, string | undefined>>;
}

export type EmbedConfig =
  | { readonly ok: true; readonly options: WidgetOptions }
  | { readonly ok: false; readonly problem: string };

const STORAGES: readonly string[] = ['local', 'session', 'memory'];

/** An http(s) URL as a server base, or `null`. */
function serverBase(value: string | undefined): URL | null {
  try {
    const url = new URL(value ?? '');
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

/**
 * The widget options of a script tag. `data-server` wins; otherwise the API base is the origin of
 * the script's own `src`. `pageLocale` (the page's `lang`) is the locale when `data-locale` is
 * absent.
 */
export function readEmbedOptions(script: ScriptTag | null, pageLocale = ''): EmbedConfig {
  if (!script) return { ok: false, problem: 'no script element (document.currentScript)' };
  const { siteToken, server, locale, storage, color, position } = script.dataset;
  const token = siteToken?.trim();
  if (!token) return { ok: false, problem: 'data-site-token is missing' };
  const base = server === undefined ? serverBase(script.src) : serverBase(server);
  if (!base) return { ok: false, problem: 'data-server (or the script src) is not an http(s) URL' };
  const options: WidgetOptions = {
    serverUrl: server === undefined ? base.origin : base.href,
    siteToken: token,
    storage: (storage && STORAGES.includes(storage) ? storage : 'local') as StorageChoice,
    locale: locale || pageLocale || 'en',
    ...(color ? { color } : {}),
    ...(position ? { position } : {}),
  };
  return { ok: true, options };
}
