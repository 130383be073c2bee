// A message flood (issue 6 point 11; SPEC §5 `POSTERN_MSG_RATE`, §4 close code 4008). The server
// allows 2 frames per socket per 10 s here and closes with 4008 `retry=15` past twice that. The
// widget keeps the flood in its outbox and re-sends it on every reconnect, so every reconnect
// floods again — exactly the loop the policy's attempt cap exists to end: at least the hinted
// 15 s between attempts, at most 8 attempts, then a stop until the visitor acts.
import { CloseCode, closePolicy, parseRetryHint } from '@postern/protocol';
import { expect, test } from '../postern-fixtures.js';
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

const policy = closePolicy(CloseCode.RATE_LIMITED);
const MAX_ATTEMPTS = policy.maxAttempts ?? 0;
/** More messages than the reconnects can drain (each admits one before the close), so it loops. */
const FLOOD = 2 * MAX_ATTEMPTS + 6;

test('a flood is closed with 4008 and the widget backs off within the attempt cap, then waits for the visitor', async ({
  page,
  origins,
  launchServer,
}) => {
  expect(policy).toMatchObject({ action: 'backoff', honoursRetryHint: true, maxAttempts: 8 });
  const server = await launchServer({ env: { POSTERN_MSG_RATE: '2' } });
  await page.clock.install();
  const traffic = watchTraffic(page);
  await page.goto(serveShop(origins, server, { siteToken: server.siteToken([SHOP]) }));
  const ui = await openChat(page);
  await firstReady(page);

  for (let i = 1; i <= FLOOD; i += 1) await say(page, `Flood ${i}`);
  await expect(ui.status).toBeVisible();

  // Let every backoff run out, one reconnect at a time, until the widget stops (or clearly
  // does not: twice the cap).
  const closes = async () =>
    (await widgetEvents<StatePayload>(page, 'state')).filter((c) => c.disconnect?.code === 4008);
  for (let round = 0; round < 2 * MAX_ATTEMPTS; round += 1) {
    const before = (await closes()).length;
    const last = (await widgetEvents<StatePayload>(page, 'state')).at(-1);
    if (last?.state === 'stopped') break;
    await page.clock.fastForward(31_000);
    await expect.poll(async () => (await closes()).length).toBeGreaterThan(before);
  }

  await expect(ui.statusText).toHaveText('Too many attempts. Please try again in a moment.');
  await expect(ui.status.getByRole('button', { name: 'Try again' })).toBeVisible();
  const rateLimited = await closes();
  const final = rateLimited.at(-1);
  expect(final).toMatchObject({ state: 'stopped', disconnect: { revival: 'user_action' } });
  // The first connection plus the cap of reconnects (every one of them floods again, so the cap
  // is what ends it), each closed with 4008 `retry=15`.
  expect(traffic.sockets).toHaveLength(1 + MAX_ATTEMPTS);
  expect(rateLimited).toHaveLength(traffic.sockets.length);
  for (const close of rateLimited.slice(0, -1)) {
    const hintMs = parseRetryHint(close.disconnect?.reason ?? '') ?? 0;
    expect(hintMs).toBe(15_000);
    expect(close.disconnect?.nextRetryMs).toBeGreaterThanOrEqual(hintMs);
  }

  // Stopped means stopped: ten minutes of timers bring no new attempt.
  const sockets = traffic.sockets.length;
  await page.clock.runFor(600_000);
  await page.waitForTimeout(500);
  expect(traffic.sockets).toHaveLength(sockets);
  // A user action starts again.
  await ui.status.getByRole('button', { name: 'Try again' }).click();
  await expect.poll(() => traffic.sockets.length).toBe(sockets + 1);
});
