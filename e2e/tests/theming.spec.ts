// Theming the widget (SDK README "Theming"): `data-color` and `data-position` on the script tag,
// and the `--postern-*` custom properties a host page sets on the `postern-widget` element or on
// its own root, read as the computed styles of the parts inside the widget's shadow root. The
// page's stylesheet is its own file (`style-src 'self'` in the host CSP of SPEC §7), as a shop's
// would be; the widget itself still writes no style the policy blocks.
import type { Page } from '@playwright/test';
import { expect, test } from '../postern-fixtures.js';
import { cspViolations, SHOP, serveShop, watchCsp, widget } from '../rig/shop-page.js';

const DEFAULT_ACCENT = 'rgb(11, 87, 208)'; // #0b57d0
const WHITE = 'rgb(255, 255, 255)';
const BLACK = 'rgb(0, 0, 0)';
const MARGIN = 20; // the launcher's and the panel's distance from the viewport's edge

/** The widget's parts that take the theme: the accent, its text, corners, font and stacking. */
function themedParts(page: Page) {
  const ui = widget(page);
  return {
    ...ui,
    head: page.locator('postern-widget .head'),
    send: page.locator('postern-widget button.send'),
  };
}

/** The launcher and the panel, opened, as boxes; the viewport's width. */
async function layout(page: Page) {
  const ui = widget(page);
  await page.emulateMedia({ reducedMotion: 'reduce' }); // the panel's box without its slide-in
  const launcher = await ui.launcher.boundingBox();
  await ui.launcher.click();
  await expect(ui.panel).toBeVisible();
  const panel = await ui.panel.boundingBox();
  return { launcher, panel, width: page.viewportSize()?.width ?? 0 };
}

test.describe('widget theming', () => {
  test('untouched: the default accent with white text, 16 px corners, bottom right', async ({
    page,
    origins,
    postern,
  }) => {
    await watchCsp(page);
    await page.goto(serveShop(origins, postern, { siteToken: postern.siteToken([SHOP]) }));
    const ui = themedParts(page);
    await expect(ui.launcher).toHaveCSS('background-color', DEFAULT_ACCENT);
    await expect(ui.launcher).toHaveCSS('color', WHITE);
    await expect(ui.launcher).toHaveCSS('z-index', '2147483000');
    const { launcher, panel, width } = await layout(page);
    expect((launcher?.x ?? 0) + (launcher?.width ?? 0)).toBe(width - MARGIN);
    expect((panel?.x ?? 0) + (panel?.width ?? 0)).toBe(width - MARGIN);
    await expect(ui.panel).toHaveCSS('border-radius', '16px');
    await expect(ui.panel).not.toHaveCSS('font-family', /Georgia/);
    await expect(ui.head).toHaveCSS('background-color', DEFAULT_ACCENT);
    await expect(ui.send).toHaveCSS('background-color', DEFAULT_ACCENT);
    expect(await cspViolations(page)).toEqual([]);
  });

  test('data-color sets the accent with the text that contrasts more; data-position="left" moves launcher and panel', async ({
    page,
    origins,
    postern,
  }) => {
    await watchCsp(page);
    await page.goto(
      serveShop(origins, postern, {
        siteToken: postern.siteToken([SHOP]),
        color: '#9cf', // #99ccff: light, so the text on it is black
        position: 'left',
      }),
    );
    const ui = themedParts(page);
    await expect(ui.launcher).toHaveCSS('background-color', 'rgb(153, 204, 255)');
    await expect(ui.launcher).toHaveCSS('color', BLACK);
    const { launcher, panel } = await layout(page);
    expect(launcher?.x).toBe(MARGIN);
    expect(panel?.x).toBe(MARGIN);
    await expect(ui.head).toHaveCSS('background-color', 'rgb(153, 204, 255)');
    await expect(ui.head).toHaveCSS('color', BLACK);
    await expect(ui.send).toHaveCSS('color', BLACK);
    expect(await cspViolations(page)).toEqual([]);
  });

  test('--postern-* properties set on postern-widget by the page theme accent, text, font, corners and stacking', async ({
    page,
    origins,
    postern,
  }) => {
    await watchCsp(page);
    await page.goto(
      serveShop(origins, postern, {
        siteToken: postern.siteToken([SHOP]),
        stylesheet: `postern-widget {
  --postern-accent: #6a1b9a;
  --postern-accent-text: #ffeb3b;
  --postern-font: Georgia, serif;
  --postern-radius: 4px;
  --postern-z: 1234;
}`,
      }),
    );
    const ui = themedParts(page);
    await expect(ui.launcher).toHaveCSS('background-color', 'rgb(106, 27, 154)');
    await expect(ui.launcher).toHaveCSS('color', 'rgb(255, 235, 59)');
    await expect(ui.launcher).toHaveCSS('z-index', '1234');
    await layout(page);
    await expect(ui.panel).toHaveCSS('border-radius', '4px');
    await expect(ui.panel).toHaveCSS('font-family', 'Georgia, serif');
    await expect(ui.panel).toHaveCSS('z-index', '1234');
    await expect(ui.head).toHaveCSS('background-color', 'rgb(106, 27, 154)');
    await expect(ui.head).toHaveCSS('color', 'rgb(255, 235, 59)');
    await expect(ui.send).toHaveCSS('background-color', 'rgb(106, 27, 154)');
    expect(await cspViolations(page)).toEqual([]);
  });

  test('--postern-* properties set on the page root are inherited by the widget', async ({
    page,
    origins,
    postern,
  }) => {
    await page.goto(
      serveShop(origins, postern, {
        siteToken: postern.siteToken([SHOP]),
        stylesheet: ':root { --postern-accent: #00695c; --postern-radius: 0px; }',
      }),
    );
    const ui = themedParts(page);
    await expect(ui.launcher).toHaveCSS('background-color', 'rgb(0, 105, 92)');
    await layout(page);
    await expect(ui.panel).toHaveCSS('border-radius', '0px');
    await expect(ui.head).toHaveCSS('background-color', 'rgb(0, 105, 92)');
  });
});
