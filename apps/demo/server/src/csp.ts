/**
 * Content-Security-Policy of the demo pages. The host pages use the policy SPEC §7 promises the
 * widget works under (plus `'self'` for the shop's own stylesheet); the console gets a strict
 * one with no inline code at all and Trusted Types enforced, since it renders visitor text.
 */

/** `ws:`/`wss:` origin of an `http:`/`https:` origin (the WebSocket goes to the same host). */
export function socketOrigin(httpOrigin: string): string {
  return httpOrigin.replace(/^http/, 'ws');
}

/**
 * The host page policy of SPEC §7 with `W` = the Postern server: only the nonce'd inline stub and
 * scripts from `W`; connections to `W` and its WebSocket; styles, images and fonts from `W`.
 */
export function hostPageCsp(nonce: string, serverOrigin: string): string {
  const w = serverOrigin;
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' ${w}`,
    `connect-src ${w} ${socketOrigin(w)}`,
    `style-src 'self' ${w}`,
    `img-src 'self' ${w} data:`,
    `font-src ${w}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The operator console's policy: same-origin code and styles, the Postern API and socket. */
export function consoleCsp(serverOrigin: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self' ${serverOrigin} ${socketOrigin(serverOrigin)}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    // No string ever becomes markup in the console: any sink use is a bug, refused by the browser.
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}
