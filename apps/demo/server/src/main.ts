/**
 * Process entry of the demo web server: `node apps/demo/dist/server/main.js`, started by
 * `npm run demo` once the Postern server is ready (its dev secrets file exists then).
 * Reads the environment once, starts, and exits 0 on SIGTERM/SIGINT.
 */
import { fileURLToPath } from 'node:url';
import { loadDemoConfig } from './config.js';
import { startDemoServer } from './demo-server.js';

const appRoot = new URL('../../', import.meta.url);

async function main(): Promise<void> {
  const result = loadDemoConfig(process.env, process.cwd());
  if (!result.ok) {
    for (const error of result.errors) console.error(`postern-demo: ${error}`);
    process.exitCode = 1;
    return;
  }
  let server: Awaited<ReturnType<typeof startDemoServer>>;
  try {
    server = await startDemoServer(result.config, {
      consoleDir: fileURLToPath(new URL('dist/console', appRoot)),
      shopCss: fileURLToPath(new URL('pages/shop.css', appRoot)),
    });
  } catch (error) {
    console.error(`postern-demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
    return;
  }
  console.log(
    JSON.stringify({ event: 'listening', port: server.port, production: result.config.production }),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

await main();
