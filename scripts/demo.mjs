#!/usr/bin/env node
// `npm run demo`: from a fresh clone, installs, builds, and runs the whole demo on this machine:
// the Postern server (default port 8787, data in data/) and the demo web server (default port
// 8788) with the shop, a site where the widget is not allowed, and the operator console.
//
//   npm run demo                   install, build, start
//   npm run demo -- --no-build     start what is already built
//
// Ctrl-C (or SIGTERM) stops both servers cleanly. Data and generated dev secrets stay in data/
// (next to POSTERN_DB), so dialogs and tokens survive a restart.
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild, stopChildren, waitForHttp } from './lib/processes.mjs';
import { pnpm, step } from './lib/tools.mjs';

const root = new URL('..', import.meta.url);
const build = !process.argv.slice(2).includes('--no-build');
const posternPort = process.env.POSTERN_PORT ?? '8787';
const demoPort = process.env.POSTERN_DEMO_PORT ?? '8788';
// Both listen on loopback unless told otherwise: generated secrets and a route that mints
// operator tokens are for this machine only.
const posternHost = process.env.POSTERN_HOST ?? '127.0.0.1';
const probeHost = ['0.0.0.0', '::'].includes(posternHost) ? '127.0.0.1' : posternHost;
const demoHost = process.env.POSTERN_DEMO_HOST ?? '127.0.0.1';
// Where the server keeps its database and generated secrets (its default: ./data/postern.db).
const rootPath = fileURLToPath(root);
const dataPath = dirname(resolve(rootPath, process.env.POSTERN_DB ?? 'data/postern.db'));
const dataDir = dataPath.startsWith(rootPath) ? relative(rootPath, dataPath) || '.' : dataPath;

if (build) {
  await step('install (pnpm, frozen lockfile)', () => pnpm(['install', '--frozen-lockfile']));
  await step('build every package', () => pnpm(['-r', 'build']));
}

const env = {
  ...process.env,
  POSTERN_PORT: posternPort,
  POSTERN_HOST: posternHost,
  POSTERN_DEMO_PORT: demoPort,
  POSTERN_DEMO_HOST: demoHost,
  // The console's origin is the only one the server lets use the app API and socket.
  POSTERN_APP_ORIGINS: process.env.POSTERN_APP_ORIGINS ?? `http://app.localhost:${demoPort}`,
};

const children = [];
let stopping = false;

/** Stops both servers (SIGTERM, then SIGKILL after a grace period) and exits. */
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  const clean = await stopChildren(children);
  process.exit(clean ? code : 1);
}

// Children run in their own process group, so Ctrl-C reaches only this script, which then stops
// them in order; a second Ctrl-C while they stop is ignored rather than killing them mid-way.
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
// Last resort if this script dies some other way: never leave a server behind.
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && !child.signalCode) child.kill();
});

function watch(name, child) {
  children.push(child);
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(
      `\n✖ ${name} stopped unexpectedly (${signal ?? `exit ${code}`}); stopping the demo`,
    );
    void shutdown(1);
  });
}

console.log('\n▶ start the Postern server');
const postern = startChild('node', ['apps/server/dist/main.js'], { cwd: root, env });
watch('the Postern server', postern);
// The demo reads the dev secrets the server creates at start-up: wait until it is ready.
if (!(await waitForHttp(`http://${probeHost}:${posternPort}/readyz`, postern, 30_000))) {
  console.error(`✖ the Postern server did not become ready on port ${posternPort}`);
  await shutdown(1);
}

console.log('▶ start the demo web server');
const demo = startChild('node', ['apps/demo/dist/server/main.js'], { cwd: root, env });
watch('the demo web server', demo);
if (!(await waitForHttp(`http://${demoHost}:${demoPort}/healthz`, demo, 15_000))) {
  console.error(`✖ the demo web server did not start on port ${demoPort}`);
  await shutdown(1);
}

console.log(`
Postern demo is running. Open in Chromium or Firefox (*.localhost needs no set-up):

  Shop, widget allowed          http://shop.localhost:${demoPort}/
  Another site, not allowed     http://other.localhost:${demoPort}/
  Operator console              http://app.localhost:${demoPort}/

  Postern server                http://localhost:${posternPort}  (/healthz, /readyz, /widget.js)

Write in the shop's chat, then take the dialog in the console and reply.
Data and dev secrets are kept in ${dataDir}/ across restarts. Press Ctrl-C to stop.
`);
