// Shared by the root scripts (test, demo, pnpm). Node built-ins only: these run before any install.
import { spawn } from 'node:child_process';

/** pnpm version the lockfile is written with; `npx` fetches it from the npm registry. */
export const PNPM_VERSION = '10.34.8';

/** Runs a command with inherited stdio; resolves with its exit code (never rejects on failure). */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', ...options });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** Runs the pinned pnpm (see scripts/pnpm.mjs for why not corepack). */
export function pnpm(args, options = {}) {
  return run('npx', ['--yes', `pnpm@${PNPM_VERSION}`, ...args], options);
}

/** Runs a step, prints its duration, and exits the whole script when it fails. */
export async function step(label, fn) {
  const started = Date.now();
  console.log(`\n▶ ${label}`);
  const code = await fn();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (code !== 0) {
    console.error(`✖ ${label} failed (exit ${code}, ${seconds} s)`);
    process.exit(code);
  }
  console.log(`✔ ${label} (${seconds} s)`);
}
