/**
 * Process entry: `node dist/main.js`. Reads the environment once, opens the store (taking the
 * database lock), starts the server, and shuts down cleanly on SIGTERM/SIGINT.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { loadConfig } from './config.js';
import { startControlChannel } from './control/live.js';
import { resolveKeys } from './dev-secrets.js';
import { loadWidgetScript } from './http/widget-script.js';
import { createLogger } from './log.js';
import { createPosternServer } from './server.js';
import { openSqliteStore, StoreOpenError } from './store/sqlite.js';

/** Starts the server from the environment; sets a non-zero exit code on bad configuration. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const result = loadConfig(env, { readFile: (path) => readFileSync(path) });
  if (!result.ok) {
    for (const error of result.errors) console.error(`postern: ${error}`);
    process.exitCode = 1;
    return;
  }
  const { config } = result;
  for (const warning of result.warnings) console.error(`postern: warning: ${warning}`);
  const log = createLogger((line) => process.stdout.write(line), config.logLevel);

  let store: ReturnType<typeof openSqliteStore>;
  try {
    store = openSqliteStore({ path: config.db, synchronous: config.dbSync });
  } catch (error) {
    if (error instanceof StoreOpenError) {
      console.error(`postern: POSTERN_DB: ${error.message}`);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
  const { keys, generated } = resolveKeys(config);
  if (generated.length > 0) {
    console.error(`postern: development secrets in use for: ${generated.join(', ')}`);
  }
  const server = await createPosternServer({
    config,
    keys,
    store,
    widget: loadWidgetScript(),
    log,
  });
  const port = await server.listen();
  // The CLI's way in while this process holds the database lock (revoke, backup, erase…).
  const control = await startControlChannel({
    db: config.db,
    store,
    revocations: server.revocations,
    log,
  });
  const metrics = server.metricsAddress();
  log.info('listening', {
    port,
    host: config.host ?? null,
    production: config.production,
    tls: config.tls !== null,
    metrics_port: metrics?.port ?? null,
    metrics_host: metrics?.address ?? null,
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting_down', { signal });
    void (control?.close() ?? Promise.resolve())
      .then(() => server.close())
      .then(() => store.close())
      .then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

// Run when executed directly (`node dist/main.js`), not when imported by the CLI or tests.
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href)
  await main();
