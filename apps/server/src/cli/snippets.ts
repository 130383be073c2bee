/**
 * The embed snippets of a site token (SPEC §7): the plain tag, which always loads the current
 * `/widget.js`, and the tag pinned to this build's immutable `/widget/<version>/widget.js` with
 * Subresource Integrity, so a compromised or altered script is refused by the browser.
 */
import { createHash } from 'node:crypto';
import { Paths, versionedWidgetPath } from '@postern/protocol';
import type { WidgetScript } from '../http/widget-script.js';

export interface EmbedSnippets {
  readonly latest: string;
  readonly pinned: string;
  /** `sha384-<base64>` of the exact bytes the server serves. */
  readonly integrity: string;
  readonly version: string;
}

/** The SRI value of `body` (sha384: what browsers and the SRI spec recommend). */
export function subresourceIntegrity(body: Uint8Array): string {
  return `sha384-${createHash('sha384').update(body).digest('base64')}`;
}

/**
 * Both snippets. `server` is a normalised origin and `siteToken` a compact JWS (base64url and
 * dots), so neither can break out of its attribute.
 */
export function embedSnippets(
  server: string,
  siteToken: string,
  widget: WidgetScript,
): EmbedSnippets {
  const integrity = subresourceIntegrity(widget.body);
  const latest = `<script async src="${server}${Paths.WIDGET_SCRIPT}" data-site-token="${siteToken}"></script>`;
  const pinned =
    `<script async src="${server}${versionedWidgetPath(widget.version)}" ` +
    `integrity="${integrity}" crossorigin="anonymous" data-site-token="${siteToken}"></script>`;
  return { latest, pinned, integrity, version: widget.version };
}
