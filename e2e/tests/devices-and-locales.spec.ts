// The widget on phones and in a right-to-left locale (issue 6 point 12), each time under the
// host CSP of SPEC §7 with Trusted Types (every shop page of this suite carries it; the policy
// itself and its control are tested in widget-ui.spec.ts). Phones are Playwright's device
// profiles run in Chromium: viewport, device scale, touch and a mobile user agent.
import { devices } from '@playwright/test';
import { expect, test } from '../postern-fixtures.js';
import { cspViolations, firstReady, SHOP, serveShop, watchCsp, widget } from '../rig/shop-page.js';

for (const name of ['Pixel 7', 'iPhone 13'] as const) {
  test.describe(`on a ${name} profile`, () => {
    // The profile's own browser type would force a new worker; the engine here is Chromium.
    const { defaultBrowserType: _engine, ...profile } = devices[name];
    test.use(profile);

    test('the launcher opens a full-screen chat by touch and the visitor chats', async ({
      page,
      origins,
      postern,
    }) => {
      await watchCsp(page);
      await page.goto(serveShop(origins, postern, { siteToken: postern.siteToken([SHOP]) }));
      const ui = widget(page);
      await ui.launcher.tap();
      await firstReady(page);
      const viewport = page.viewportSize();
      expect(await ui.panel.boundingBox()).toEqual({
        x: 0,
        y: 0,
        width: viewport?.width,
        height: viewport?.height,
      });
      await ui.composer.tap();
      await ui.composer.fill('Do you ship abroad?');
      await page.locator('postern-widget button.send').tap();
      await expect(ui.bubbles('visitor')).toHaveText(['Do you ship abroad?']);
      await expect(ui.bubbles('assistant')).toHaveCount(1);
      // The log scrolls, the composer stays reachable above it.
      const composer = await ui.composer.boundingBox();
      expect((composer?.y ?? 0) + (composer?.height ?? 0)).toBeLessThanOrEqual(
        viewport?.height ?? 0,
      );
      await page.getByRole('button', { name: 'Close chat' }).first().tap();
      await expect(ui.panel).toBeHidden();
      await expect(ui.launcher).toBeVisible();
      expect(await cspViolations(page)).toEqual([]);
    });
  });
}

test('in Arabic the widget is laid out right to left and the visitor chats', async ({
  page,
  origins,
  postern,
}) => {
  await watchCsp(page);
  await page.goto(
    serveShop(origins, postern, { siteToken: postern.siteToken([SHOP]), locale: 'ar' }),
  );
  const ui = widget(page);
  await expect(ui.launcher).toHaveAccessibleName(/^فتح الدردشة/);
  await ui.launcher.click();
  await firstReady(page);
  await expect(ui.panel).toHaveAttribute('dir', 'rtl');
  const composer = page.getByRole('textbox', { name: 'رسالة' });
  await expect(composer).toBeFocused();
  await composer.fill('مرحبا، أين طلبي؟');
  await composer.press('Enter');
  await expect(ui.bubbles('visitor')).toHaveText(['مرحبا، أين طلبي؟']);
  await expect(ui.bubbles('visitor')).toHaveAttribute('dir', 'auto');
  await expect(ui.bubbles('assistant')).toHaveCount(1);

  // Mirrored: the send button sits to the left of the composer, the close button to the left of
  // the title, and the visitor's own bubbles on the left side of the log.
  const box = async (selector: string) =>
    (await page.locator(`postern-widget ${selector}`).first().boundingBox()) ?? {
      x: 0,
      width: 0,
    };
  expect((await box('button.send')).x).toBeLessThan((await box('textarea')).x);
  expect((await box('.head button')).x).toBeLessThan((await box('.head h2')).x);
  const log = await box('.log');
  const mine = await box('.msg[data-sender=visitor]');
  expect(mine.x - log.x).toBeLessThan(log.x + log.width - (mine.x + mine.width));
  expect(await cspViolations(page)).toEqual([]);
});
