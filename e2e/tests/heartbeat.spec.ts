// A frozen server (issue 6 point 10; SPEC §4 `ping`/`pong`, SDK README "Heartbeat"). SIGSTOP
// keeps the server's sockets open while it answers nothing, so no close ever reaches the widget:
// only its heartbeat can tell. The server pings every second here, so the widget's deadline is
// 1 s + 10 s of silence, run forward on the page clock. After SIGCONT the widget recovers alone.
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

const PING_INTERVAL_MS = 1_000;

test('a frozen server is detected by the heartbeat and the widget recovers after SIGCONT', async ({
  page,
  origins,
  launchServer,
  consoleErrors,
}) => {
  const server = await launchServer({
    env: { POSTERN_PING_INTERVAL_MS: String(PING_INTERVAL_MS) },
  });
  // Attempts made while the server is frozen never get an answer; Chromium logs each one the
  // widget gives up on.
  consoleErrors.allow(refusedSocket(server));
  await page.clock.install();
  const traffic = watchTraffic(page);
  await page.goto(serveShop(origins, server, { siteToken: server.siteToken([SHOP]) }));
  const ui = await openChat(page);
  const { dialogId } = await firstReady(page);
  await say(page, 'Hello');
  await expect(ui.bubbles('assistant')).toHaveCount(1);
  // The server's pings reach the widget, and it answers them.
  await expect.poll(() => traffic.sent('pong').length).toBeGreaterThanOrEqual(2);

  server.freeze();
  // Just short of the deadline the widget still trusts the socket …
  await page.clock.fastForward(PING_INTERVAL_MS + HEARTBEAT_GRACE_MS - 2_000);
  await page.waitForTimeout(200);
  await expect(ui.status).toBeHidden();
  // … past it, the silent socket is dead.
  await page.clock.fastForward(3_000);
  await expect(ui.statusText).toHaveText('Offline. Reconnecting…');
  const lost = (await widgetEvents<StatePayload>(page, 'state')).find((c) => c.disconnect);
  expect(lost?.disconnect).toMatchObject({ source: 'heartbeat' });
  await say(page, 'Is anyone there?');
  await expect(ui.statusText).toHaveText('Offline. 1 message waiting to be sent.');

  server.thaw();
  await expect(async () => {
    await page.clock.fastForward(5_000);
    await expect(ui.status).toBeHidden({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await expect(ui.pending).toHaveCount(0);
  await expect(ui.bubbles('visitor')).toHaveText(['Hello', 'Is anyone there?']);
  const history = await server.history(dialogId);
  expect(history.filter((m) => m.sender === 'visitor').map((m) => m.text)).toEqual([
    'Hello',
    'Is anyone there?',
  ]);
  const states = await widgetEvents<StatePayload>(page, 'state');
  expect(states.map((change) => change.state)).not.toContain('stopped');
});
