// What a visitor keeps between page loads (issue 6 point 6; SPEC §3 "Sessions and refresh
// tokens", §7 storage): nothing before the first open, then one refresh token that brings the
// same dialog and its history back after a reload — and, once that token has expired, a fresh
// session without any error shown.
import type { BrowserContext, Page } from '@playwright/test';
import { expect, test } from '../postern-fixtures.js';
import { refusedSession } from '../rig/browser-noise.js';
import {
  CHAT,
  firstReady,
  openChat,
  SHOP,
  type StatePayload,
  say,
  serveShop,
  widget,
  widgetEvents,
} from '../rig/shop-page.js';
import { watchTraffic } from '../rig/traffic.js';

/** Everything a page could have left behind in the browser: storage, cookies, databases. */
async function storedByPage(page: Page, context: BrowserContext) {
  const inPage = await page.evaluate(async () => ({
    local: Object.keys(localStorage),
    session: Object.keys(sessionStorage),
    databases: (await indexedDB.databases()).map((db) => db.name),
  }));
  return { ...inPage, cookies: (await context.cookies()).map((cookie) => cookie.name) };
}

const NOTHING = { local: [], session: [], databases: [], cookies: [] };

test('nothing is stored before the first open; a reload keeps the same dialog and its history', async ({
  page,
  context,
  origins,
  postern,
}) => {
  const url = serveShop(origins, postern, { siteToken: postern.siteToken([SHOP]) });
  const traffic = watchTraffic(page);
  await page.goto(url);
  const ui = widget(page);
  await expect(ui.launcher).toBeVisible();
  // Hovering and focusing the launcher is not opening it.
  await ui.launcher.hover();
  await ui.launcher.focus();
  await page.reload();
  await expect(ui.launcher).toBeVisible();
  expect(await storedByPage(page, context)).toEqual(NOTHING);
  expect(traffic.sessionRequests).toEqual([]);

  await openChat(page);
  const before = await firstReady(page);
  await say(page, 'Hello');
  await expect(ui.bubbles('assistant')).toHaveCount(1);
  await say(page, 'Where is my parcel?');
  await expect(ui.bubbles('assistant')).toHaveCount(2);
  const shown = await ui.log.locator('.msg').allTextContents();
  const stored = await storedByPage(page, context);
  // The refresh token under its key, and the SDK's cross-tab ledger of it (IndexedDB, written
  // under the Web Lock so another tab reads the newest token at once).
  expect(stored).toEqual({
    ...NOTHING,
    local: [expect.stringMatching(new RegExp(`^postern:http://${CHAT}:${postern.port}:`))],
    databases: ['postern-widget'],
  });

  await page.reload();
  await openChat(page);
  const after = await firstReady(page);
  expect(after).toMatchObject({ visitorId: before.visitorId, dialogId: before.dialogId });
  await expect(ui.log.locator('.msg')).toHaveText(shown);
  await say(page, 'Thanks');
  await expect(ui.bubbles('visitor')).toHaveText(['Hello', 'Where is my parcel?', 'Thanks']);
  await expect(ui.bubbles('assistant')).toHaveCount(3);
  // The reload exchanged the stored refresh token for the same visitor; nothing was re-sent.
  expect(traffic.sessionRequests.map((request) => request.refreshToken === null)).toEqual([
    true,
    false,
  ]);
  const history = await postern.history(before.dialogId);
  expect(history.filter((m) => m.sender === 'visitor').map((m) => m.text)).toEqual([
    'Hello',
    'Where is my parcel?',
    'Thanks',
  ]);
});

test('a returning visitor whose refresh token expired gets a fresh session cleanly', async ({
  page,
  origins,
  launchServer,
  consoleErrors,
}) => {
  const server = await launchServer({ env: { POSTERN_REFRESH_IDLE_S: '1' } });
  // Chromium logs the refused refresh (401) itself; the widget recovers from it silently.
  consoleErrors.allow(refusedSession(server, 401));
  const url = serveShop(origins, server, { siteToken: server.siteToken([SHOP]) });
  const traffic = watchTraffic(page);
  await page.goto(url);
  const ui = await openChat(page);
  const first = await firstReady(page);
  await say(page, 'Hello');
  await expect(ui.bubbles('assistant')).toHaveCount(1);
  const firstVisit = traffic.sessionRequests.length;

  // Away longer than the refresh token's idle lifetime.
  await page.goto('about:blank');
  await page.waitForTimeout(2_200);
  await page.goto(url);
  await openChat(page);
  const second = await firstReady(page);
  expect(second.visitorId).not.toBe(first.visitorId);
  expect(second.dialogId).not.toBe(first.dialogId);
  await expect(ui.status).toBeHidden();
  await expect(ui.log.locator('.msg')).toHaveCount(0);

  // One refused exchange, then a new visitor: no retry loop, no error shown, chat works.
  const returning = traffic.sessionRequests.slice(firstVisit);
  expect(returning.map((request) => request.refreshToken !== null)).toEqual([true, false]);
  const states = await widgetEvents<StatePayload>(page, 'state');
  expect(states.filter((change) => change.disconnect)).toEqual([]);
  expect(states.at(-1)?.state).toBe('connected');
  expect(await widgetEvents(page, 'error')).toEqual([]);
  await say(page, 'Hello again');
  await expect(ui.bubbles('assistant')).toHaveCount(1);
});

test('a returning visitor: listeners queued through the stub see every state from the first', async ({
  page,
  origins,
  postern,
}) => {
  // The host page subscribes through the queue stub before widget.js loads (SPEC §7); whenever
  // the widget starts connecting — on the first open, or at page load for a returning visitor —
  // those listeners must see it from `connecting` on.
  const url = serveShop(origins, postern, { siteToken: postern.siteToken([SHOP]) });
  await page.goto(url);
  await openChat(page);
  await firstReady(page);
  const firstVisit = await widgetEvents<StatePayload>(page, 'state');
  expect(firstVisit.map((change) => change.state)).toEqual(['connecting', 'connected']);

  await page.reload();
  await openChat(page);
  await firstReady(page);
  const returning = await widgetEvents<StatePayload>(page, 'state');
  expect(returning.map((change) => change.state)).toEqual(['connecting', 'connected']);
});
