import { availableParallelism } from 'node:os';
import { defineConfig } from '@playwright/test';

// The only environment this suite reads. CHROMIUM_PATH is set by scripts/lib/browser.mjs (or by
// hand); unset means the Chromium that `npx playwright install chromium` downloaded.
const { CHROMIUM_PATH, CI } = process.env;
const executablePath = CHROMIUM_PATH || undefined;
const onCi = Boolean(CI);

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  fullyParallel: true,
  forbidOnly: onCi,
  retries: onCi ? 1 : 0,
  // Each worker runs its own Chromium; more than two starves a 2-core CI machine.
  workers: Math.min(2, availableParallelism()),
  timeout: 30_000,
  expect: { timeout: 5_000 },
  reporter: [
    ['list'],
    // The repository's reports/ (read by `npm test` for its summary line); not under outputDir,
    // which Playwright empties when a run starts.
    ['json', { outputFile: '../reports/playwright.json' }],
    ['html', { open: 'never', outputFolder: './playwright-report' }],
  ],
  use: {
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    actionTimeout: 10_000,
    navigationTimeout: 15_000,
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: {
          ...(executablePath ? { executablePath } : {}),
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
            // Every *.example and *.test host is this machine, so tests serve pages from real,
            // distinct origins (shop.example, widget.example, shop.example.evil.test) and the
            // browser applies its real same-origin rules and sends real Origin headers.
            '--host-resolver-rules=MAP *.example 127.0.0.1, MAP *.test 127.0.0.1',
          ],
        },
      },
    },
  ],
});
