/**
 * The SDK's built ES module (`packages/widget-sdk/dist/index.js`) served to the browser as a
 * frontend developer's app would load it, with an import map for its two bare imports
 * (`@postern/protocol` and `reconnecting-websocket`). Pages that need the headless
 * `PosternClient` (a custom `getToken`, say) import it from `/sdk/widget-sdk/index.js`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { inRepository } from './repository.js';
import type { VirtualHosts } from './virtual-hosts.js';

const PACKAGES = inRepository('packages/');
const SDK_DIST = new URL('widget-sdk/dist/', PACKAGES);
const PROTOCOL_DIST = new URL('protocol/dist/', PACKAGES);
const RECONNECTING = new URL(
  'widget-sdk/node_modules/reconnecting-websocket/dist/reconnecting-websocket-mjs.js',
  PACKAGES,
);

/** Where the page imports the SDK from. */
export const SDK_MODULE = '/sdk/widget-sdk/index.js';

/**
 * Serves the SDK and its dependencies on `host` and returns the `<script type="importmap">`
 * element that resolves the bare imports.
 */
export function serveSdkModules(origins: VirtualHosts, host: string): string {
  const read = (url: URL) => readFileSync(url, 'utf8');
  origins.script(host, SDK_MODULE, read(new URL('index.js', SDK_DIST)));
  for (const name of readdirSync(fileURLToPath(PROTOCOL_DIST))) {
    if (name.endsWith('.js')) {
      origins.script(host, `/sdk/protocol/${name}`, read(new URL(name, PROTOCOL_DIST)));
    }
  }
  origins.script(host, '/sdk/reconnecting-websocket.js', read(RECONNECTING));
  const imports = {
    '@postern/protocol': '/sdk/protocol/index.js',
    'reconnecting-websocket': '/sdk/reconnecting-websocket.js',
  };
  return `<script type="importmap">${JSON.stringify({ imports })}</script>`;
}
