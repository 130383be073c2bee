// The server restarts mid-conversation (issue 6 point 8; docs/chat.md "Shutdown and restarts"):
// SIGTERM closes every socket with 1001, the process comes back on the same port and database,
// and the widget reconnects by itself. What the visitor wrote meanwhile waits in the outbox and
// arrives exactly once, in order — for the visitor and for the operator.
import { expect, test } from '../postern-fixtures.js';
import { refusedSocket } from '../rig/browser-noise.js';
import { connectOperator, type Frame } from '../rig/postern-server.js';
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

const WHILE_DOWN = ['Are you there?', 'My order is 1234.', 'It has not arrived.'];

test('after a server restart the widget reconnects and delivers what was typed meanwhile, once and in order', async ({
  page,
  origins,
  launchServer,
  consoleErrors,
}) => {
  const server = await launchServer();
  // Chromium logs each reconnect attempt refused while the server is down.
  consoleErrors.allow(refusedSocket(server));
  await page.clock.install();
  const traffic = watchTraffic(page);
  await page.goto(serveShop(origins, server, { siteToken: server.siteToken([SHOP]) }));
  const ui = await openChat(page);
  const { dialogId } = await firstReady(page);
  await say(page, 'Hello');
  await expect(ui.bubbles('assistant')).toHaveCount(1);

  await server.stop();
  await expect(ui.statusText).toHaveText('Offline. Reconnecting…');
  const goingAway = (await widgetEvents<StatePayload>(page, 'state')).at(-1);
  expect(goingAway?.disconnect).toMatchObject({ code: 1001, source: 'server' });
  for (const text of WHILE_DOWN) await say(page, text);
  await expect(ui.statusText).toHaveText('Offline. 3 messages waiting to be sent.');
  await expect(ui.pending).toHaveCount(3);

  await server.start();
  // The operator's console reconnects too and follows the dialog before the widget is back.
  const operator = await connectOperator(server, server.operatorToken());
  operator.send({ type: 'subscribe', dialog_id: dialogId });

  // The 1001 reconnect is spread over up to 10 s (then backoff while the port was closed): run
  // the widget's timers forward instead of waiting for them.
  await expect(async () => {
    await page.clock.fastForward(5_000);
    await expect(ui.status).toBeHidden({ timeout: 1_000 });
  }).toPass({ timeout: 20_000 });

  await expect(ui.pending).toHaveCount(0);
  await expect(ui.notSent).toHaveCount(0);
  await expect(ui.bubbles('visitor')).toHaveText(['Hello', ...WHILE_DOWN]);
  const isVisitorMessage = (frame: Frame) =>
    frame['type'] === 'message' && frame['dialog_id'] === dialogId && frame['sender'] === 'visitor';
  await operator.waitFor(
    (frame) => isVisitorMessage(frame) && frame['text'] === WHILE_DOWN.at(-1),
    'the last message typed while the server was down',
  );
  expect(operator.frames.filter(isVisitorMessage).map((frame) => frame['text'])).toEqual(
    WHILE_DOWN,
  );
  operator.close();

  const history = await server.history(dialogId);
  expect(history.filter((m) => m.sender === 'visitor').map((m) => m.text)).toEqual([
    'Hello',
    ...WHILE_DOWN,
  ]);
  expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
  // The widget never gave up: every close on the way was one the policy retries.
  const states = await widgetEvents<StatePayload>(page, 'state');
  expect(states.map((change) => change.state)).not.toContain('stopped');
  expect(traffic.sockets.at(-1)?.closed).toBe(false);
});
