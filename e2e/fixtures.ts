// Playwright fixtures, one per concern. Tests import `test` and `expect` from here, never from
// '@playwright/test' directly, so the console-error guard applies to every test.
import {
  type BrowserContext,
  test as base,
  type ConsoleMessage,
  type WebError,
} from '@playwright/test';
import { RecordingWsServer } from './rig/recording-ws-server.js';
import { VirtualHosts } from './rig/virtual-hosts.js';

export { expect } from '@playwright/test';
export type { RecordedUpgrade } from './rig/recording-ws-server.js';
export type { RecordedRequest } from './rig/virtual-hosts.js';

/** What the console-error guard has seen; it fails the test at teardown unless allowed. */
export interface ConsoleErrors {
  /** Unexpected errors so far, one line each: `console.error: text (url:line)`. */
  readonly messages: readonly string[];
  /** Accepts errors whose line matches `pattern`, for tests that provoke them on purpose. */
  allow(pattern: RegExp): void;
  /** Guards another context too (the test's own `context` is always guarded). */
  watch(context: BrowserContext): void;
}

export interface Options {
  /** Fail a test that logged console errors or threw uncaught page errors. Default true. */
  failOnConsoleErrors: boolean;
}

export interface Fixtures {
  /** Virtual-host HTTP server: real, distinct origins such as `http://shop.example:PORT`. */
  origins: VirtualHosts;
  /** Recording WebSocket server: every handshake's Origin, path and frames. */
  wsServer: RecordingWsServer;
  /** Console-error guard, on for every test (see {@link Options.failOnConsoleErrors}). */
  consoleErrors: ConsoleErrors;
}

function describeConsoleMessage(message: ConsoleMessage): string {
  const { url, lineNumber } = message.location();
  return `console.error: ${message.text()}${url ? ` (${url}:${lineNumber})` : ''}`;
}

function describeWebError(webError: WebError): string {
  const error = webError.error();
  return `uncaught ${error.name}: ${error.message} (${webError.page()?.url() ?? 'no page'})`;
}

export const test = base.extend<Fixtures & Options>({
  failOnConsoleErrors: [true, { option: true }],

  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads dependencies from this pattern
  origins: async ({}, use) => {
    const origins = await VirtualHosts.start();
    await use(origins);
    await origins.close();
  },

  // biome-ignore lint/correctness/noEmptyPattern: Playwright reads dependencies from this pattern
  wsServer: async ({}, use) => {
    const wsServer = await RecordingWsServer.start();
    await use(wsServer);
    await wsServer.close();
  },

  consoleErrors: [
    async ({ context, failOnConsoleErrors }, use, testInfo) => {
      const seen: string[] = [];
      const allowed: RegExp[] = [];
      const onConsole = (message: ConsoleMessage) => {
        if (message.type() === 'error') seen.push(describeConsoleMessage(message));
      };
      const onWebError = (webError: WebError) => seen.push(describeWebError(webError));
      const watched: BrowserContext[] = [];
      const watch = (watchedContext: BrowserContext) => {
        // Listening on a context covers every page, popup and frame the test opens in it.
        watchedContext.on('console', onConsole);
        watchedContext.on('weberror', onWebError);
        watched.push(watchedContext);
      };
      watch(context);

      const unexpected = () => seen.filter((line) => !allowed.some((p) => p.test(line)));
      await use({
        get messages() {
          return unexpected();
        },
        allow(pattern) {
          allowed.push(pattern);
        },
        watch,
      });

      for (const watchedContext of watched) {
        watchedContext.off('console', onConsole);
        watchedContext.off('weberror', onWebError);
      }
      const errors = unexpected();
      if (errors.length === 0 || !failOnConsoleErrors) return;
      await testInfo.attach('console-errors', {
        body: errors.join('\n'),
        contentType: 'text/plain',
      });
      throw new Error(
        `page reported ${errors.length} error(s); allow them with consoleErrors.allow(/…/) ` +
          `or test.use({ failOnConsoleErrors: false }):\n  ${errors.join('\n  ')}`,
      );
    },
    { auto: true },
  ],
});
