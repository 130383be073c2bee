/**
 * The built server as a separate process (`node apps/server/dist/main.js`), configured only by
 * SPEC environment variables. Nothing from `src` is imported: the suite sees what a client sees.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DIST_MAIN = fileURLToPath(new URL('../../../dist/main.js', import.meta.url));
export const DIST_CLI = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url));

export const SITE_SECRET = 'blackbox-site-secret-0123456789abcdefghij';
export const VISITOR_SECRET = 'blackbox-visitor-secret-0123456789abcdefgh';
export const OPERATOR_SECRET = 'blackbox-operator-secret-0123456789abcdefg';
/** A plain-http console origin with a port: production must accept it (SPEC §6). */
export const APP_ORIGIN = 'http://console.blackbox.example:8080';
export const SHOP_DOMAIN = 'shop.example';
export const SHOP_ORIGIN = 'https://shop.example';
export const FOREIGN_ORIGIN = 'https://evil.example';

/** Fails with a clear instruction instead of an ENOENT deep in a spawn. */
export function requireBuild(): void {
  if (!existsSync(DIST_MAIN) || !existsSync(DIST_CLI)) {
    throw new Error(
      `${DIST_MAIN} is missing: build first (\`node scripts/pnpm.mjs -r build\` at the repo ` +
        'root, or `npm test`, which builds before testing)',
    );
  }
}

/** A fresh temporary directory for one server's database. */
export function tempDir(): { readonly path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'postern-blackbox-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** The production environment every black-box server runs with; nothing inherited. */
export function productionEnv(db: string, extra: Record<string, string> = {}) {
  return {
    NODE_ENV: 'production',
    POSTERN_PORT: '0',
    POSTERN_HOST: '127.0.0.1',
    POSTERN_DB: db,
    POSTERN_SITE_SECRET: SITE_SECRET,
    POSTERN_SECRET: VISITOR_SECRET,
    POSTERN_OPERATOR_SECRET: OPERATOR_SECRET,
    POSTERN_APP_ORIGINS: APP_ORIGIN,
    ...extra,
  };
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly base: string;
  readonly wsBase: string;
  readonly db: string;
  stdout(): string;
  stderr(): string;
  /** The process is running and `GET /healthz` answers 200. */
  assertAlive(): Promise<void>;
  /** Sends `signal` and resolves with the exit, or `null` when it takes longer than `ms`. */
  stop(signal: NodeJS.Signals, ms: number): Promise<Exit | null>;
  /** Hard stop and temp-dir removal; safe to call twice. */
  dispose(): Promise<void>;
}

export interface Completed extends Exit {
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs a command to completion (or kills it after `timeoutMs`). */
export function runToExit(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 10_000,
): Promise<Completed> {
  const started = Date.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

function exitOf(child: ChildProcess): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** GET `path` with a short timeout; resolves with the status, or rejects. */
export function httpStatus(port: number, path: string, timeoutMs = 2_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts `node dist/main.js` and waits for its `{"event":"listening","port":N}` line (it binds
 * port 0, so the port comes from its own log).
 */
export async function startServer(
  extra: Record<string, string> = {},
  options: { readonly dir?: { path: string; remove(): void } } = {},
): Promise<ServerProcess> {
  requireBuild();
  const dir = options.dir ?? tempDir();
  const db = join(dir.path, 'p.db');
  const child = spawn(process.execPath, [DIST_MAIN], {
    env: productionEnv(db, extra),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line in 10 s:\n${err}`)), 10_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      for (const line of out.split('\n')) {
        if (!line.includes('"listening"')) continue;
        const parsed: unknown = JSON.parse(line);
        const portValue = (parsed as { port?: unknown }).port;
        if (typeof portValue === 'number') {
          clearTimeout(timer);
          resolve(portValue);
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${err}`));
    });
  });
  let port: number;
  try {
    port = await listening;
  } catch (error) {
    // A server that never listened leaves neither a process nor a directory behind.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!options.dir) dir.remove();
    throw error;
  }

  let disposed = false;
  return {
    child,
    port,
    base: `http://127.0.0.1:${port}`,
    wsBase: `ws://127.0.0.1:${port}`,
    db,
    stdout: () => out,
    stderr: () => err,
    async assertAlive() {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`server died: ${child.exitCode ?? child.signalCode}\n${err}`);
      }
      const status = await httpStatus(port, '/healthz');
      if (status !== 200) throw new Error(`GET /healthz answered ${status}`);
    },
    async stop(signal, ms) {
      const exit = exitOf(child);
      child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), ms);
      });
      const result = await Promise.race([exit, late]);
      clearTimeout(timer);
      return result;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exit = exitOf(child);
        child.kill('SIGKILL');
        await exit;
      }
      if (!options.dir) dir.remove();
    },
  };
}

/**
 * Distinct loopback source addresses (all of 127/8 is loopback on Linux), so each case has its own
 * client IP and the default per-IP limits of one server never leak from one case into the next.
 */
export function loopbackPool(block: number): () => string {
  let next = 0;
  return () => {
    next += 1;
    return `127.${block}.${Math.floor(next / 250)}.${(next % 250) + 2}`;
  };
}
