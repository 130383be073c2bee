// Picks the Chromium the e2e suite drives. Node built-ins only: this runs before any install.
//
// A distribution's Chromium is preferred over Playwright's download: it is patched by the
// distribution, needs no extra 170 MB fetched from a CDN some networks block, and its shared
// libraries are already satisfied. Playwright's own browser remains the fallback.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './tools.mjs';

/** The e2e package, whose local `@playwright/test` performs the fallback download. */
const E2E_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../e2e');

/** Executable names looked up on PATH, most specific first. */
const EXECUTABLE_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** Install locations that are not always on PATH (cron jobs, minimal CI shells, macOS). */
const WELL_KNOWN_PATHS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/usr/lib/chromium/chromium',
  '/opt/google/chrome/chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

function isExecutableFile(path) {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves with the browser's `--version` line, or null when it does not run. Ubuntu ships
 * `/usr/bin/chromium-browser` as a shim that only asks for the snap, so existing is not enough.
 */
function browserVersion(path) {
  return new Promise((resolveVersion) => {
    execFile(path, ['--version'], { timeout: 15_000 }, (error, stdout) => {
      const line = String(stdout).trim().split('\n').at(-1) ?? '';
      resolveVersion(!error && /chrom/i.test(line) ? line : null);
    });
  });
}

function candidatePaths() {
  const onPath = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => isAbsolute(dir))
    .flatMap((dir) => EXECUTABLE_NAMES.map((name) => join(dir, name)));
  return [...new Set([...onPath, ...WELL_KNOWN_PATHS])];
}

/** The first installed Chromium or Chrome that answers `--version`, with that answer. */
async function findSystemChromium() {
  for (const path of candidatePaths()) {
    if (!isExecutableFile(path)) continue;
    const version = await browserVersion(path);
    if (version) return { path, version };
  }
  return null;
}

async function aptInstallChromium() {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if ((await run('apt-get', ['update'], { env })) !== 0) return false;
  const args = ['install', '-y', 'chromium'];
  return (await run('apt-get', args, { env })) === 0;
}

/**
 * Makes sure a Chromium is available for Playwright and says which one to use.
 *
 * Order: `CHROMIUM_PATH` (must exist); an installed Chromium or Chrome (PATH, then usual
 * locations); on Debian or Ubuntu as root, `apt-get install chromium`; otherwise
 * `npx playwright install chromium` in `e2e/`.
 *
 * @param {{ log?: (line: string) => void }} [options] where the one-line choice is reported
 *   (default `console.log`)
 * @returns {Promise<string | null>} absolute path for `CHROMIUM_PATH`, or null to let Playwright
 *   use the browser it downloaded
 * @example
 * const chromium = await ensureChromium();
 * if (chromium) process.env.CHROMIUM_PATH = chromium;
 */
export async function ensureChromium({ log = console.log } = {}) {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) {
    const path = resolve(configured);
    if (!existsSync(path)) {
      throw new Error(`CHROMIUM_PATH points to ${path}, which does not exist`);
    }
    if (!isExecutableFile(path)) {
      throw new Error(`CHROMIUM_PATH points to ${path}, which is not an executable file`);
    }
    log(`browser: ${path} (from CHROMIUM_PATH)`);
    return path;
  }

  const installed = await findSystemChromium();
  if (installed) {
    log(`browser: ${installed.path} (${installed.version}, found installed)`);
    return installed.path;
  }

  if (existsSync('/etc/debian_version') && process.getuid?.() === 0) {
    console.error('No Chromium found; installing the Debian package (apt-get install chromium)');
    if (await aptInstallChromium()) {
      const packaged = await findSystemChromium();
      if (packaged) {
        log(`browser: ${packaged.path} (${packaged.version}, installed with apt-get)`);
        return packaged.path;
      }
    }
    console.error('apt-get did not provide a working Chromium; falling back to Playwright');
  }

  const code = await run('npx', ['playwright', 'install', 'chromium'], { cwd: E2E_DIR });
  if (code !== 0) {
    throw new Error(
      `npx playwright install chromium failed (exit ${code}); install Chromium yourself ` +
        'and point CHROMIUM_PATH at its executable',
    );
  }
  log("browser: Playwright's own Chromium (no system Chromium found, downloaded it)");
  return null;
}
