/**
 * What every command shares: the process edges (environment, output, clock), the configuration
 * read exactly as the server reads it, the signing keys resolved exactly as the server resolves
 * them, and the way to the database — through a running server's control socket, else directly.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { type Config, type Env, loadConfig } from '../config.js';
import { requestControl } from '../control/client.js';
import type { ControlResults } from '../control/operations.js';
import { type ControlReply, type ControlRequest, controlSocketPath } from '../control/protocol.js';
import type { TokenService } from '../security/tokens.js';
import type { SqliteStore } from '../store/sqlite.js';
import { CliError } from './args.js';

export interface CliContext {
  /** The environment, handed to the configuration module and read nowhere else. */
  readonly env: Env;
  readonly cwd: string;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now: () => number;
  readonly readFile: (path: string) => Buffer;
}

/** The configuration, or every problem as one `postern: …` line each (exit code 1). */
export function loadCliConfig(context: CliContext): Config {
  const result = loadConfig(context.env, { readFile: context.readFile });
  if (!result.ok) throw new CliError(result.errors.join('\npostern: '));
  for (const warning of result.warnings) context.err(`postern: warning: ${warning}\n`);
  return result.config;
}

/** Ids with 128 random bits, URL-safe: the server's recipe (≥ 122 bits required). */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * The token service with the server's keys: configured secrets, or outside production the
 * generated ones kept beside the database. Generated keys that nothing keeps (`:memory:`) would
 * sign tokens no server accepts, so they are refused.
 */
export async function signingTokens(config: Config, context: CliContext): Promise<TokenService> {
  const [{ resolveKeys }, { createTokenService }] = await Promise.all([
    import('../dev-secrets.js'),
    import('../security/tokens.js'),
  ]);
  let resolved: ReturnType<typeof resolveKeys>;
  try {
    resolved = resolveKeys(config);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  if (resolved.generated.length > 0 && config.db === ':memory:') {
    throw new CliError(
      'no signing secret is configured and POSTERN_DB is :memory:, so a generated one would ' +
        'match no server; set POSTERN_SITE_SECRET, POSTERN_SECRET and POSTERN_OPERATOR_SECRET',
    );
  }
  return createTokenService({
    keys: resolved.keys,
    issuer: config.issuer,
    visitorTtlS: config.limits.POSTERN_VISITOR_TTL_S,
    now: context.now,
    randomId: newId,
  });
}

/** Which way a request reached the database. */
export type Via = 'server' | 'database';

export interface Performed<R> {
  readonly via: Via;
  readonly result: R;
}

export interface PerformOptions {
  /** Whether the database may be created when it does not exist (writes), or not (reads). */
  readonly create: boolean;
  /** Bound on the server's answer; 0 for none (a backup of a large database). */
  readonly timeoutMs?: number;
}

/** One JSON audit line on stderr: stdout stays for what the command prints (an export). */
function auditLine(context: CliContext, event: string, fields: Readonly<Record<string, unknown>>) {
  context.err(`${JSON.stringify({ time: context.now(), level: 'info', event, ...fields })}\n`);
}

/**
 * How long the CLI waits for a database another process holds without a control socket. Another
 * CLI run holds it for milliseconds; a server (whose socket could not open) holds it for good.
 */
const LOCK_WAIT_MS = 3_000;
const LOCK_RETRY_MS = 50;

/** Runs `request` on the database, or resolves `null` while another process holds it. */
async function performDirectly(
  config: Config,
  context: CliContext,
  request: ControlRequest,
  options: PerformOptions,
): Promise<ControlReply | null> {
  if (!options.create && !existsSync(config.db)) {
    throw new CliError(`POSTERN_DB: no database at ${config.db}`);
  }
  // Loaded only here: when a server answers, the CLI needs neither the driver nor the store.
  const [{ openSqliteStore, StoreLockedError }, { createAdminOperations, performControlRequest }] =
    await Promise.all([import('../store/sqlite.js'), import('../control/operations.js')]);
  let store: SqliteStore;
  try {
    store = openSqliteStore({ path: config.db, synchronous: config.dbSync });
  } catch (error) {
    if (error instanceof StoreLockedError) return null;
    throw new CliError(`POSTERN_DB: ${(error as Error).message}`);
  }
  try {
    const operations = createAdminOperations({
      store,
      async revoke(kind, target, actor) {
        const added = await store.addRevocation({ kind, target, revokedAt: context.now(), actor });
        // The same audit line a server writes, so revocations made offline are on record too.
        auditLine(context, 'audit_revocation', { actor, target_kind: kind, target_id: target });
        return added;
      },
      now: context.now,
      audit: (event, fields) => auditLine(context, event, fields),
    });
    return await performControlRequest(operations, request);
  } finally {
    await store.close();
  }
}

/**
 * Performs `request` through the running server when one listens on the control socket beside
 * `POSTERN_DB`, else on the database file itself (the next server start loads what was written).
 */
export async function perform<R extends ControlRequest>(
  config: Config,
  context: CliContext,
  request: R,
  options: PerformOptions,
): Promise<Performed<ControlResults[R['op']]>> {
  const socket = controlSocketPath(config.db);
  if (socket === null) {
    throw new CliError('POSTERN_DB is :memory:; the CLI cannot reach a database held in memory');
  }
  const deadline = context.now() + LOCK_WAIT_MS;
  let via: Via;
  let reply: ControlReply | null;
  for (;;) {
    via = 'server';
    reply = await requestControl(socket, request, options.timeoutMs ?? 10_000).catch(
      (error: Error) => {
        throw new CliError(error.message);
      },
    );
    if (reply !== null) break;
    via = 'database';
    reply = await performDirectly(config, context, request, options);
    if (reply !== null) break;
    if (context.now() > deadline) {
      throw new CliError(
        `POSTERN_DB: another process holds ${config.db} and no server answers on ${socket}; ` +
          'if a server runs there, stop it or revoke over HTTP (POST /v1/app/revocations)',
      );
    }
    // Another CLI run, most likely (or a server starting: its socket appears in a moment).
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
  }
  if (!reply.ok) {
    throw new CliError(reply.error === 'exists' ? 'the file exists' : reply.message);
  }
  return { via, result: reply.result as ControlResults[R['op']] };
}
