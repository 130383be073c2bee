// Proves the rig every security test builds on: pages on made-up host names are real, distinct
// origins to Chromium, and what the server records is what a browser really sends.
import { expect, type RecordedUpgrade, test } from '../fixtures.js';
import type { RecordingWsServer } from '../rig/recording-ws-server.js';
import type { VirtualHosts } from '../rig/virtual-hosts.js';

const WIDGET_HOST = 'widget.example';
const WS_HOST = 'ws.example';

/**
 * Stands in for the widget's script-tag build: reads its API base from `data-server`
 * (SPEC §7), connects to `/v1/ws/widget` there, says hello and reports back in the DOM.
 */
const RIG_WIDGET_JS = `(() => {
  const script = document.currentScript;
  const base = new URL(script.dataset.server);
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  const status = document.getElementById('widget-status');
  status.dataset.scriptOrigin = new URL(script.src).origin;
  const socket = new WebSocket(new URL('/v1/ws/widget', base));
  socket.addEventListener('open', () => {
    socket.send(JSON.stringify({ type: 'hello', page: location.origin }));
    status.textContent = 'open';
  });
  socket.addEventListener('error', () => {
    status.textContent = 'error';
  });
})();
`;

/** Serves a host page on `pageHost` embedding the rig widget from widget.example. */
function embedRigWidget(origins: VirtualHosts, wsServer: RecordingWsServer, pageHost: string) {
  const scriptUrl = origins.url(WIDGET_HOST, '/widget.js');
  origins.script(WIDGET_HOST, '/widget.js', RIG_WIDGET_JS);
  // A path and query deeper than `/`, so a trimmed Referer proves the browser saw cross-origin.
  const pagePath = '/products/lamp.html?colour=teal';
  origins.page(
    pageHost,
    '/products/lamp.html',
    `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Lamp</title><link rel="icon" href="data:,"></head>
  <body>
    <p id="widget-status">loading</p>
    <script src="${scriptUrl}" data-server="${wsServer.httpOrigin(WS_HOST)}"></script>
  </body>
</html>
`,
  );
  return origins.url(pageHost, pagePath);
}

function onlyUpgrade(wsServer: RecordingWsServer): RecordedUpgrade {
  expect(wsServer.upgrades).toHaveLength(1);
  const [upgrade] = wsServer.upgrades;
  if (!upgrade) throw new Error('unreachable: length checked above');
  return upgrade;
}

test.describe('cross-origin rig', () => {
  test('a widget script from another origin connects with the host page as Origin', async ({
    page,
    origins,
    wsServer,
  }) => {
    const shopOrigin = origins.origin('shop.example');
    await page.goto(embedRigWidget(origins, wsServer, 'shop.example'));

    const status = page.locator('#widget-status');
    await expect(status).toHaveText('open');
    expect(await page.evaluate(() => location.origin)).toBe(shopOrigin);
    await expect(status).toHaveAttribute('data-script-origin', origins.origin(WIDGET_HOST));

    // The script was fetched from the widget.example virtual host, by the shop page, and the
    // browser trimmed the Referer to the shop's origin: it treated the fetch as cross-origin.
    // (No Sec-Fetch-Site to check: Chromium sends it to trustworthy origins only, not http.)
    const scriptFetches = origins.requestsFor(WIDGET_HOST, '/widget.js');
    expect(scriptFetches).toHaveLength(1);
    expect(scriptFetches[0]?.headers.host).toBe(`${WIDGET_HOST}:${origins.port}`);
    expect(scriptFetches[0]?.headers.referer).toBe(`${shopOrigin}/`);

    await expect
      .poll(() => wsServer.upgrades[0]?.messages)
      .toEqual([JSON.stringify({ type: 'hello', page: shopOrigin })]);
    const upgrade = onlyUpgrade(wsServer);
    expect(upgrade.origin).toBe(shopOrigin);
    expect(upgrade.path).toBe('/v1/ws/widget');
    expect(upgrade.headers.host).toBe(`${WS_HOST}:${wsServer.port}`);
  });

  test('a lookalike host is its own origin, not the shop', async ({ page, origins, wsServer }) => {
    const lookalike = 'shop.example.evil.test';
    await page.goto(embedRigWidget(origins, wsServer, lookalike));

    await expect(page.locator('#widget-status')).toHaveText('open');
    await expect.poll(() => wsServer.upgrades.length).toBe(1);
    const upgrade = onlyUpgrade(wsServer);
    expect(upgrade.origin).toBe(`http://${lookalike}:${origins.port}`);
    expect(upgrade.origin).not.toBe(origins.origin('shop.example'));
  });
});
