/**
 * Process entry: `node dist/main.js`. Reads the environment once, starts the server, and shuts
 * down cleanly on SIGTERM/SIGINT. Everything else takes its dependencies as parameters.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { loadConfig } from './config.js';
import { loadWidgetScript } from './http/widget-script.js';
import { createPosternServer } from './server.js';

/** Starts the server from the process environment; exits non-zero on bad configuration. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const result = loadConfig(env);
  if (!result.ok) {
    for (const error of result.errors) console.error(`postern: ${error}`);
    process.exitCode = 1;
    return;
  }
  const server = createPosternServer({ config: result.config, widget: loadWidgetScript() });
  const port = await server.listen();
  console.log(`postern: listening on http://${result.config.host ?? 'localhost'}:${port}`);

  const stop = (signal: NodeJS.Signals) => {
    console.log(`postern: ${signal}, shutting down`);
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// Run when executed directly (`node dist/main.js`), not when imported by the CLI or tests.
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href)
  await main();
