// The SDK README's headless examples, run as written (issue 5: "the SDK README shows both uses
// with working examples"): each code block is read from the README, only its placeholders are
// replaced (each must occur exactly once, so the docs cannot drift from what is run), and it runs
// against the real server — in Chromium on a page of the site and on a lookalike origin, and under
// Node with `ws`. The script-tag snippet is what every widget spec loads (rig/shop-page.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from '@playwright/test';
import { expect, test } from '../postern-fixtures.js';
import { refusedSession } from '../rig/browser-noise.js';
import type { PosternServer } from '../rig/postern-server.js';
import { inRepository } from '../rig/repository.js';
import { SDK_MODULE, serveSdkModules } from '../rig/sdk-modules.js';
import { CHAT, SHOP } from '../rig/shop-page.js';
import type { VirtualHosts } from '../rig/virtual-hosts.js';

const README = readFileSync(inRepository('packages/widget-sdk/README.md'), 'utf8');
const SDK_ENTRY = inRepository('packages/widget-sdk/dist/index.js');

/** The `index`-th fenced code block after `heading` (its language tag must be `language`). */
function codeBlock(heading: string, language: string, index = 0): string {
  const start = README.indexOf(`\n${heading}\n`);
  if (start === -1) throw new Error(`README: no heading ${heading}`);
  const blocks = [...README.slice(start).matchAll(/\n```(\w+)\n([\s\S]*?)\n```/g)];
  const block = blocks[index];
  if (!block || block[1] !== language) throw new Error(`README: no ${language} block ${index}`);
  return block[2] as string;
}

/** `code` with each `[placeholder, value]` replaced; each placeholder must occur exactly once. */
function fill(code: string, replacements: readonly (readonly [string, string])[]): string {
  let filled = code;
  for (const [placeholder, value] of replacements) {
    const count = filled.split(placeholder).length - 1;
    if (count !== 1) throw new Error(`README example: ${placeholder} occurs ${count} times`);
    filled = filled.replace(placeholder, () => value);
  }
  return filled;
}

const SERVER_URL = "'https://chat.example.com'";
const SITE_TOKEN = "'eyJhbGciOiJIUzI1NiIsInR5cCI6InNpdGUrand0In0.…'";
const SDK_IMPORT = "from '@postern/widget-sdk'";

/** The SDK import as a bundler resolves it: the built ES module the page is served. */
const BROWSER_SDK: readonly [string, string] = [SDK_IMPORT, `from '${SDK_MODULE}'`];

/** Serves `code` as the page's module on `host` (the SDK from its built ES module). */
function servePage(origins: VirtualHosts, host: string, code: string): string {
  const importMap = serveSdkModules(origins, host);
  origins.page(
    host,
    '/',
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>README example</title>
<link rel="icon" href="data:,">${importMap}</head>
<body><h1>Support</h1><script type="module">
${code}
</script></body></html>
`,
  );
  return origins.url(host, '/');
}

/** What the page logs with `console.log`, as it comes. */
function consoleLines(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'log') lines.push(message.text());
  });
  return lines;
}

function headlessExample(server: PosternServer): string {
  return fill(codeBlock('## Headless client', 'ts'), [
    BROWSER_SDK,
    [SERVER_URL, JSON.stringify(server.origin(CHAT))],
    [SITE_TOKEN, JSON.stringify(server.siteToken([SHOP]))],
  ]);
}

test('the headless example chats from a page of the site: queued → sent → acked, and the assistant answers', async ({
  page,
  origins,
  postern,
}) => {
  const lines = consoleLines(page);
  await page.goto(servePage(origins, SHOP, headlessExample(postern)));
  await expect.poll(() => lines.find((line) => line.startsWith('assistant: '))).toBeTruthy();
  await expect
    .poll(() => lines.filter((line) => / (queued|sent|acked) $/.test(line)))
    .toEqual([
      expect.stringMatching(/ queued $/),
      expect.stringMatching(/ sent $/),
      expect.stringMatching(/ acked $/),
    ]);
  const id = lines.find((line) => line.endsWith(' queued '))?.split(' ')[0];
  expect(lines).toContain(`${id} acked `);
  expect(lines).toContain('visitor: Hello!');
  // requestHandoff(): the dialog notes that a person was asked for.
  await expect.poll(() => lines.some((line) => line.startsWith('system: '))).toBe(true);
  expect(lines).not.toContain('Chat is not available on this site.');
});

test('the headless example says chat is not available on a lookalike origin', async ({
  page,
  origins,
  postern,
  consoleErrors,
}) => {
  consoleErrors.allow(refusedSession(postern, 403));
  // Logged by the client with no `error` listener (the example has none), as documented.
  consoleErrors.allow(/^console\.error: TokenError: origin_not_allowed/);
  const lines = consoleLines(page);
  await page.goto(servePage(origins, `${SHOP}.evil.test`, headlessExample(postern)));
  await expect.poll(() => lines).toContain('Chat is not available on this site.');
  expect(lines.filter((line) => line.startsWith('assistant: '))).toEqual([]);
});

test("the custom getToken example connects with the backend's token, retries its 503 and stops on its 401", async ({
  page,
  origins,
  postern,
  consoleErrors,
}) => {
  // Logged by the client with no `error` listener: the refused token, as documented.
  consoleErrors.allow(/^console\.error: TokenError: ERR_TOKEN_(RETRY|UNAUTHORIZED)/);
  // Chromium's own lines for the backend's two refusals.
  consoleErrors.allow(
    /^console\.error: Failed to load resource: the server responded with a status of (503|401) .*\/api\/postern-token/,
  );
  const minted = await postern.session(postern.siteToken([SHOP]), origins.origin(SHOP));
  const answers: { status: number; body: string }[] = [
    { status: 503, body: 'busy' },
    { status: 200, body: minted.visitor_token },
  ];
  let asked = 0;
  await page.route('**/api/postern-token', (route) => {
    asked += 1;
    expect(route.request().method()).toBe('POST');
    return route.fulfill({ ...(answers.shift() ?? { status: 401, body: 'no' }) });
  });
  const example = fill(codeBlock('## Headless client', 'ts', 2), [
    BROWSER_SDK,
    [SERVER_URL, JSON.stringify(postern.origin(CHAT))],
  ]);
  // The example builds the client; the page then uses it as an application would.
  const driver = `
client.on('ready', ({ dialogId }) => console.log('ready ' + dialogId));
client.on('state', ({ state, disconnect }) => console.log('state ' + state + ' ' + (disconnect?.code ?? '')));
client.connect();`;
  const url = servePage(origins, SHOP, `${example}\n${driver}`);

  let lines = consoleLines(page);
  await page.goto(url);
  await expect.poll(() => lines).toContain(`ready ${minted.dialog_id}`);
  // "Try again later": the 503 became a passing failure (1013) and the next attempt connected.
  expect(lines.slice(0, 2)).toEqual(['state connecting ', 'state connecting 1013']);
  expect(asked).toBe(2);

  // Next page view: the backend refuses (401). "Unauthorised, stop": no retry follows.
  lines = consoleLines(page);
  await page.reload();
  await expect.poll(() => lines).toContain('state stopped 4002');
  await page.waitForTimeout(2_000);
  expect(asked).toBe(3);
});

test('the Node example chats with the server through ws, with the origin of a page of the site', async ({
  postern,
}) => {
  const require = createRequire(import.meta.url);
  const example = fill(codeBlock('## Headless client', 'js', 1), [
    [SDK_IMPORT, `from ${JSON.stringify(SDK_ENTRY.href)}`],
    ["from 'ws'", `from ${JSON.stringify(pathToFileURL(require.resolve('ws')).href)}`],
    ["'https://www.example.com'", JSON.stringify(`http://${SHOP}`)],
    [SERVER_URL, JSON.stringify(postern.origin('127.0.0.1'))],
    [SITE_TOKEN, JSON.stringify(postern.siteToken([SHOP]))],
  ]);
  const directory = mkdtempSync(join(tmpdir(), 'postern-readme-'));
  const script = join(directory, 'chat.mjs');
  writeFileSync(script, example);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  try {
    await expect.poll(() => output, { timeout: 15_000 }).toMatch(/^assistant: /m);
    expect(output).toMatch(/^visitor: Hello from Node$/m);
    expect(child.exitCode).toBeNull(); // still connected, nothing thrown
  } finally {
    child.kill();
    rmSync(directory, { recursive: true, force: true });
  }
});
