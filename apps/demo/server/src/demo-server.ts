/**
 * Starts the demo web server: one port, three hosts (shop, other, app). Takes everything it
 * depends on as parameters; `main.ts` wires it to the environment and the process.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEMO_SITE, type DemoConfig, DemoHosts } from './config.js';
import { mintOperatorToken, mintSiteToken, OPERATOR_TOKEN_TTL_S } from './demo-tokens.js';
import { createDemoRoutes } from './routes.js';
import { loadSigningKeys } from './signing-keys.js';
import { loadStaticFile, loadStaticFolder } from './static-files.js';

/** The operator every console session is: an admin of the demo site only. */
export const DEMO_OPERATOR = Object.freeze({
  operatorId: 'demo-operator',
  name: 'Demo operator',
  sites: Object.freeze([DEMO_SITE.id]),
  scope: Object.freeze(['admin']),
});

export interface DemoServerOptions {
  /** The built console (`apps/demo/dist/console`). */
  readonly consoleDir: string;
  /** The host pages' stylesheet. */
  readonly shopCss: string;
  readonly now?: () => number;
  readonly readFile?: (path: string) => Buffer;
  readonly onError?: (error: unknown) => void;
}

export interface DemoServer {
  readonly port: number;
  /** The three demo origins, e.g. `http://shop.localhost:8788`. */
  readonly origins: { readonly shop: string; readonly other: string; readonly app: string };
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Reads the signing keys and the built files, listens, then mints the site token.
 * Throws (before listening) when the keys or the console build cannot be found.
 */
export async function startDemoServer(
  config: DemoConfig,
  options: DemoServerOptions,
): Promise<DemoServer> {
  const now = options.now ?? Date.now;
  const keys = options.readFile
    ? loadSigningKeys(config, options.readFile)
    : loadSigningKeys(config);
  const consoleFiles = loadStaticFolder(options.consoleDir);
  const shopFiles = loadStaticFile(options.shopCss, '/shop.css');
  const context = { issuer: config.issuer, now };
  const site = await mintSiteToken(
    keys.site,
    {
      siteId: DEMO_SITE.id,
      assistantId: DEMO_SITE.assistantId,
      allowedDomains: DEMO_SITE.allowedDomains,
    },
    context,
  );

  const server = createServer();
  const port = await listen(server, config.port, config.host);
  const origins = Object.freeze({
    shop: `http://${DemoHosts.shop}:${port}`,
    other: `http://${DemoHosts.other}:${port}`,
    app: `http://${DemoHosts.app}:${port}`,
  });
  const operatorKey = keys.operator;
  server.on(
    'request',
    createDemoRoutes({
      origins,
      serverOrigin: config.serverOrigin,
      siteToken: site.token,
      mintOperatorToken:
        config.production || operatorKey === null
          ? null
          : () =>
              mintOperatorToken(
                operatorKey,
                { ...DEMO_OPERATOR, ttlS: OPERATOR_TOKEN_TTL_S },
                context,
              ),
      consoleFiles,
      shopFiles,
      nonce: () => randomBytes(18).toString('base64'),
      onError: options.onError ?? ((error) => console.error('postern-demo:', error)),
    }),
  );

  return {
    port,
    origins,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of open tabs would hold the close for minutes.
        server.closeAllConnections();
      }),
  };
}
