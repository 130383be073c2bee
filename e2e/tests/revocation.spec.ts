// Revocation reaching live widgets (issue 6 point 7; SPEC §3 `POST /v1/app/revocations`, §4 close
// code 4006). The widget must say the chat was turned off and then stay quiet: 4006 is a stop in
// the policy table, so the number of further attempts allowed is zero, whatever the page does.

import type { Page } from '@playwright/test';
import { closePolicy } from '@postern/protocol';
import { expect, test } from '../postern-fixtures.js';
import { refusedSession } from '../rig/browser-noise.js';
import {
  firstReady,
  openChat,
  SHOP,
  type StatePayload,
  say,
  serveShop,
  widget,
  widgetEvents,
} from '../rig/shop-page.js';
import { type Traffic, watchTraffic } from '../rig/traffic.js';

/** Further attempts the policy allows after a close with `code`, by itself. */
function attemptsAllowedAfter(code: number): number {
  const policy = closePolicy(code);
  if (policy.action === 'stop') return 0;
  return policy.maxAttempts ?? Number.POSITIVE_INFINITY;
}

/**
 * Gives a stopped widget every chance to come back on its own: ten minutes of its timers, the
 * network returning, the page hidden and shown again, a back-forward restore.
 */
async function tempt(page: Page): Promise<void> {
  await page.clock.runFor(600_000);
  await page.evaluate(() => {
    window.dispatchEvent(new Event('online'));
    document.dispatchEvent(new Event('visibilitychange'));
    window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
  });
  await page.clock.runFor(600_000);
  // Anything started by those events would be on the wire within this.
  await page.waitForTimeout(500);
}

async function expectTurnedOff(page: Page, traffic: Traffic, reason: string): Promise<void> {
  const ui = widget(page);
  await expect(ui.statusText).toHaveText('This chat has been turned off.');
  await expect(ui.status).toHaveAttribute('data-kind', 'stopped');
  await expect(ui.status.getByRole('button', { name: 'Try again' })).toBeHidden();
  const last = (await widgetEvents<StatePayload>(page, 'state')).at(-1);
  expect(last).toMatchObject({ state: 'stopped', disconnect: { code: 4006, reason } });

  const sockets = traffic.sockets.length;
  const sessions = traffic.sessionRequests.length;
  await tempt(page);
  expect(traffic.sockets.length - sockets).toBe(attemptsAllowedAfter(4006));
  expect(traffic.sessionRequests.length - sessions).toBe(0);
  // Writing is not a way back either: a stopped-for-good chat offers no composer at all.
  await expect(page.getByRole('textbox', { name: 'Message' })).toBeHidden();
  expect(traffic.sockets.length - sockets).toBe(0);
  await expect(ui.statusText).toHaveText('This chat has been turned off.');
}

/** A visitor on the shop, chatting, with the page clock under the test's control. */
async function chattingVisitor(page: Page, url: string) {
  await page.clock.install();
  const traffic = watchTraffic(page);
  await page.goto(url);
  const ui = await openChat(page);
  const ready = await firstReady(page);
  await say(page, 'Hello');
  await expect(ui.bubbles('assistant')).toHaveCount(1);
  return { traffic, ready };
}

test('revoking the visitor closes their widget with a clear message and no reconnect', async ({
  page,
  origins,
  postern,
}) => {
  const url = serveShop(origins, postern, { siteToken: postern.siteToken([SHOP]) });
  const { traffic, ready } = await chattingVisitor(page, url);
  expect(await postern.revoke({ visitor_id: ready.visitorId })).toBe(200);
  await expectTurnedOff(page, traffic, 'visitor_revoked');
  expect(traffic.sockets).toHaveLength(1);
});

test('revoking the site closes every visitor of it and keeps new page loads off', async ({
  page,
  origins,
  postern,
  openContext,
  consoleErrors,
}) => {
  // Chromium logs the refused session request of the revoked site itself.
  consoleErrors.allow(refusedSession(postern, 401));
  const site = postern.site([SHOP]);
  const url = serveShop(origins, postern, { siteToken: site.token });
  const first = await chattingVisitor(page, url);
  const otherPage = await (await openContext()).newPage();
  const second = await chattingVisitor(otherPage, url);
  expect(second.ready.visitorId).not.toBe(first.ready.visitorId);

  expect(await postern.revoke({ site_id: site.siteId })).toBe(200);
  await expectTurnedOff(page, first.traffic, 'site_revoked');
  await expectTurnedOff(otherPage, second.traffic, 'site_revoked');

  // A new page load with the revoked site token: refused at the session, no socket ever.
  const fresh = await (await openContext()).newPage();
  await fresh.clock.install();
  const traffic = watchTraffic(fresh);
  await fresh.goto(url);
  const ui = await openChat(fresh);
  await expect(ui.status).toHaveAttribute('data-kind', 'stopped');
  // The session endpoint refuses the revoked site token (401 `token_revoked`): the same stop,
  // and the same words, as a 4006 on a live socket.
  await expect(ui.statusText).toHaveText('This chat has been turned off.');
  await expect(ui.status.getByRole('button', { name: 'Try again' })).toBeHidden();
  await tempt(fresh);
  expect(traffic.sessionRequests).toHaveLength(1);
  expect(traffic.sockets).toHaveLength(0);
});
