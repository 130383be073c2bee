// axe-core on the widget — inside its open shadow root — and on the operator console (issue 6
// point 12): no serious or critical WCAG 2 A/AA violation in the states a visitor and an operator
// see, messages included.
import type { Page } from '@playwright/test';
import { expect, test } from '../postern-fixtures.js';
import { axeReport } from '../rig/accessibility.js';
import { refusedSession, refusedSocket } from '../rig/browser-noise.js';
import { connectOperator, type PosternServer } from '../rig/postern-server.js';
import { firstReady, openChat, SHOP, say, serveShop, widget } from '../rig/shop-page.js';
import type { VirtualHosts } from '../rig/virtual-hosts.js';

/** A conversation with the assistant, system notices and a typing operator; the panel open. */
async function conversation(
  page: Page,
  origins: VirtualHosts,
  server: PosternServer,
  locale = 'en',
) {
  await page.goto(serveShop(origins, server, { siteToken: server.siteToken([SHOP]), locale }));
  const ui = await openChat(page);
  const { dialogId } = await firstReady(page);
  await say(page, 'Hello');
  await expect(ui.bubbles('assistant')).toHaveCount(1);
  await ui.handoff.click();
  const operator = await connectOperator(server, server.operatorToken());
  operator.send({ type: 'handoff', dialog_id: dialogId, action: 'take' });
  operator.send({
    type: 'send',
    dialog_id: dialogId,
    client_msg_id: crypto.randomUUID(),
    text: 'Hi, I am Dana.',
  });
  operator.send({ type: 'typing', dialog_id: dialogId, state: 'start' });
  await expect(ui.bubbles('operator')).toHaveCount(1);
  await expect(ui.typing).toBeVisible();
  return { ui, dialogId, operator };
}

const WIDGET = 'postern-widget';

test('the widget showing messages has no serious or critical violation (English, Arabic, offline)', async ({
  page,
  context,
  origins,
  postern,
  consoleErrors,
}, testInfo) => {
  consoleErrors.allow(refusedSocket(postern));
  const english = await conversation(page, origins, postern);
  const report = await axeReport(page, testInfo, 'widget-en', WIDGET);
  // axe really looked inside the shadow root (the composer is there, nowhere else).
  expect(report.checked.some((target) => target.includes('textarea'))).toBe(true);
  expect(report.serious).toEqual([]);
  english.operator.close();

  const arabic = await conversation(page, origins, postern, 'ar');
  await expect(widget(page).panel).toHaveAttribute('dir', 'rtl');
  expect((await axeReport(page, testInfo, 'widget-ar', WIDGET)).serious).toEqual([]);
  arabic.operator.close();

  // Offline with a message waiting: the network is gone and the heartbeat deadline has passed.
  await page.clock.install();
  await conversation(page, origins, postern);
  await context.setOffline(true);
  await say(page, 'Hello?');
  await page.clock.fastForward(40_000);
  await expect(widget(page).statusText).toHaveText('Offline. 1 message waiting to be sent.');
  expect((await axeReport(page, testInfo, 'widget-offline', WIDGET)).serious).toEqual([]);
});

test('the open widget before any message has no serious or critical violation (both directions)', async ({
  page,
  origins,
  postern,
}, testInfo) => {
  for (const locale of ['en', 'ar']) {
    await page.goto(serveShop(origins, postern, { siteToken: postern.siteToken([SHOP]), locale }));
    const ui = await openChat(page);
    await firstReady(page);
    await expect(ui.panel).toHaveAttribute('data-locale', locale);
    const report = await axeReport(page, testInfo, `widget-empty-${locale}`, WIDGET);
    // axe really looked inside the shadow root (the composer is there, nowhere else).
    expect(report.checked.some((target) => target.includes('textarea'))).toBe(true);
    expect(report.serious).toEqual([]);
  }
});

test('the closed widget with an unread badge, and the refused one, have no serious or critical violation', async ({
  page,
  origins,
  postern,
  consoleErrors,
}, testInfo) => {
  // Closed, with the unread badge counting an operator's messages.
  const { ui, dialogId, operator } = await conversation(page, origins, postern);
  await page.keyboard.press('Escape');
  operator.send({
    type: 'send',
    dialog_id: dialogId,
    client_msg_id: crypto.randomUUID(),
    text: 'Are you still there?',
  });
  await expect(ui.badge).toHaveText('1');
  const closed = await axeReport(page, testInfo, 'widget-unread', WIDGET);
  expect(closed.checked.some((target) => target.includes('launcher'))).toBe(true);
  expect(closed.serious).toEqual([]);
  operator.close();

  // Stopped: a site the token does not allow.
  consoleErrors.allow(refusedSession(postern, 403));
  await page.goto(
    serveShop(origins, postern, { host: 'shop.evil.test', siteToken: postern.siteToken([SHOP]) }),
  );
  const stopped = await openChat(page);
  await expect(stopped.statusText).toHaveText('Chat is not available on this site.');
  expect((await axeReport(page, testInfo, 'widget-stopped', WIDGET)).serious).toEqual([]);
});

/** The console on its own origin, connected, with `dialogId` in its list. */
async function openConsole(page: Page, consoleOrigin: string, dialogId: string) {
  await page.goto(`${consoleOrigin}/`);
  await expect(page.locator('.status-text')).toHaveText('Connected');
  const row = page.locator(`button.row[data-dialog-id="${dialogId}"]`);
  await expect(row).toBeVisible();
  return row;
}

test('the operator console listing dialogs has no serious or critical violation', async ({
  page,
  origins,
  postern,
  consoleHost,
  openContext,
}, testInfo) => {
  const { dialogId, operator } = await conversation(page, origins, postern);
  operator.close();
  const desk = await (await openContext()).newPage();
  await openConsole(desk, consoleHost.origin, dialogId);
  expect((await axeReport(desk, testInfo, 'console-list')).serious).toEqual([]);
});

test('the operator console with a dialog open has no serious or critical violation', async ({
  page,
  origins,
  postern,
  consoleHost,
  openContext,
}, testInfo) => {
  // Bug: apps/demo/console/src/view/message-list-view.ts renders messages as <li> items of an
  // <ol role="log">, so each is a listitem outside a list (axe `listitem`, serious).
  const { dialogId, operator } = await conversation(page, origins, postern);
  operator.close();
  const desk = await (await openContext()).newPage();
  await (await openConsole(desk, consoleHost.origin, dialogId)).click();
  await expect(desk.locator('#conversation .message--operator')).toHaveCount(1);
  expect((await axeReport(desk, testInfo, 'console-dialog')).serious).toEqual([]);
});
