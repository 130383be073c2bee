/**
 * The built Postern server as the bench runs it: `node apps/server/dist/main.js` in production
 * mode with explicit secrets, a database in a scratch directory, no assistant (its replies would
 * be traffic of their own), and the per-IP, per-socket and per-visitor limits raised so that the
 * load generator measures throughput rather than the limiter doing its job. Everything else —
 * token checks, origin checks, the store, logs at `info` — is the default.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, runToEnd, type ServerProcess } from './processes.js';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));
export const POSTERN_MAIN = root('apps/server/dist/main.js');
export const POSTERN_CLI = root('apps/server/dist/cli.js');

export const SECRETS = Object.freeze({
  site: 'bench-site-secret-0123456789abcdefghijklmnop',
  visitor: 'bench-visitor-secret-0123456789abcdefghijklm',
  operator: 'bench-operator-secret-0123456789abcdefghijkl',
});
export const ISSUER = 'postern';
export const SHOP_DOMAIN = 'shop.example';
export const SHOP_ORIGIN = 'https://shop.example';
export const APP_ORIGIN = 'http://console.bench.example';

/** High enough that no limit of SPEC §5 is reached by the bench's own load. */
const RAISED_LIMITS = Object.freeze({
  POSTERN_CONN_RATE: '10000000',
  POSTERN_MAX_SOCKETS_PER_IP: '10000000',
  POSTERN_SESSION_RATE: '10000000',
  POSTERN_SITE_SESSION_RATE: '10000000',
  POSTERN_HTTP_RATE: '10000000',
  POSTERN_MSG_RATE: '10000000',
  POSTERN_VISITOR_MSG_RATE: '10000000',
  POSTERN_MAX_SOCKETS: '30000',
});

export function requirePosternBuild(): void {
  if (!existsSync(POSTERN_MAIN) || !existsSync(POSTERN_CLI)) {
    throw new Error(
      `${POSTERN_MAIN} is missing: build first (node scripts/pnpm.mjs -r build at the repo root)`,
    );
  }
}

export interface PosternSetup {
  /** Scratch directory holding the database and the server's log. */
  readonly dir: string;
  readonly port: number;
  readonly extraEnv?: Record<string, string>;
}

export function posternEnv(setup: PosternSetup): Record<string, string> {
  return {
    NODE_ENV: 'production',
    POSTERN_HOST: '127.0.0.1',
    POSTERN_PORT: String(setup.port),
    POSTERN_DB: join(setup.dir, 'p.db'),
    POSTERN_SITE_SECRET: SECRETS.site,
    POSTERN_SECRET: SECRETS.visitor,
    POSTERN_OPERATOR_SECRET: SECRETS.operator,
    POSTERN_ISSUER: ISSUER,
    POSTERN_APP_ORIGINS: APP_ORIGIN,
    POSTERN_ASSISTANT: 'none',
    ...RAISED_LIMITS,
    ...setup.extraEnv,
  };
}

export function startPostern(setup: PosternSetup, name = 'postern'): Promise<ServerProcess> {
  return launch({ name, script: POSTERN_MAIN, env: posternEnv(setup), dir: setup.dir });
}

/** `postern site create --json` against the setup's database: the site token a site owner gets. */
export async function createSite(setup: PosternSetup): Promise<string> {
  const out = await runToEnd(
    [
      POSTERN_CLI,
      'site',
      'create',
      '--domains',
      SHOP_DOMAIN,
      '--server',
      `http://127.0.0.1:${setup.port}`,
      '--json',
    ],
    { env: posternEnv(setup), timeoutMs: 30_000 },
  );
  const token = (JSON.parse(out) as { site_token?: unknown }).site_token;
  if (typeof token !== 'string') throw new Error('site create printed no site_token');
  return token;
}
