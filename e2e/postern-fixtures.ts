// Fixtures for the tests that drive the real widget against the real server. Built on
// `fixtures.ts` (virtual hosts, console-error guard), adding one concern each: the worker's
// shared Postern server, the operator console's origin, servers of a test's own (for restarts,
// freezes and timing knobs) and further browser contexts under the same console-error guard.
import type { BrowserContext, BrowserContextOptions } from '@playwright/test';
import { test as base } from './fixtures.js';
import { ConsoleHost } from './rig/console-host.js';
import {
  type PosternServer,
  type PosternServerOptions,
  startPosternServer,
} from './rig/postern-server.js';
import { CHAT } from './rig/shop-page.js';

export { expect } from './fixtures.js';

interface WorkerFixtures {
  /** The built operator console on `http://console.example:PORT`, wired to {@link postern}. */
  consoleHost: ConsoleHost;
  /** One server per worker, default settings, its own database in a temporary directory. */
  postern: PosternServer;
}

interface TestFixtures {
  /**
   * Starts a server for this test alone (closed when it ends): for knobs the shared one must not
   * have, and for tests that stop, restart or freeze it.
   */
  launchServer: (options?: PosternServerOptions) => Promise<PosternServer>;
  /** Another browser context (a second visitor, an operator), under the console-error guard. */
  openContext: (options?: BrowserContextOptions) => Promise<BrowserContext>;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  consoleHost: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright reads dependencies from this pattern
    async ({}, use) => {
      const host = await ConsoleHost.start();
      await use(host);
      await host.close();
    },
    { scope: 'worker' },
  ],

  postern: [
    async ({ consoleHost }, use) => {
      const server = await startPosternServer({ appOrigins: [consoleHost.origin] });
      consoleHost.connect({
        serverOrigin: server.origin(CHAT),
        mintToken: () => server.operatorToken(),
      });
      await use(server);
      await server.close();
    },
    { scope: 'worker' },
  ],

  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads dependencies from this pattern
  launchServer: async ({}, use, testInfo) => {
    const started: PosternServer[] = [];
    await use(async (options = {}) => {
      const server = await startPosternServer(options);
      started.push(server);
      return server;
    });
    for (const server of started) {
      if (testInfo.status !== testInfo.expectedStatus) {
        await testInfo.attach('postern-server.log', {
          body: server.output,
          contentType: 'text/plain',
        });
      }
      await server.close();
    }
  },

  openContext: async ({ browser, consoleErrors }, use) => {
    const contexts: BrowserContext[] = [];
    await use(async (options) => {
      const context = await browser.newContext(options);
      consoleErrors.watch(context);
      contexts.push(context);
      return context;
    });
    for (const context of contexts) await context.close();
  },
});
