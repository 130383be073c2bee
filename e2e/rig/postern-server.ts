/**
 * The built Postern server (`node apps/server/dist/main.js`) as a child process, for tests that
 * drive the real widget against the real server. It serves the SDK's built `widget.js`, so build
 * first (`node scripts/pnpm.mjs -r build`, or `npm test`, which builds before testing).
 *
 * Tokens are minted by the recipe of SPEC §2, as a site owner's backend would: HS256 JWS with an
 * explicit `typ`, signed here with node:crypto so the suite needs no JWT library.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const MAIN = fileURLToPath(new URL('../../apps/server/dist/main.js', import.meta.url));
const SITE_SECRET = 'e2e-site-secret-0123456789abcdefghijklmnop';
const VISITOR_SECRET = 'e2e-visitor-secret-0123456789abcdefghijklm';
const OPERATOR_SECRET = 'e2e-operator-secret-0123456789abcdefghijkl';
/** The operator console's origin (`POSTERN_APP_ORIGINS`); operator sockets here send it. */
export const CONSOLE_ORIGIN = 'http://console.example';

const randomId = () => randomBytes(16).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);

function sign(header: object, claims: object, secret: string): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

export interface PosternServer {
  readonly port: number;
  /** `http://<host>:<port>`: the server as the browser reaches it under a virtual host name. */
  origin(host: string): string;
  /** A site token allowing `domains` (hostnames). */
  siteToken(domains: readonly string[]): string;
  /** An operator token for every site; `admin` adds the revocation scope. */
  operatorToken(admin?: boolean): string;
  close(): Promise<void>;
}

/** Starts a server on a free port with a database in a temporary directory; resolves once it listens. */
export async function startPosternServer(): Promise<PosternServer> {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: build first (node scripts/pnpm.mjs -r build)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'postern-e2e-'));
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    env: {
      NODE_ENV: 'production',
      POSTERN_PORT: '0',
      POSTERN_HOST: '127.0.0.1',
      POSTERN_DB: join(dir, 'e2e.db'),
      POSTERN_SITE_SECRET: SITE_SECRET,
      POSTERN_SECRET: VISITOR_SECRET,
      POSTERN_OPERATOR_SECRET: OPERATOR_SECRET,
      POSTERN_APP_ORIGINS: CONSOLE_ORIGIN,
      POSTERN_ASSISTANT: 'demo',
      // Every test of a worker shares this server and comes from 127.0.0.1.
      POSTERN_SESSION_RATE: '10000',
      POSTERN_HTTP_RATE: '100000',
      POSTERN_CONN_RATE: '10000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`server did not listen:\n${stderr}`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n').find((text) => text.includes('"listening"'));
      const value = line ? (JSON.parse(line) as { port?: unknown }).port : undefined;
      if (typeof value === 'number') {
        clearTimeout(timer);
        resolve(value);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}):\n${stderr}`));
    });
  });
  return {
    port,
    origin: (host) => `http://${host}:${port}`,
    siteToken: (domains) =>
      sign(
        { alg: 'HS256', typ: 'site+jwt' },
        {
          iss: 'postern',
          aud: 'postern:site',
          sub: randomId(),
          iat: nowS(),
          jti: randomId(),
          assistant_id: 'e2e',
          allowed_domains: domains,
        },
        SITE_SECRET,
      ),
    operatorToken: (admin = false) =>
      sign(
        { alg: 'HS256', typ: 'operator+jwt' },
        {
          iss: 'postern',
          aud: 'postern:app',
          sub: `op-${randomId()}`,
          iat: nowS(),
          exp: nowS() + 3600,
          jti: randomId(),
          name: 'Dana',
          sites: ['*'],
          scope: admin ? ['admin'] : [],
        },
        OPERATOR_SECRET,
      ),
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Frame = Record<string, unknown>;

/** An operator console socket: sends frames and waits for the ones it needs. */
export interface Operator {
  send(frame: Frame): void;
  waitFor(predicate: (frame: Frame) => boolean, what: string): Promise<Frame>;
  close(): void;
}

export async function connectOperator(server: PosternServer, token: string): Promise<Operator> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/ws/app`, { origin: CONSOLE_ORIGIN });
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as Frame);
    for (const wake of [...waiters]) wake();
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const operator: Operator = {
    send: (frame) => ws.send(JSON.stringify(frame)),
    waitFor: (predicate, what) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`operator: timed out waiting for ${what}`));
        }, 10_000);
        const check = () => {
          const found = frames.find(predicate);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      }),
    close: () => ws.close(),
  };
  operator.send({ type: 'auth', token });
  await operator.waitFor((frame) => frame['type'] === 'ready', 'ready');
  return operator;
}
