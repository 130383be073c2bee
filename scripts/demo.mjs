#!/usr/bin/env node
// `npm run demo`: installs, builds and starts Postern from a fresh clone.
// Today it starts the server only (probes and /widget.js); the shop page, the non-allowed page and
// the operator console join it as they are built.
import { pnpm, run, step } from './lib/tools.mjs';

const port = process.env.POSTERN_PORT ?? '8787';

await step('install (pnpm, frozen lockfile)', () => pnpm(['install', '--frozen-lockfile']));
await step('build every package', () => pnpm(['-r', 'build']));

console.log(`
Postern is starting on http://localhost:${port}
  http://localhost:${port}/healthz     liveness probe
  http://localhost:${port}/readyz      readiness probe
  http://localhost:${port}/widget.js   the script-tag build
Press Ctrl-C to stop.
`);
const code = await run('node', ['apps/server/dist/main.js'], {
  cwd: new URL('..', import.meta.url),
  env: { ...process.env, POSTERN_PORT: port },
});
process.exit(code);
