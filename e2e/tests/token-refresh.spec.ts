// Short-lived visitor tokens refreshed in place (issue 6 point 5; SPEC §3 "Sessions and refresh
// tokens", §4 `refresh_required` → `refresh` → `refreshed`). The server runs with 62-second
// visitor tokens: it asks for a refresh 60 s before expiry, so about every two seconds, and each
// refresh also rotates the refresh token — the exchange two tabs of one visitor must not race on.
import type { BrowserContext, Page } from '@playwright/test';
import { expect, test } from '../postern-fixtures.js';
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

const SHORT_TOKENS = { env: { POSTERN_VISITOR_TTL_S: '62' } };

/** The widget stayed on its first socket throughout: no close, no disconnect, still connected. */
async function expectNeverDisconnected(page: Page, traffic: Traffic): Promise<void> {
  expect(traffic.sockets).toHaveLength(1);
  expect(traffic.sockets[0]?.closed).toBe(false);
  const states = await widgetEvents<StatePayload>(page, 'state');
  expect(states.filter((change) => change.disconnect)).toEqual([]);
  expect(states.at(-1)?.state).toBe('connected');
}

/** Every `refresh_required` was answered with `refresh` and acknowledged with `refreshed`. */
function expectRefreshedInBand(traffic: Traffic, atLeast: number): void {
  const required = traffic.received('refresh_required').length;
  expect(required).toBeGreaterThanOrEqual(atLeast);
  expect(traffic.sent('refresh').length).toBeGreaterThanOrEqual(required - 1);
  expect(traffic.received('refreshed').length).toBe(traffic.sent('refresh').length);
  expect(traffic.received('error')).toEqual([]);
}

test('a visitor chatting across several token refreshes loses nothing and never disconnects', async ({
  page,
  origins,
  launchServer,
}) => {
  const server = await launchServer(SHORT_TOKENS);
  const traffic = watchTraffic(page);
  await page.goto(serveShop(origins, server, { siteToken: server.siteToken([SHOP]) }));
  const ui = await openChat(page);
  const { dialogId } = await firstReady(page);

  // Keep writing through at least three refreshes (about six seconds), one message every 400 ms,
  // so sends land right before, during and after the token changes.
  const sent: string[] = [];
  while (traffic.received('refreshed').length < 3) {
    const text = `Message ${sent.length + 1}`;
    sent.push(text);
    await say(page, text);
    await page.waitForTimeout(400);
    expect(sent.length, 'refreshes did not come every ~2 s').toBeLessThan(40);
  }

  await expect(ui.bubbles('visitor')).toHaveText(sent);
  await expect(ui.pending).toHaveCount(0);
  await expect(ui.notSent).toHaveCount(0);
  await expect(ui.status).toBeHidden();
  await expectNeverDisconnected(page, traffic);
  expectRefreshedInBand(traffic, 3);
  // Each refresh is one session exchange (rotating the refresh token), besides the first session.
  expect(traffic.sessionRequests.length).toBe(1 + traffic.sent('refresh').length);
  const stored = await server.history(dialogId);
  expect(stored.filter((m) => m.sender === 'visitor').map((m) => m.text)).toEqual(sent);
});

/**
 * Two tabs of one visitor: the first tab creates the visitor, then both tabs (re)load and open
 * together at the start of a second, exchanging the stored refresh token at the same moment. When
 * both visitor tokens got the same `exp` (checked in their `ready` frames; under load the two
 * exchanges can straddle a second, and then the tabs load again), the server asks both tabs to
 * refresh at the same moment, every time. Resolves after three such refreshes.
 */
async function twoTabsRefreshing(context: BrowserContext, url: string) {
  const tabs = [await context.newPage(), await context.newPage()] as const;
  await tabs[0].goto(url);
  await openChat(tabs[0]);
  const visitor = await firstReady(tabs[0]);

  const expiry = (tab: Traffic) => tab.received('ready').at(-1)?.['token_expires_at'];
  let traffic: readonly [Traffic, Traffic] | null = null;
  for (let attempt = 1; traffic === null; attempt += 1) {
    const watched = [watchTraffic(tabs[0]), watchTraffic(tabs[1])] as const;
    await expect.poll(() => Date.now() % 1000, { intervals: [10] }).toBeLessThan(100);
    await Promise.all([tabs[0].reload(), tabs[1].goto(url)]);
    await Promise.all(tabs.map((tab) => widget(tab).launcher.click()));
    for (const tab of tabs) {
      expect(await firstReady(tab)).toMatchObject({
        visitorId: visitor.visitorId,
        dialogId: visitor.dialogId,
      });
    }
    if (expiry(watched[0]) === expiry(watched[1])) traffic = watched;
    else expect(attempt, 'two visitor tokens with the same expiry').toBeLessThan(4);
  }

  for (const tab of traffic) {
    await expect.poll(() => tab.received('refreshed').length, { timeout: 15_000 }).toBe(3);
  }
  const [a, b] = traffic.map((tab) => tab.arrivals('refresh_required'));
  for (const [i, at] of (a ?? []).entries()) {
    expect(Math.abs(at - (b?.[i] ?? 0)), `refresh ${i + 1} of the two tabs`).toBeLessThan(500);
  }
  return { tabs, traffic };
}

/** Refresh tokens the two tabs presented more than once between them. */
function presentedTwice(traffic: readonly Traffic[]): string[] {
  const presented = traffic
    .flatMap((tab) => tab.sessionRequests.map((request) => request.refreshToken))
    .filter((token) => token !== null);
  return presented.filter((token, i) => presented.indexOf(token) !== i);
}

// Web Locks exist only in secure contexts: `http://shop.localhost` is one (a loopback name), a
// plain-http `http://shop.example` is not, so there the tabs really exchange at the same moment.
const TAB_SETUPS = [
  { host: 'shop.localhost', locks: true, how: 'under a Web Lock' },
  { host: SHOP, locks: false, how: 'no Web Locks on plain http: the server grace window' },
] as const;

for (const { host, locks, how } of TAB_SETUPS) {
  test(`two tabs of one visitor refresh at the same moment and both keep chatting (${how})`, async ({
    context,
    origins,
    launchServer,
  }) => {
    const server = await launchServer(SHORT_TOKENS);
    const siteToken = server.siteToken([SHOP, 'shop.localhost']);
    const { tabs, traffic } = await twoTabsRefreshing(
      context,
      serveShop(origins, server, { host, siteToken }),
    );
    expect(await tabs[0].evaluate(() => 'locks' in navigator)).toBe(locks);

    await say(tabs[0], 'From the first tab');
    await say(tabs[1], 'From the second tab');
    for (const tab of tabs) {
      await expect(widget(tab).bubbles('visitor')).toHaveText([
        'From the first tab',
        'From the second tab',
      ]);
    }
    for (const [i, tab] of tabs.entries()) {
      await expectNeverDisconnected(tab, traffic[i] as Traffic);
      expectRefreshedInBand(traffic[i] as Traffic, 3);
    }
    // Without a lock the race is real: both tabs presented the same refresh token, and the
    // server's grace window gave both the same successor instead of revoking the visitor.
    if (!locks) expect(presentedTwice(traffic).length).toBeGreaterThanOrEqual(1);
  });
}

test('under a Web Lock the second tab exchanges the successor, never the token just used', async ({
  context,
  origins,
  launchServer,
}) => {
  // Chromium forwards one tab's localStorage write to another asynchronously: reading the token
  // from localStorage inside the lock, the second tab read the one just rotated in 1–3 runs of 4
  // (only the server's grace window saved it). The SDK reads it from its IndexedDB ledger.
  const server = await launchServer(SHORT_TOKENS);
  const url = serveShop(origins, server, {
    host: 'shop.localhost',
    siteToken: server.siteToken(['shop.localhost']),
  });
  const { traffic } = await twoTabsRefreshing(context, url);
  expect(presentedTwice(traffic)).toEqual([]);
});
