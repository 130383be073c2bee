/**
 * The script-tag build, read once at start-up and served from memory: `/widget.js` (cacheable for
 * five minutes, so a release reaches every page quickly) and `/widget/<version>/widget.js`
 * (immutable, for snippets with `integrity`).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { SDK_VERSION } from '@postern/widget-sdk';

export interface WidgetScript {
  readonly version: string;
  readonly body: Buffer;
}

/** Loads the built `widget.js` of `@postern/widget-sdk`; throws when the SDK was not built. */
export function loadWidgetScript(): WidgetScript {
  const require = createRequire(import.meta.url);
  const path = require.resolve('@postern/widget-sdk/widget.js');
  return { version: SDK_VERSION, body: readFileSync(path) };
}

const COMMON_HEADERS = {
  'Content-Type': 'text/javascript; charset=utf-8',
  'X-Content-Type-Options': 'nosniff',
  // Host pages on any origin load it with a plain <script> (and with crossorigin for SRI).
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'Access-Control-Allow-Origin': '*',
} as const;

/** Headers for `/widget.js`: short cache, so it is not usable with SRI. */
export function latestHeaders(script: WidgetScript): Record<string, string | number> {
  return {
    ...COMMON_HEADERS,
    'Cache-Control': 'public, max-age=300',
    'Content-Length': script.body.length,
  };
}

/** Headers for the versioned build: never changes, cached for a year. */
export function versionedHeaders(script: WidgetScript): Record<string, string | number> {
  return {
    ...COMMON_HEADERS,
    'Cache-Control': 'public, max-age=31536000, immutable',
    'Content-Length': script.body.length,
  };
}
