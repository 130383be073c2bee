// The console-error guard itself (issue 6 point 12): every test fails when a page it opened —
// in its own context or in one from `openContext` — logs a console error or throws an uncaught
// error, unless the test allowed that exact line. Each case below must fail (`test.fail`): if
// the guard stopped working, they would pass and this file would go red.
import { expect, test } from '../postern-fixtures.js';

const HOST = 'guard.example';

function page(html: string) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Guard</title>
<link rel="icon" href="data:,"></head><body><main><h1>Guard</h1></main>${html}</body></html>`;
}

test.describe('console-error guard', () => {
  test('an unexpected console.error fails the test', async ({ page: tab, origins }) => {
    test.fail(true, 'the guard turns the console.error into a failure at teardown');
    origins.page(HOST, '/', page('<script>console.error("unexpected")</script>'));
    await tab.goto(origins.url(HOST, '/'));
  });

  test('an uncaught page error fails the test', async ({ page: tab, origins }) => {
    test.fail(true, 'the guard turns the uncaught error into a failure at teardown');
    origins.page(
      HOST,
      '/',
      page('<script>setTimeout(() => { throw new Error("thrown") })</script>'),
    );
    await tab.goto(origins.url(HOST, '/'));
    await tab.waitForTimeout(100);
  });

  test('a console.error in another context fails the test', async ({ origins, openContext }) => {
    test.fail(true, 'contexts from openContext are guarded too');
    origins.page(HOST, '/', page('<script>console.error("elsewhere")</script>'));
    const other = await (await openContext()).newPage();
    await other.goto(origins.url(HOST, '/'));
  });

  test('an allowed line passes; the allow-list matches lines, not pages', async ({
    page: tab,
    origins,
    consoleErrors,
  }) => {
    consoleErrors.allow(/^console\.error: expected \(/);
    origins.page(HOST, '/', page('<script>console.error("expected")</script>'));
    await tab.goto(origins.url(HOST, '/'));
    await expect.poll(() => consoleErrors.messages).toEqual([]);
    await tab.evaluate(() => console.error('not expected'));
    await expect.poll(() => consoleErrors.messages).toHaveLength(1);
    // Cleared for teardown: this case is about the allow-list, not the failure.
    consoleErrors.allow(/not expected/);
  });
});
