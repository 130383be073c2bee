// Which pages may chat (issue 6 point 3, SPEC §2 "Domains and origins"): the site's host and its
// subdomains connect; lookalike hosts are told chat is not available and go quiet; a visitor
// token carried to another origin is refused with 4003 and never retried.
import type { Page } from '@playwright/test';
import { expect, test } from '../postern-fixtures.js';
import { refusedSession } from '../rig/browser-noise.js';
import type { PosternServer } from '../rig/postern-server.js';
import { SDK_MODULE, serveSdkModules } from '../rig/sdk-modules.js';
import {
  CHAT,
  firstReady,
  openChat,
  SHOP,
  type StatePayload,
  say,
  serveShop,
} from '../rig/shop-page.js';
import { watchTraffic } from '../rig/traffic.js';
import type { VirtualHosts } from '../rig/virtual-hosts.js';

for (const host of [SHOP, `sub.${SHOP}`]) {
  test(`${host} is allowed: the widget connects and chats`, async ({ page, origins, postern }) => {
    const traffic = watchTraffic(page);
    await page.goto(serveShop(origins, postern, { host, siteToken: postern.siteToken([SHOP]) }));
    const ui = await openChat(page);
    await firstReady(page);
    await say(page, 'Hello');
    await expect(ui.bubbles('assistant')).toHaveCount(1);
    await expect(ui.status).toBeHidden();
    expect(traffic.sockets).toHaveLength(1);
    expect(traffic.sockets[0]?.url).toBe(`ws://${CHAT}:${postern.port}/v1/ws/widget`);
  });
}

for (const host of [`${SHOP}.evil.test`, `evil${SHOP}`]) {
  test(`${host} is not allowed: "not available", at most 2 session requests and no socket in 60 s`, async ({
    page,
    origins,
    postern,
    consoleErrors,
  }) => {
    // Chromium logs the refused session request itself.
    consoleErrors.allow(refusedSession(postern, 403));
    await page.clock.install();
    const traffic = watchTraffic(page);
    await page.goto(serveShop(origins, postern, { host, siteToken: postern.siteToken([SHOP]) }));
    const ui = await openChat(page);
    await expect(ui.statusText).toHaveText('Chat is not available on this site.');
    await expect(ui.status.getByRole('button', { name: 'Try again' })).toBeHidden();

    // Every timer the widget may have left runs: no retry is waiting behind one.
    await page.clock.runFor(60_000);
    await page.waitForTimeout(500);
    expect(traffic.sessionRequests.length).toBeGreaterThanOrEqual(1);
    expect(traffic.sessionRequests.length).toBeLessThanOrEqual(2);
    expect(traffic.sockets).toHaveLength(0);
    await expect(ui.statusText).toHaveText('Chat is not available on this site.');
  });
}

/**
 * A page using the headless client from the SDK's ES module with its own `getToken` (a backend
 * that mints visitor tokens), recording its token calls and state changes.
 */
function serveTokenPage(
  origins: VirtualHosts,
  server: PosternServer,
  host: string,
  visitorToken: string,
): string {
  const importMap = serveSdkModules(origins, host);
  origins.page(
    host,
    '/',
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Own token backend</title>
<link rel="icon" href="data:,">${importMap}</head>
<body><h1>Support</h1>
<script type="module">
  import { PosternClient } from '${SDK_MODULE}';
  window.__client = { tokens: 0, states: [] };
  const client = new PosternClient({
    serverUrl: ${JSON.stringify(server.origin(CHAT))},
    storage: 'memory',
    getToken: async () => {
      window.__client.tokens += 1;
      return ${JSON.stringify(visitorToken)};
    },
  });
  client.on('state', (change) => window.__client.states.push(JSON.parse(JSON.stringify(change))));
  client.connect();
</script>
</body></html>
`,
  );
  return origins.url(host, '/');
}

interface ClientLog {
  readonly tokens: number;
  readonly states: StatePayload[];
}

const clientLog = (page: Page) =>
  page.evaluate(() => (window as unknown as { __client: ClientLog }).__client);

test('a visitor token minted for another origin gets 4003 and the client stops without retrying', async ({
  page,
  origins,
  postern,
  openContext,
}) => {
  const siteToken = postern.siteToken([SHOP]);
  const subdomain = `sub.${SHOP}`;

  // Control: the same page with a token minted for its own origin connects.
  const own = await postern.session(siteToken, origins.origin(subdomain));
  const control = await (await openContext()).newPage();
  await control.goto(serveTokenPage(origins, postern, subdomain, own.visitor_token));
  await expect
    .poll(async () => (await clientLog(control)).states.map((change) => change.state))
    .toContain('connected');

  // The same site allows both origins, but the token names the shop's: refused, for good.
  const foreign = await postern.session(siteToken, origins.origin(SHOP));
  await page.clock.install();
  const traffic = watchTraffic(page);
  await page.goto(serveTokenPage(origins, postern, subdomain, foreign.visitor_token));
  await expect.poll(async () => (await clientLog(page)).states.at(-1)?.state).toBe('stopped');
  const stopped = (await clientLog(page)).states.at(-1);
  expect(stopped?.disconnect).toMatchObject({ code: 4003, source: 'server', revival: 'never' });

  await page.clock.runFor(120_000);
  await page.waitForTimeout(500);
  expect(traffic.sockets).toHaveLength(1);
  const log = await clientLog(page);
  expect(log.tokens).toBe(1);
  expect(log.states.map((change) => change.state)).toEqual(['connecting', 'stopped']);
});
