#!/usr/bin/env node
// `npm test`: the whole suite from a fresh clone. Installs with the lockfile, builds every package,
// typechecks, lints, runs unit and integration tests (Vitest), makes sure a Chromium exists, and
// runs the end-to-end suite (Playwright). Ends with one line: "postern: N passed, N failed".
//
//   npm test                 everything
//   npm test -- --no-e2e     skip the browser suite
//   npm test -- --e2e-only   only the browser suite (still installs and builds)
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { ensureChromium } from './lib/browser.mjs';
import { pnpm, step } from './lib/tools.mjs';

const args = new Set(process.argv.slice(2));
const runUnit = !args.has('--e2e-only');
const runE2e = !args.has('--no-e2e');
const root = new URL('..', import.meta.url);
const reports = new URL('reports/', root);
const started = Date.now();

rmSync(reports, { recursive: true, force: true });
mkdirSync(reports, { recursive: true });

await step('install (pnpm, frozen lockfile)', () => pnpm(['install', '--frozen-lockfile']));
await step('build every package', () => pnpm(['-r', 'build']));

const totals = { passed: 0, failed: 0, skipped: 0 };
let failedSuites = 0;

/** Runs a test suite without stopping the script, so every suite reports. */
async function suite(label, fn, count) {
  const begun = Date.now();
  console.log(`\n▶ ${label}`);
  const code = await fn();
  const counted = count();
  totals.passed += counted.passed;
  totals.failed += counted.failed;
  totals.skipped += counted.skipped;
  const failed = code !== 0 || counted.failed > 0;
  if (failed) failedSuites++;
  const seconds = ((Date.now() - begun) / 1000).toFixed(1);
  console.log(
    `${failed ? '✖' : '✔'} ${label}: ${counted.passed} passed, ${counted.failed} failed, ${counted.skipped} skipped (${seconds} s)`,
  );
}

function readJson(name) {
  try {
    return JSON.parse(readFileSync(new URL(name, reports), 'utf8'));
  } catch {
    return null;
  }
}

if (runUnit) {
  await step('typecheck', () => pnpm(['-r', 'typecheck']));
  await step('lint and format (biome)', () => pnpm(['exec', 'biome', 'ci', '.']));
  await suite(
    'unit and integration tests (vitest)',
    () =>
      pnpm([
        'exec',
        'vitest',
        'run',
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${new URL('vitest.json', reports).pathname}`,
      ]),
    () => {
      const report = readJson('vitest.json');
      if (!report) return { passed: 0, failed: 1, skipped: 0 };
      // A file that fails outside any test (a hook, an import) fails no test: count it too, so
      // the last line never says "0 failed" for a red run.
      const brokenFiles = (report.testResults ?? []).filter(
        (file) =>
          file.status === 'failed' &&
          !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
      ).length;
      return {
        passed: report.numPassedTests,
        failed: report.numFailedTests + brokenFiles,
        skipped: report.numPendingTests + (report.numTodoTests ?? 0),
      };
    },
  );
}

if (runE2e) {
  let chromium = null;
  await step('browser', async () => {
    chromium = await ensureChromium();
    return 0;
  });
  const env = { ...process.env };
  if (chromium) env.CHROMIUM_PATH = chromium;
  await suite(
    'end-to-end tests (playwright, chromium)',
    () => pnpm(['--filter', '@postern/e2e', 'exec', 'playwright', 'test'], { env }),
    () => {
      const report = readJson('playwright.json');
      if (!report) return { passed: 0, failed: 1, skipped: 0 };
      const { expected = 0, unexpected = 0, flaky = 0, skipped = 0 } = report.stats ?? {};
      return { passed: expected + flaky, failed: unexpected, skipped };
    },
  );
}

const minutes = ((Date.now() - started) / 60_000).toFixed(1);
console.log(`\nwhole run: ${minutes} min; reports in reports/`);
console.log(`postern: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(failedSuites > 0 || totals.failed > 0 ? 1 : 0);
