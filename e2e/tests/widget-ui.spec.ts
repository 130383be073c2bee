// The default chat UI and the script-tag embed (SPEC §7, issue 5 points 8–9), in real Chromium:
// a shop page on its own origin, under the host CSP of SPEC §7 with a nonce and Trusted Types,
// loads widget.js from a real Postern server on another origin and chats with its demo assistant.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page, WebSocketRoute } from '@playwright/test';
import { test as base, expect } from '../fixtures.js';
import {
  CONSOLE_ORIGIN,
  connectOperator,
  type PosternServer,
  startPosternServer,
} from '../rig/postern-server.js';
import type { VirtualHosts } from '../rig/virtual-hosts.js';

const test = base.extend<object, { postern: PosternServer }>({
  postern: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads dependencies from this pattern
    async ({}, use) => {
      const server = await startPosternServer();
      await use(server);
      await server.close();
    },
    { scope: 'worker' },
  ],
});

const SHOP = 'shop.example';
const CHAT = 'chat.example';
const NONCE = 'c2hvcC1ub25jZS0xMjM0NTY3OA';
const STUB = `window.Postern=window.Postern||function(){(window.Postern.q=window.Postern.q||[]).push(arguments)}`;
const BUILT = new URL('../../packages/widget-sdk/dist/', import.meta.url);

interface EmbedOptions {
  readonly host?: string;
  /** Extra `data-*` attributes of the script tag (without the `data-` prefix). */
  readonly data?: Readonly<Record<string, string>>;
  /** Inline script run (with the nonce) after the stub and before widget.js. */
  readonly before?: string;
  /** The script tag's path on the server; `integrity` adds SRI. */
  readonly path?: string;
  readonly integrity?: string;
  /** How many times the page includes the script tag. */
  readonly copies?: number;
}

/** The host CSP of SPEC §7, with W the Postern server's origin. */
function hostCsp(postern: PosternServer): string {
  const w = postern.origin(CHAT);
  return [
    "default-src 'none'",
    `script-src 'nonce-${NONCE}' ${w}`,
    `connect-src ${w} ws://${CHAT}:${postern.port}`,
    `style-src ${w}`,
    `img-src ${w} data:`,
    `font-src ${w}`,
    "base-uri 'none'",
    "require-trusted-types-for 'script'",
  ].join('; ');
}

/** Serves a shop page embedding widget.js with the snippet of SPEC §7; returns its URL. */
function embed(origins: VirtualHosts, postern: PosternServer, options: EmbedOptions = {}): string {
  const host = options.host ?? SHOP;
  const token = postern.siteToken([SHOP]);
  const data = Object.entries({ 'site-token': token, ...options.data })
    .map(([name, value]) => ` data-${name}="${value}"`)
    .join('');
  const sri = options.integrity ? ` integrity="${options.integrity}" crossorigin="anonymous"` : '';
  const src = `${postern.origin(CHAT)}${options.path ?? '/widget.js'}`;
  const tag = `<script async src="${src}"${sri}${data}></script>`;
  origins.page(
    host,
    '/',
    `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Lamp shop</title><link rel="icon" href="data:,">
    <script nonce="${NONCE}">${STUB}</script>
    <script nonce="${NONCE}">${options.before ?? ''}</script>
  </head>
  <body>
    <h1>Lamps</h1><a href="#top">Top</a>
    ${tag.repeat(options.copies ?? 1)}
  </body>
</html>
`,
    { 'content-security-policy': hostCsp(postern) },
  );
  return origins.url(host, '/');
}

/** Records CSP violations, string-to-DOM attempts and postMessage targets from the first script. */
async function watchPage(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __violations: string[]; __posts: string[] };
    w.__violations = [];
    w.__posts = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      w.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
    });
    const post = window.postMessage.bind(window);
    window.postMessage = ((message: unknown, target: unknown, transfer?: Transferable[]) => {
      w.__posts.push(typeof target === 'string' ? target : JSON.stringify(target));
      return post(message, target as string, transfer);
    }) as typeof window.postMessage;
  });
}

const violations = (page: Page) =>
  page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);

function widget(page: Page) {
  return {
    launcher: page.locator('postern-widget .launcher'),
    panel: page.locator('#postern-panel'),
    composer: page.getByRole('textbox', { name: 'Message' }),
    log: page.locator('postern-widget .log'),
    status: page.locator('postern-widget .status'),
  };
}

async function openChat(page: Page) {
  const ui = widget(page);
  await ui.launcher.click();
  await expect(ui.panel).toBeVisible();
  return ui;
}

test.describe('widget UI under the host CSP', () => {
  test('loads with no CSP violation, and stores nothing and connects nowhere before the first open', async ({
    page,
    origins,
    postern,
  }) => {
    await watchPage(page);
    const sockets: string[] = [];
    const apiCalls: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/v1/')) apiCalls.push(request.url());
    });
    await page.goto(embed(origins, postern));
    const ui = widget(page);
    await expect(ui.launcher).toBeVisible();
    // The widget renders in an open shadow root, styled by its own stylesheets.
    const shadow = await page.evaluate(() => {
      const host = document.querySelector('postern-widget');
      return {
        mode: host?.shadowRoot?.mode,
        sheets: host?.shadowRoot?.adoptedStyleSheets.length,
        styleElements: document.querySelectorAll('style').length,
        styleAttributes: host?.shadowRoot?.querySelectorAll('[style]').length,
      };
    });
    expect(shadow).toEqual({ mode: 'open', sheets: 2, styleElements: 0, styleAttributes: 0 });
    await expect(ui.launcher).toHaveCSS('border-radius', '50%');

    await page.waitForTimeout(300);
    expect(sockets).toEqual([]);
    expect(apiCalls).toEqual([]);
    const stored = await page.evaluate(() => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
    }));
    expect(stored).toEqual({ local: 0, session: 0, cookie: '' });

    await ui.launcher.click();
    await expect.poll(() => sockets).toEqual([`ws://${CHAT}:${postern.port}/v1/ws/widget`]);
    await expect(ui.status).toBeHidden();
    // Opened: now the refresh token is kept, under postern:<server origin>:<site id>.
    const keys = await page.evaluate(() => Object.keys(localStorage));
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^postern:http://${CHAT}:${postern.port}:[\\w-]+$`));
    expect(await violations(page)).toEqual([]);
    expect(await page.evaluate(() => (window as unknown as { __posts: string[] }).__posts)).toEqual(
      [],
    );
  });

  test('the violation watch and Trusted Types are live on this page (control)', async ({
    page,
    origins,
    postern,
    consoleErrors,
  }) => {
    consoleErrors.allow(/Content Security Policy|TrustedHTML/);
    await watchPage(page);
    await page.goto(embed(origins, postern));
    await page.evaluate(() => document.body.setAttribute('style', 'color: red'));
    await expect.poll(() => violations(page)).toContainEqual(expect.stringMatching(/^style-src/));
    const sink = await page.evaluate(() => {
      try {
        document.body.innerHTML = '<b>x</b>';
        return 'assigned';
      } catch (error) {
        return (error as Error).name;
      }
    });
    expect(sink).toBe('TypeError');
  });

  test('the launcher opens the panel; Escape closes it and focus returns to the launcher', async ({
    page,
    origins,
    postern,
  }) => {
    await page.goto(embed(origins, postern));
    const ui = widget(page);
    await expect(ui.launcher).toHaveAttribute('aria-expanded', 'false');
    await expect(ui.launcher).toHaveAttribute('aria-controls', 'postern-panel');
    await expect(ui.launcher).toHaveAccessibleName(/^Open chat/);
    await expect(ui.panel).toBeHidden();

    await ui.launcher.focus();
    await page.keyboard.press('Enter');
    await expect(ui.panel).toBeVisible();
    await expect(ui.launcher).toHaveAttribute('aria-expanded', 'true');
    await expect(ui.launcher).toHaveAccessibleName(/^Close chat/);
    await expect(ui.composer).toBeFocused();
    await expect(ui.composer).toHaveRole('textbox');
    await expect(ui.log).toHaveAttribute('aria-live', 'polite');
    await expect(page.getByRole('button', { name: 'Talk to a person' })).toBeVisible();

    await page.keyboard.press('Escape');
    await expect(ui.panel).toBeHidden();
    await expect(ui.launcher).toHaveAttribute('aria-expanded', 'false');
    await expect(ui.launcher).toBeFocused();
  });

  test('the panel animates in, unless the visitor prefers reduced motion', async ({
    page,
    origins,
    postern,
  }) => {
    await page.goto(embed(origins, postern));
    const ui = await openChat(page);
    await expect(ui.panel).toHaveCSS('animation-name', 'in');
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await expect(ui.panel).toHaveCSS('animation-name', 'none');
  });

  test('Enter sends, Shift+Enter adds a line, and markup stays literal text', async ({
    page,
    origins,
    postern,
  }) => {
    await watchPage(page);
    await page.addInitScript(() => {
      window.alert = () => {
        (window as unknown as { __alerted: boolean }).__alerted = true;
      };
    });
    await page.goto(embed(origins, postern));
    const ui = await openChat(page);
    const bubbles = ui.log.locator('.msg');

    await ui.composer.pressSequentially('first line');
    await ui.composer.press('Shift+Enter');
    await ui.composer.pressSequentially('second line');
    await expect(ui.composer).toHaveValue('first line\nsecond line');
    await expect(bubbles).toHaveCount(0);
    await ui.composer.press('Enter');
    await expect(ui.composer).toHaveValue('');
    await expect(bubbles.first().locator('p')).toHaveText('first line\nsecond line');
    await expect(bubbles.first().locator('p')).toHaveAttribute('dir', 'auto');
    // The demo assistant answers.
    await expect(ui.log.locator('.msg[data-sender=assistant]').first()).toBeVisible();

    const markup = '<img src=x onerror=alert(1)>';
    await ui.composer.fill(markup);
    await ui.composer.press('Enter');
    const mine = ui.log.locator('.msg[data-sender=visitor] p', { hasText: markup });
    await expect(mine).toHaveText(markup);
    await expect(ui.log.locator('.msg[data-sender=assistant]')).toHaveCount(2);
    const images = await page.evaluate(
      () =>
        document.querySelectorAll('img').length +
        (document.querySelector('postern-widget')?.shadowRoot?.querySelectorAll('img').length ?? 0),
    );
    expect(images).toBe(0);
    expect(await page.evaluate(() => '__alerted' in window)).toBe(false);
    expect(await violations(page)).toEqual([]);
  });

  test('talk to a person: typing indicator, operator messages, unread badge', async ({
    page,
    origins,
    postern,
  }) => {
    await page.goto(
      embed(origins, postern, {
        before: `window.__events=[];for(const name of ['ready','state','message','unread','error'])Postern('on',name,function(p){window.__events.push([name,p])})`,
      }),
    );
    const ui = await openChat(page);
    await ui.composer.fill('Hello');
    await ui.composer.press('Enter');
    await expect(ui.log.locator('.msg[data-sender=assistant]').first()).toBeVisible();
    await page.getByRole('button', { name: 'Talk to a person' }).click();
    await expect(page.getByText('A person will join you soon.')).toBeVisible();
    const dialogId = await page.evaluate(() => {
      const events = (window as unknown as { __events: [string, { dialogId?: string }][] })
        .__events;
      return events.find(([name]) => name === 'ready')?.[1].dialogId;
    });
    expect(dialogId).toBeTruthy();

    const operator = await connectOperator(postern, postern.operatorToken());
    try {
      await operator.waitFor(
        (frame) =>
          frame['dialog_id'] === dialogId &&
          (frame['handoff'] as { state?: string } | undefined)?.state === 'requested',
        'the handoff request',
      );
      operator.send({ type: 'handoff', dialog_id: dialogId, action: 'take' });
      await operator.waitFor(
        (frame) => frame['type'] === 'handoff' && frame['state'] === 'operator',
        'take',
      );
      operator.send({ type: 'typing', dialog_id: dialogId, state: 'start' });
      await expect(page.getByText('Support is typing…')).toBeVisible();

      // Closed panel, live socket: the operator's message counts as unread.
      await page.keyboard.press('Escape');
      await expect(ui.panel).toBeHidden();
      operator.send({
        type: 'send',
        dialog_id: dialogId,
        client_msg_id: crypto.randomUUID(),
        text: 'Hi, I am Dana.',
      });
      const badge = ui.launcher.locator('.badge');
      await expect(badge).toHaveText('1');
      await expect(badge).toHaveAccessibleName('1 unread message');
      await expect(ui.launcher).toHaveAccessibleName('Open chat 1 unread message');
      await ui.launcher.click();
      await expect(badge).toBeHidden();
      await expect(ui.log.locator('.msg[data-sender=operator] p')).toHaveText('Hi, I am Dana.');
      await expect(page.getByText('Support is typing…')).toBeHidden();
      const unread = await page.evaluate(() =>
        (window as unknown as { __events: [string, unknown][] }).__events
          .filter(([name]) => name === 'unread')
          .map(([, count]) => count),
      );
      expect(unread).toEqual([1, 0]);
    } finally {
      operator.close();
    }
  });

  test('data-locale="ar" renders right to left; Postern("locale") switches', async ({
    page,
    origins,
    postern,
  }) => {
    await page.goto(embed(origins, postern, { data: { locale: 'ar' } }));
    const ui = await openChat(page);
    await expect(ui.panel).toHaveAttribute('dir', 'rtl');
    await expect(ui.panel).toHaveAttribute('data-locale', 'ar');
    await expect(page.getByRole('textbox', { name: 'رسالة' })).toBeVisible();
    await expect(page.getByRole('button', { name: 'التحدث إلى شخص' })).toBeVisible();
    // Logical properties: the header's padding mirrors.
    const head = page.locator('postern-widget .head');
    await expect(head).toHaveCSS('padding-right', '16px');
    await expect(head).toHaveCSS('padding-left', '6px');

    await page.evaluate(() =>
      (window as unknown as { Postern: (...a: unknown[]) => void }).Postern('locale', 'en'),
    );
    await expect(ui.panel).toHaveAttribute('dir', 'ltr');
    await expect(ui.composer).toBeVisible();
    await expect(head).toHaveCSS('padding-left', '16px');
  });

  test('below 480 px the panel is full-screen and every control is at least 44 px', async ({
    page,
    origins,
    postern,
  }) => {
    await page.setViewportSize({ width: 375, height: 667 });
    await page.goto(embed(origins, postern));
    const ui = widget(page);
    const launcher = await ui.launcher.boundingBox();
    expect(launcher?.width).toBeGreaterThanOrEqual(44);
    expect(launcher?.height).toBeGreaterThanOrEqual(44);
    await openChat(page);
    await expect(ui.panel).toHaveJSProperty('offsetWidth', 375);
    expect(await ui.panel.boundingBox()).toEqual({ x: 0, y: 0, width: 375, height: 667 });
    for (const button of await page.locator('#postern-panel button:visible').all()) {
      const box = await button.boundingBox();
      const name = (await button.getAttribute('class')) ?? 'button';
      expect(box?.width, name).toBeGreaterThanOrEqual(44);
      expect(box?.height, name).toBeGreaterThanOrEqual(44);
    }
    const composer = await ui.composer.boundingBox();
    expect(composer?.height).toBeGreaterThanOrEqual(44);
    // The open panel tracks the visual viewport (what the on-screen keyboard shrinks).
    const tracked = await page.evaluate(() => {
      const sheets = document.querySelector('postern-widget')?.shadowRoot?.adoptedStyleSheets;
      const rule = sheets?.[1]?.cssRules[0] as CSSStyleRule | undefined;
      return [rule?.style.getPropertyValue('--vh'), `${window.visualViewport?.height}px`];
    });
    expect(tracked[0]).toBe(tracked[1]);
    // Closing from the full-screen panel brings the launcher back.
    await page.getByRole('button', { name: 'Close chat' }).first().click();
    await expect(ui.launcher).toBeVisible();
  });

  test('on a site the token does not allow: "Chat is not available on this site"', async ({
    page,
    origins,
    postern,
    consoleErrors,
  }) => {
    // Chromium logs the refused session request (403) itself.
    consoleErrors.allow(/403/);
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));
    await page.goto(embed(origins, postern, { host: 'shop.evil.test' }));
    const ui = await openChat(page);
    await expect(ui.status.locator('span')).toHaveText('Chat is not available on this site.');
    await expect(ui.status.getByRole('button', { name: 'Try again' })).toBeHidden();
    // Nothing invites the visitor to write into a chat that cannot start here.
    await expect(page.getByRole('textbox', { name: 'Message' })).toBeHidden();
    await expect(page.getByRole('button', { name: 'Talk to a person' })).toBeHidden();
    expect(sockets).toEqual([]);
  });
});

test.describe('widget connection line', () => {
  test('offline: counts the messages waiting, then sends them on reconnect', async ({
    page,
    origins,
    postern,
  }) => {
    // The widget's sockets go through the test: passed to the server, or held open and silent
    // (no `ready`), which is what a dead network looks like from the page.
    let pass = true;
    const routes: WebSocketRoute[] = [];
    await page.routeWebSocket(/\/v1\/ws\/widget$/, (route) => {
      routes.push(route);
      if (pass) route.connectToServer();
    });
    await page.goto(embed(origins, postern));
    const ui = await openChat(page);
    await ui.composer.fill('Hello');
    await ui.composer.press('Enter');
    await expect(ui.log.locator('.msg[data-sender=assistant]')).toHaveCount(1);
    await expect(ui.status).toBeHidden();

    pass = false;
    await routes.at(-1)?.close({ code: 1011, reason: 'internal' });
    await expect(ui.status.locator('span')).toHaveText('Offline. Reconnecting…');
    await ui.composer.fill('Are you still there?');
    await ui.composer.press('Enter');
    await expect(ui.status.locator('span')).toHaveText('Offline. 1 message waiting to be sent.');
    await ui.composer.fill('Hello?');
    await ui.composer.press('Enter');
    await expect(ui.status.locator('span')).toHaveText('Offline. 2 messages waiting to be sent.');

    pass = true;
    await routes.at(-1)?.close({ code: 1011, reason: 'internal' });
    await expect(ui.status).toBeHidden({ timeout: 10_000 });
    await expect(ui.log.locator('.msg[data-sender=assistant]')).toHaveCount(3);
    await expect(ui.log.locator('.msg[data-sender=visitor]')).toHaveCount(3);
  });

  test('a revoked visitor is told the chat was turned off, with no retry', async ({
    page,
    origins,
    postern,
    request,
  }) => {
    await page.goto(
      embed(origins, postern, {
        before: `Postern('on','ready',function(r){window.__visitor=r.visitorId})`,
      }),
    );
    const ui = await openChat(page);
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { __visitor?: string }).__visitor))
      .toBeTruthy();
    const visitorId = await page.evaluate(
      () => (window as unknown as { __visitor: string }).__visitor,
    );
    const revoked = await request.post(`http://127.0.0.1:${postern.port}/v1/app/revocations`, {
      headers: {
        authorization: `Bearer ${postern.operatorToken(true)}`,
        origin: CONSOLE_ORIGIN,
      },
      data: { visitor_id: visitorId },
    });
    expect(revoked.status()).toBe(200);
    await expect(ui.status.locator('span')).toHaveText('This chat has been turned off.');
    await expect(ui.status).toHaveAttribute('data-kind', 'stopped');
    await expect(ui.status.getByRole('button', { name: 'Try again' })).toBeHidden();
  });
});

test.describe('widget connection lifecycle', () => {
  test('a returning visitor connects at page load, panel closed, and what arrives counts as unread', async ({
    page,
    origins,
    postern,
  }) => {
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));
    await page.goto(
      embed(origins, postern, {
        before: `window.__dialogs=[];window.__states=[];Postern('on','ready',function(r){window.__dialogs.push(r.dialogId)});Postern('on','state',function(c){window.__states.push(c.state)})`,
      }),
    );
    // First visit: the chat is opened once, which stores the refresh token.
    const ui = await openChat(page);
    await ui.composer.fill('Hello');
    await ui.composer.press('Enter');
    await expect(ui.log.locator('.msg[data-sender=assistant]')).toHaveCount(1);
    expect(sockets).toHaveLength(1);

    await page.reload();
    // Back again: the socket opens at load, without a click, and the panel stays closed.
    await expect.poll(() => sockets).toHaveLength(2);
    await expect(ui.launcher).toBeVisible();
    await expect(ui.panel).toBeHidden();
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { __dialogs: string[] }).__dialogs))
      .toHaveLength(1);
    const dialogId = await page.evaluate(
      () => (window as unknown as { __dialogs: string[] }).__dialogs[0],
    );
    // Listeners queued before widget.js loaded hear the connection from its first state on.
    expect(
      await page.evaluate(() => (window as unknown as { __states: string[] }).__states),
    ).toEqual(['connecting', 'connected']);

    // The conversation from before the reload is history; a message arriving now is unread.
    const badge = ui.launcher.locator('.badge');
    await expect(badge).toBeHidden();
    const operator = await connectOperator(postern, postern.operatorToken());
    try {
      operator.send({ type: 'handoff', dialog_id: dialogId, action: 'take' });
      await operator.waitFor(
        (frame) => frame['type'] === 'handoff' && frame['state'] === 'operator',
        'take',
      );
      operator.send({
        type: 'send',
        dialog_id: dialogId,
        client_msg_id: crypto.randomUUID(),
        text: 'Welcome back!',
      });
      // Two since the reload: the notice that the operator joined, and the operator's message.
      await expect(badge).toHaveText('2');
      await ui.launcher.click();
      await expect(badge).toBeHidden();
      await expect(ui.log.locator('.msg[data-sender=visitor] p')).toHaveText('Hello');
      await expect(ui.log.locator('.msg[data-sender=operator] p')).toHaveText('Welcome back!');
      expect(sockets).toHaveLength(2);
    } finally {
      operator.close();
    }
  });
});

test.describe('widget.js embed', () => {
  test('replays the queue stub, ignores a second copy of itself and takes theme options', async ({
    page,
    origins,
    postern,
  }) => {
    await watchPage(page);
    await page.goto(
      embed(origins, postern, {
        copies: 2,
        data: { color: '#ffd400', position: 'left', storage: 'session' },
        before: `window.__events=[];Postern('on','state',function(c){window.__events.push(c.state)});Postern('open');`,
      }),
    );
    const ui = widget(page);
    await expect(ui.panel).toBeVisible();
    await expect(page.locator('postern-widget')).toHaveCount(1);
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { __events: string[] }).__events))
      .toEqual(['connecting', 'connected']);
    expect(await page.evaluate(() => [localStorage.length, sessionStorage.length])).toEqual([0, 1]);
    // A light accent gets dark text; the launcher sits on the left.
    await expect(ui.launcher).toHaveCSS('background-color', 'rgb(255, 212, 0)');
    await expect(ui.launcher).toHaveCSS('color', 'rgb(0, 0, 0)');
    const box = await ui.launcher.boundingBox();
    expect(box?.x).toBeLessThan(100);

    await page.evaluate(() =>
      (window as unknown as { Postern: (...a: unknown[]) => void }).Postern('toggle'),
    );
    await expect(ui.panel).toBeHidden();
    await page.evaluate(() =>
      (window as unknown as { Postern: (...a: unknown[]) => void }).Postern('shutdown'),
    );
    await expect(page.locator('postern-widget')).toHaveCount(0);
    expect(await violations(page)).toEqual([]);
  });

  test('the versioned file is the one the build hashed, and loads with integrity', async ({
    page,
    origins,
    postern,
    request,
  }) => {
    const built = readFileSync(new URL('widget.js', BUILT));
    const integrity = readFileSync(new URL('widget.js.sri', BUILT), 'utf8').trim();
    expect(integrity).toBe(`sha384-${createHash('sha384').update(built).digest('base64')}`);
    const { version } = JSON.parse(readFileSync(new URL('../package.json', BUILT), 'utf8')) as {
      version: string;
    };
    const path = `/widget/${version}/widget.js`;
    const served = await request.get(`http://127.0.0.1:${postern.port}${path}`);
    expect(Buffer.compare(await served.body(), built)).toBe(0);

    await page.goto(embed(origins, postern, { path, integrity }));
    await openChat(page);
    await expect(widget(page).composer).toBeVisible();
  });
});
