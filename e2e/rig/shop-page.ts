/**
 * A shop page on its own origin embedding the real `widget.js` with the snippet of SPEC §7, under
 * the host CSP of SPEC §7 (nonce'd inline scripts, everything else only from the Postern server)
 * with Trusted Types enforced, and a recorder of the widget's events. Every widget test builds on
 * it, so every one of them also shows the widget working under that policy.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { expect, type Page } from '@playwright/test';
import type { PosternServer } from './postern-server.js';
import type { VirtualHosts } from './virtual-hosts.js';

/** The shop's host name; site tokens allow it (and so its subdomains). */
export const SHOP = 'shop.example';
/** The Postern server's host name as pages reach it. */
export const CHAT = 'chat.example';
const NONCE = 'c2hvcC1ub25jZS0xMjM0NTY3OA';
const STUB = `window.Postern=window.Postern||function(){(window.Postern.q=window.Postern.q||[]).push(arguments)}`;

/**
 * Subscribes to every widget event through the queue stub, before widget.js loads, and keeps
 * them as plain data (`window.__postern`), so a test can read what the page's own code would see.
 */
const RECORDER = `window.__postern={events:[]};
['ready','state','message','unread','error'].forEach(function(name){
  Postern('on',name,function(payload){
    var data=payload instanceof Error?{code:payload.code,message:payload.message}:JSON.parse(JSON.stringify(payload===undefined?null:payload));
    window.__postern.events.push({name:name,at:Date.now(),payload:data});
  });
});`;

export interface ShopOptions {
  readonly siteToken: string;
  /** The page's host (default {@link SHOP}); it decides the page's origin. */
  readonly host?: string;
  readonly path?: string;
  /** `data-locale` of the script tag. */
  readonly locale?: string;
  /** `data-storage` of the script tag. */
  readonly storage?: 'local' | 'session' | 'memory';
  /** `data-color` of the script tag. */
  readonly color?: string;
  /** `data-position` of the script tag. */
  readonly position?: string;
  /** `data-server` of the script tag. */
  readonly server?: string;
  /**
   * Where the script tag loads widget.js from (default `/widget.js` of the Postern server as
   * {@link CHAT}); `script-src` also allows its origin.
   */
  readonly scriptSrc?: string;
  /** The page's own stylesheet, served at `/shop.css` (then `style-src` also allows `'self'`). */
  readonly stylesheet?: string;
  /** The page body above the widget; plain markup, no scripts. */
  readonly body?: string;
}

/**
 * The host CSP of SPEC §7 with W = the Postern server, plus Trusted Types. `scriptOrigin` is where
 * widget.js comes from when that is not W.
 */
export function hostCsp(server: PosternServer, ownStyles = false, scriptOrigin?: string): string {
  const w = server.origin(CHAT);
  const scripts = scriptOrigin && scriptOrigin !== w ? `${w} ${scriptOrigin}` : w;
  return [
    "default-src 'none'",
    `script-src 'nonce-${NONCE}' ${scripts}`,
    `connect-src ${w} ws://${CHAT}:${server.port}`,
    `style-src ${ownStyles ? "'self' " : ''}${w}`,
    `img-src ${w} data:`,
    `font-src ${w}`,
    "base-uri 'none'",
    "require-trusted-types-for 'script'",
  ].join('; ');
}

/** Serves the shop page on `options.host` and returns its URL. */
export function serveShop(
  origins: VirtualHosts,
  server: PosternServer,
  options: ShopOptions,
): string {
  const host = options.host ?? SHOP;
  const path = options.path ?? '/';
  const data = Object.entries({
    'site-token': options.siteToken,
    locale: options.locale,
    storage: options.storage,
    color: options.color,
    position: options.position,
    server: options.server,
  })
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` data-${name}="${value}"`)
    .join('');
  const stylesheet = options.stylesheet ? '<link rel="stylesheet" href="/shop.css">' : '';
  if (options.stylesheet) {
    origins.serve(host, '/shop.css', options.stylesheet, { 'content-type': 'text/css' });
  }
  const src = options.scriptSrc ?? `${server.origin(CHAT)}/widget.js`;
  const headers: OutgoingHttpHeaders = {
    'content-security-policy': hostCsp(
      server,
      options.stylesheet !== undefined,
      new URL(src).origin,
    ),
  };
  origins.page(
    host,
    path,
    `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Lamp shop</title><link rel="icon" href="data:,">${stylesheet}
    <script nonce="${NONCE}">${STUB}</script>
    <script nonce="${NONCE}">${RECORDER}</script>
  </head>
  <body>
    ${options.body ?? '<main><h1>Lamps</h1><p>Brass, glass and paper lamps.</p></main>'}
    <script async src="${src}"${data}></script>
  </body>
</html>
`,
    headers,
  );
  return origins.url(host, path);
}

/** One widget event as the page's own `Postern('on', …)` listener received it. */
export interface WidgetEvent {
  readonly name: 'ready' | 'state' | 'message' | 'unread' | 'error';
  /** The page's `Date.now()` when it arrived (the fake clock's, when one is installed). */
  readonly at: number;
  readonly payload: unknown;
}

export interface StatePayload {
  readonly state: 'disconnected' | 'connecting' | 'connected' | 'stopped';
  readonly previous: string;
  readonly disconnect?: {
    readonly code: number;
    readonly reason: string;
    readonly source: string;
    readonly attempt: number;
    readonly nextRetryMs: number | null;
    readonly revival: string;
  };
}

export interface ReadyPayload {
  readonly visitorId: string;
  readonly dialogId: string;
  readonly lastSeq: number;
}

/** Every event of `name` the widget has emitted so far, oldest first. */
export async function widgetEvents<T = unknown>(page: Page, name: WidgetEvent['name']) {
  const events = await page.evaluate(
    () => (window as unknown as { __postern: { events: WidgetEvent[] } }).__postern.events,
  );
  return events.filter((event) => event.name === name).map((event) => event.payload as T);
}

/** Starts recording the page's CSP violations (call before it loads); read with {@link cspViolations}. */
export async function watchCsp(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __csp: string[] }).__csp = seen;
    document.addEventListener('securitypolicyviolation', (event) => {
      seen.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
    });
  });
}

/** Every CSP violation since the page loaded: `directive blocked-uri sample`. */
export function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
}

/** The widget's parts, located through its open shadow root. */
export function widget(page: Page) {
  return {
    host: page.locator('postern-widget'),
    launcher: page.locator('postern-widget .launcher'),
    badge: page.locator('postern-widget .launcher .badge'),
    panel: page.locator('#postern-panel'),
    /** The composer, whatever the locale (its accessible name is "Message" in English). */
    composer: page.locator('postern-widget textarea'),
    log: page.locator('postern-widget .log'),
    bubbles: (sender: 'visitor' | 'assistant' | 'operator' | 'system') =>
      page.locator(`postern-widget .log .msg[data-sender=${sender}] p`),
    /** Own messages the server has not confirmed yet, and those marked "Not sent". */
    pending: page.locator('postern-widget .log .msg[data-pending]'),
    notSent: page.locator('postern-widget .log .msg small[data-t=notSent]'),
    status: page.locator('postern-widget .status'),
    statusText: page.locator('postern-widget .status span'),
    typing: page.locator('postern-widget .typing'),
    handoff: page.locator('postern-widget .handoff'),
  };
}

/** Opens the panel with the launcher (the first open starts the client). */
export async function openChat(page: Page) {
  const ui = widget(page);
  await ui.launcher.click();
  return ui;
}

/** Writes `text` in the composer and sends it with Enter. */
export async function say(page: Page, text: string): Promise<void> {
  const ui = widget(page);
  await ui.composer.fill(text);
  await ui.composer.press('Enter');
}

/** The visitor and dialog of the widget's first `ready`, once it has arrived. */
export async function firstReady(page: Page): Promise<ReadyPayload> {
  await expect
    .poll(async () => (await widgetEvents(page, 'ready')).length, { message: 'widget ready' })
    .toBeGreaterThan(0);
  const [ready] = await widgetEvents<ReadyPayload>(page, 'ready');
  return ready as ReadyPayload;
}
