/**
 * The built Postern server as a separate process, exactly as `npm run demo` starts it (outside
 * production, so it generates the dev secrets file the demo reads), on a free port with its
 * database in a temporary folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SERVER_MAIN = fileURLToPath(
  new URL('../../../../server/dist/main.js', import.meta.url),
);
export const CONSOLE_DIST = fileURLToPath(new URL('../../../dist/console', import.meta.url));
export const SHOP_CSS = fileURLToPath(new URL('../../../pages/shop.css', import.meta.url));

/** Fails with an instruction instead of an ENOENT deep in a spawn. */
export function requireBuild(): void {
  for (const path of [SERVER_MAIN, join(CONSOLE_DIST, 'index.html')]) {
    if (!existsSync(path)) {
      throw new Error(`${path} is missing: build first (\`node scripts/pnpm.mjs -r build\`)`);
    }
  }
}

/** A port free right now (the demo port must be known before the server starts: app origin). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface PosternProcess {
  readonly port: number;
  readonly dir: string;
  readonly db: string;
  stop(): Promise<number | null>;
}

/** Starts `node apps/server/dist/main.js` and waits for its `listening` log line. */
export async function startPostern(env: Record<string, string>): Promise<PosternProcess> {
  requireBuild();
  const dir = mkdtempSync(join(tmpdir(), 'postern-demo-'));
  const db = join(dir, 'postern.db');
  const child: ChildProcess = spawn(process.execPath, [SERVER_MAIN], {
    env: {
      PATH: process.env['PATH'] ?? '',
      POSTERN_PORT: '0',
      POSTERN_HOST: '127.0.0.1',
      POSTERN_DB: db,
      POSTERN_ASSISTANT: 'none',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      // One JSON object per line; the field order is the logger's business, so parse it.
      for (const line of out.split('\n')) {
        let entry: { event?: unknown; port?: unknown } | null = null;
        try {
          entry = JSON.parse(line) as { event?: unknown; port?: unknown };
        } catch {
          continue;
        }
        if (entry?.event === 'listening' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve(entry.port);
          return;
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Postern server exited (${code}):\n${stderr}`));
    });
  });
  return {
    port,
    dir,
    db,
    async stop() {
      const exit = new Promise<number | null>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
        else child.once('exit', (code) => resolve(code));
      });
      child.kill('SIGTERM');
      const code = await exit;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
