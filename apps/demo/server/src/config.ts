/**
 * Demo server configuration: parsed once from the environment into a frozen object. Problems are
 * collected, each naming its variable and rule (never the value), and start-up stops.
 * This is the only module of the demo server that reads environment variables (passed in).
 */
import { dirname, resolve } from 'node:path';
import { DEFAULT_DB, DEFAULT_ISSUER } from '@postern/protocol';

export type Env = Readonly<Record<string, string | undefined>>;

/** Demo host names; browsers resolve every `*.localhost` name to this machine. */
export const DemoHosts = Object.freeze({
  shop: 'shop.localhost',
  other: 'other.localhost',
  app: 'app.localhost',
} as const);

/** The demo site: allowed on the shop only, so `other.localhost` shows the refusal. */
export const DEMO_SITE = Object.freeze({
  id: 'demo-shop',
  assistantId: 'demo-assistant',
  allowedDomains: Object.freeze([DemoHosts.shop]),
});

export interface DemoConfig {
  /** `NODE_ENV=production`: the dev operator-token route does not exist. */
  readonly production: boolean;
  /** `POSTERN_DEMO_PORT` (default 8788; 0 picks a free one). */
  readonly port: number;
  /** `POSTERN_DEMO_HOST` (default 127.0.0.1: the dev token route must not face the network). */
  readonly host: string;
  /** Postern server origin as the browser reaches it: `POSTERN_DEMO_SERVER_URL`. */
  readonly serverOrigin: string;
  /** `POSTERN_ISSUER`, as the Postern server reads it. */
  readonly issuer: string;
  /** Folder of the Postern database, where it keeps generated dev secrets (`null`: `:memory:`). */
  readonly dataDir: string | null;
  /** Secrets given to the Postern server directly (they win over generated ones). */
  readonly secrets: SecretSources;
}

/** Where a secret comes from when set: inline value or a file (SPEC §2 `X` / `X_FILE`). */
export type SecretSource =
  | { readonly kind: 'inline'; readonly value: string }
  | { readonly kind: 'file'; readonly path: string };

export interface SecretSources {
  readonly site: SecretSource | null;
  /** `POSTERN_OPERATOR_SECRET`, else `POSTERN_SECRET` (the server's own fallback). */
  readonly operator: SecretSource | null;
}

export type DemoConfigResult =
  | { readonly ok: true; readonly config: DemoConfig }
  | { readonly ok: false; readonly errors: readonly string[] };

function present(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function readPort(env: Env, name: string, fallback: number, errors: string[]): number {
  const raw = present(env, name);
  if (raw === undefined) return fallback;
  const value = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= 0 && value <= 65_535)) {
    errors.push(`${name}: must be an integer from 0 to 65535`);
    return fallback;
  }
  return value;
}

/** The browser-visible Postern origin: an http(s) origin, nothing more. */
function readServerOrigin(env: Env, posternPort: number, errors: string[]): string {
  const name = 'POSTERN_DEMO_SERVER_URL';
  const raw = present(env, name) ?? `http://localhost:${posternPort}`;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    url = null;
  }
  if (
    url === null ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    errors.push(`${name}: must be an http(s) origin such as http://localhost:8787`);
    return 'http://localhost:8787';
  }
  return url.origin;
}

function readSecret(env: Env, name: string, errors: string[]): SecretSource | null {
  const inline = present(env, name);
  const file = present(env, `${name}_FILE`);
  if (inline !== undefined && file !== undefined) {
    errors.push(`${name}: set either ${name} or ${name}_FILE, not both`);
    return null;
  }
  if (inline !== undefined) return { kind: 'inline', value: inline };
  if (file !== undefined) return { kind: 'file', path: file };
  return null;
}

/**
 * Parses the demo server's environment. `cwd` resolves the relative `POSTERN_DB` exactly as the
 * Postern server started in the same folder does, so both find the same secrets file.
 */
export function loadDemoConfig(env: Env, cwd: string): DemoConfigResult {
  const errors: string[] = [];
  const production = env['NODE_ENV'] === 'production';
  const posternPort = readPort(env, 'POSTERN_PORT', 8787, errors);
  const db = present(env, 'POSTERN_DB') ?? DEFAULT_DB;
  const site = readSecret(env, 'POSTERN_SITE_SECRET', errors);
  const operator =
    readSecret(env, 'POSTERN_OPERATOR_SECRET', errors) ?? readSecret(env, 'POSTERN_SECRET', errors);
  const config: DemoConfig = Object.freeze({
    production,
    port: readPort(env, 'POSTERN_DEMO_PORT', 8788, errors),
    host: present(env, 'POSTERN_DEMO_HOST') ?? '127.0.0.1',
    serverOrigin: readServerOrigin(env, posternPort, errors),
    issuer: present(env, 'POSTERN_ISSUER') ?? DEFAULT_ISSUER,
    dataDir: db === ':memory:' ? null : dirname(resolve(cwd, db)),
    secrets: Object.freeze({ site, operator }),
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}
