/**
 * The embed build prints the Subresource Integrity hash of widget.js (for snippets that load the
 * immutable `/widget/<version>/widget.js` with `integrity`) and writes it to `widget.js.sri`. Both
 * must be the hash of the bytes it wrote, or a site pasting the printed snippet gets a widget the
 * browser refuses to run. The build runs here into a temporary folder, with the SDK's own config.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Logger } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SDK_VERSION } from '../src/version.js';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));

/** A logger that keeps the build's info lines and prints nothing. */
function infoRecorder(lines: string[]): Logger {
  const logger: Logger = {
    hasWarned: false,
    info: (message) => void lines.push(message),
    warn: () => {
      logger.hasWarned = true;
    },
    warnOnce: () => {
      logger.hasWarned = true;
    },
    error: () => {},
    clearScreen: () => {},
    hasErrorLogged: () => false,
  };
  return logger;
}

describe('widget.js build', () => {
  const info: string[] = [];
  const outDir = mkdtempSync(join(tmpdir(), 'postern-sri-'));

  beforeAll(async () => {
    await build({
      configFile: join(PACKAGE, 'vite.config.ts'),
      root: PACKAGE,
      mode: 'embed',
      logLevel: 'info',
      customLogger: infoRecorder(info),
      build: { outDir },
    });
  }, 20_000);

  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
  });

  const integrityOfWritten = () =>
    `sha384-${createHash('sha384')
      .update(readFileSync(join(outDir, 'widget.js')))
      .digest('base64')}`;

  it('prints the integrity of the widget.js it wrote, for the versioned path', () => {
    const printed = info.filter((line) => line.includes('integrity='));
    expect(printed).toEqual([
      expect.stringContaining(
        `/widget/${SDK_VERSION}/widget.js integrity="${integrityOfWritten()}"`,
      ),
    ]);
  });

  it('writes the same integrity to widget.js.sri', () => {
    expect(readFileSync(join(outDir, 'widget.js.sri'), 'utf8')).toBe(`${integrityOfWritten()}\n`);
  });
});
