// Screenshots of the widget's main states, attached to the HTML report (issue 6 point 13): the
// closed launcher with its unread badge, an open conversation, offline, not available on this
// site, right to left and on a phone. Each test also checks the state it pictures, so a picture
// of the wrong thing fails. `docs/screenshot.png` in the README is the "open chat" one.
import { readFileSync } from 'node:fs';
import { devices, type Page, type TestInfo } from '@playwright/test';
import { expect, test } from '../postern-fixtures.js';
import { refusedSession, refusedSocket } from '../rig/browser-noise.js';
import { connectOperator, type PosternServer } from '../rig/postern-server.js';
import { inRepository } from '../rig/repository.js';
import { firstReady, openChat, SHOP, say, serveShop } from '../rig/shop-page.js';
import type { VirtualHosts } from '../rig/virtual-hosts.js';

const SHOP_CSS = readFileSync(inRepository('apps/demo/pages/shop.css'), 'utf8');
const SHOP_BODY = `<header><h1>Harbour &amp; Co.</h1></header>
<main>
  <p>Goods from the harbour towns, packed by hand and shipped the same day.</p>
  <h2>Products</h2>
  <ul class="products">
    <li class="product"><h3>Lantern</h3><p>A brass lantern for long evenings.</p><p class="price">€24</p></li>
    <li class="product"><h3>Postcard set</h3><p>Twelve cards of harbour towns.</p><p class="price">€9</p></li>
    <li class="product"><h3>Rope bracelet</h3><p>Hand-tied, one size fits most.</p><p class="price">€14</p></li>
  </ul>
</main>`;

function shopUrl(origins: VirtualHosts, server: PosternServer, options: { locale?: string } = {}) {
  return serveShop(origins, server, {
    siteToken: server.siteToken([SHOP]),
    stylesheet: SHOP_CSS,
    body: SHOP_BODY,
    ...options,
  });
}

async function snap(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  // The panel animates in; the picture is of where it ends.
  await page.emulateMedia({ reducedMotion: 'reduce' });
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/**
 * A conversation that shows every kind of message: the visitor, the assistant, the system notices
 * of a handoff, and an operator who took over. Returns the operator, still connected.
 */
async function converse(page: Page, server: PosternServer, locale = 'en') {
  const ui = await openChat(page);
  const { dialogId } = await firstReady(page);
  await say(page, locale === 'ar' ? 'مرحبا، متى يصل طلبي؟' : 'Hello! When will my lantern arrive?');
  await expect(ui.bubbles('assistant')).toHaveCount(1);
  await ui.handoff.click();
  const operator = await connectOperator(server, server.operatorToken());
  operator.send({ type: 'handoff', dialog_id: dialogId, action: 'take' });
  const reply = (text: string) =>
    operator.send({ type: 'send', dialog_id: dialogId, client_msg_id: crypto.randomUUID(), text });
  reply(
    locale === 'ar'
      ? 'مرحبا، أنا دانا. طلبك في الطريق وسيصل غدًا.'
      : 'Hi, I am Dana. Your lantern left our warehouse this morning; it arrives tomorrow.',
  );
  await expect(ui.bubbles('operator')).toHaveCount(1);
  return { ui, dialogId, operator, reply };
}

test('closed launcher with unread badge, then the open chat', async ({
  page,
  origins,
  postern,
}, testInfo) => {
  await page.goto(shopUrl(origins, postern));
  const { ui, operator, reply } = await converse(page, postern);
  await page.keyboard.press('Escape');
  reply('Anything else I can help with?');
  reply('We also have a spare wick for it.');
  await expect(ui.badge).toHaveText('2');
  await snap(page, testInfo, 'closed-with-unread-badge');

  await ui.launcher.click();
  await expect(ui.badge).toBeHidden();
  await say(page, 'Perfect, thank you!');
  await expect(ui.pending).toHaveCount(0);
  await expect(ui.bubbles('operator')).toHaveCount(3);
  await snap(page, testInfo, 'open-chat');
  operator.close();
});

test('offline with messages waiting', async ({
  page,
  context,
  origins,
  postern,
  consoleErrors,
}, testInfo) => {
  consoleErrors.allow(refusedSocket(postern));
  await page.clock.install();
  await page.goto(shopUrl(origins, postern));
  const { ui, operator } = await converse(page, postern);
  operator.close();
  await context.setOffline(true);
  await say(page, 'Is it insured?');
  await page.clock.fastForward(40_000);
  await expect(ui.statusText).toHaveText('Offline. 1 message waiting to be sent.');
  await snap(page, testInfo, 'offline');
});

test('not available on this site', async ({ page, origins, postern, consoleErrors }, testInfo) => {
  consoleErrors.allow(refusedSession(postern, 403));
  await page.goto(
    serveShop(origins, postern, {
      host: 'shop.example.evil.test',
      siteToken: postern.siteToken([SHOP]),
      stylesheet: SHOP_CSS,
      body: SHOP_BODY,
    }),
  );
  const ui = await openChat(page);
  await expect(ui.statusText).toHaveText('Chat is not available on this site.');
  await snap(page, testInfo, 'not-available');
});

test('right to left (Arabic)', async ({ page, origins, postern }, testInfo) => {
  await page.goto(shopUrl(origins, postern, { locale: 'ar' }));
  const { ui, operator } = await converse(page, postern, 'ar');
  await expect(ui.panel).toHaveAttribute('dir', 'rtl');
  await snap(page, testInfo, 'rtl');
  operator.close();
});

test.describe('on a phone', () => {
  const { defaultBrowserType: _engine, ...pixel } = devices['Pixel 7'];
  test.use(pixel);

  test('the open chat, full screen', async ({ page, origins, postern }, testInfo) => {
    await page.goto(shopUrl(origins, postern));
    const { ui, operator } = await converse(page, postern);
    expect((await ui.panel.boundingBox())?.width).toBe(page.viewportSize()?.width);
    await snap(page, testInfo, 'mobile');
    operator.close();
  });
});
