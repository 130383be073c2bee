// The browser goes offline and comes back (issue 6 point 9). Chromium's offline mode leaves an
// open WebSocket "open" but carries nothing on it — like a dropped Wi-Fi, where no close ever
// arrives — so the widget learns of it from its heartbeat deadline (`ping_interval_ms` + 10 s,
// run forward on the page clock). It then says it is offline and how many messages wait, keeps
// them, and sends them when the network returns: the `online` event cuts the backoff short.
import { HEARTBEAT_GRACE_MS } from '@postern/protocol';
import { expect, test } from '../postern-fixtures.js';
import { refusedSocket } from '../rig/browser-noise.js';
import {
  firstReady,
  openChat,
  SHOP,
  type StatePayload,
  say,
  serveShop,
  widgetEvents,
} from '../rig/shop-page.js';
import { watchTraffic } from '../rig/traffic.js';

test('offline and back: the UI shows offline with the waiting count, then the queue flushes', async ({
  page,
  context,
  origins,
  postern,
  consoleErrors,
}) => {
  // Chromium logs each reconnect attempt its offline mode refuses.
  consoleErrors.allow(refusedSocket(postern));
  await page.clock.install();
  const traffic = watchTraffic(page);
  await page.goto(serveShop(origins, postern, { siteToken: postern.siteToken([SHOP]) }));
  const ui = await openChat(page);
  const { dialogId } = await firstReady(page);
  await say(page, 'Hello');
  await expect(ui.bubbles('assistant')).toHaveCount(1);
  const pingIntervalMs = Number(traffic.received('ready')[0]?.['ping_interval_ms']);

  await context.setOffline(true);
  await say(page, 'Still there?');
  await expect(ui.pending).toHaveCount(1);
  await page.clock.fastForward(pingIntervalMs + HEARTBEAT_GRACE_MS + 1_000);
  await expect(ui.statusText).toHaveText('Offline. 1 message waiting to be sent.');
  const lost = (await widgetEvents<StatePayload>(page, 'state')).find((c) => c.disconnect);
  expect(lost?.disconnect).toMatchObject({ source: 'heartbeat' });
  await say(page, 'I lost my connection.');
  await expect(ui.statusText).toHaveText('Offline. 2 messages waiting to be sent.');
  await expect(ui.pending).toHaveCount(2);

  await context.setOffline(false);
  await expect(ui.status).toBeHidden();
  await expect(ui.pending).toHaveCount(0);
  await expect(ui.notSent).toHaveCount(0);
  const written = ['Hello', 'Still there?', 'I lost my connection.'];
  await expect(ui.bubbles('visitor')).toHaveText(written);
  const history = await postern.history(dialogId);
  expect(history.filter((m) => m.sender === 'visitor').map((m) => m.text)).toEqual(written);
  const states = await widgetEvents<StatePayload>(page, 'state');
  expect(states.map((change) => change.state)).not.toContain('stopped');
});

test('going offline is shown at once, not only after the heartbeat deadline', async ({
  page,
  context,
  origins,
  postern,
  consoleErrors,
}) => {
  // The browser's `offline` event drops the socket at once: without it the widget would show a
  // live chat for up to the heartbeat deadline (35 s by default) with the network gone.
  // Chromium logs the reconnect attempt its offline mode refuses, if backoff reaches it here.
  consoleErrors.allow(refusedSocket(postern));
  await page.goto(serveShop(origins, postern, { siteToken: postern.siteToken([SHOP]) }));
  const ui = await openChat(page);
  await firstReady(page);
  await context.setOffline(true);
  await expect(ui.status).toBeVisible({ timeout: 2_000 });
  await expect(ui.statusText).toHaveText('Offline. Reconnecting…');
});
