// `data-server` read by the real widget.js (SPEC §7, SDK README "Script-tag options"): the
// script is loaded from one name of the Postern server and `data-server` names another, so the
// session request and the socket can only reach the `data-server` name if the widget took it from
// the attribute rather than from the script's own `src`.
import { expect, test } from '../postern-fixtures.js';
import { CHAT, firstReady, openChat, SHOP, say, serveShop } from '../rig/shop-page.js';
import { watchTraffic } from '../rig/traffic.js';

/** Another name of the same Postern server: where the page loads widget.js from. */
const CDN = 'cdn.example';

test('the widget loaded from one origin talks to the data-server origin only', async ({
  page,
  origins,
  postern,
}) => {
  const traffic = watchTraffic(page);
  const requests: string[] = [];
  const sockets: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('websocket', (socket) => sockets.push(socket.url()));
  const scriptSrc = `${postern.origin(CDN)}/widget.js`;
  await page.goto(
    serveShop(origins, postern, {
      siteToken: postern.siteToken([SHOP]),
      scriptSrc,
      server: postern.origin(CHAT),
    }),
  );
  const ui = await openChat(page);
  await firstReady(page);
  await say(page, 'Hello');
  await expect(ui.bubbles('assistant')).toHaveCount(1);

  expect(traffic.sessionRequests.length).toBeGreaterThanOrEqual(1);
  for (const { url } of traffic.sessionRequests) {
    expect(new URL(url).origin).toBe(postern.origin(CHAT));
  }
  expect(sockets).toEqual([`ws://${CHAT}:${postern.port}/v1/ws/widget`]);
  // The script's own origin served the script and nothing else.
  expect(requests.filter((url) => new URL(url).hostname === CDN)).toEqual([scriptSrc]);
});
