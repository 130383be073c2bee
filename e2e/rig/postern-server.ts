/**
 * The built Postern server (`node apps/server/dist/main.js`) as a child process, for tests that
 * drive the real widget against the real server. It serves the SDK's built `widget.js`, so build
 * first (`node scripts/pnpm.mjs -r build`, or `npm test`, which builds before testing).
 *
 * Tokens are minted by the recipe of SPEC §2, as a site owner's backend would: HS256 JWS with an
 * explicit `typ`, signed here with node:crypto so the suite needs no JWT library.
 *
 * The process can be stopped and started again on the same port and database, and frozen with
 * SIGSTOP, for the tests of restarts and dead connections.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSOLE_ORIGIN } from './operator-socket.js';
import { inRepository } from './repository.js';

const MAIN = fileURLToPath(inRepository('apps/server/dist/main.js'));
const SITE_SECRET = 'e2e-site-secret-0123456789abcdefghijklmnop';
const VISITOR_SECRET = 'e2e-visitor-secret-0123456789abcdefghijklm';
const OPERATOR_SECRET = 'e2e-operator-secret-0123456789abcdefghijkl';
/** The name in every operator token minted here; the widget shows it when Dana takes a dialog. */
export const OPERATOR_NAME = 'Dana';

const randomId = () => randomBytes(16).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);

function sign(header: object, claims: object, secret: string): string {
  const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** A site token and the ids inside it (what revocations name). */
export interface Site {
  readonly token: string;
  readonly siteId: string;
  readonly jti: string;
}

/** `POST /v1/widget/session` as a browser on `origin` would send it. */
export interface SessionBody {
  readonly visitor_token: string;
  readonly refresh_token: string;
  readonly visitor_id: string;
  readonly dialog_id: string;
  readonly expires_at: number;
}

/** One message as the history routes return it. */
export interface StoredMessage {
  readonly seq: number;
  readonly sender: string;
  readonly text: string;
  readonly client_msg_id?: string;
}

export interface PosternServer {
  readonly port: number;
  /** `http://<host>:<port>`: the server as the browser reaches it under a virtual host name. */
  origin(host: string): string;
  /** A site token allowing `domains` (hostnames). */
  siteToken(domains: readonly string[]): string;
  /** A site token allowing `domains`, with its site id and jti. */
  site(domains: readonly string[]): Site;
  /** An operator token for every site; `admin` adds the revocation scope. */
  operatorToken(admin?: boolean): string;
  /** Starts a visitor session as a page on `origin` would (the Origin header is the page's). */
  session(siteToken: string, origin: string, refreshToken?: string): Promise<SessionBody>;
  /** `POST /v1/app/revocations` with an admin operator token; resolves with the status. */
  revoke(target: { site_id: string } | { visitor_id: string } | { jti: string }): Promise<number>;
  /** Every message of a dialog, oldest first, as an operator reads them. */
  history(dialogId: string): Promise<StoredMessage[]>;
  /** What the process printed (one JSON line per event), for failure reports. */
  readonly output: string;
  /** SIGTERM, then waits for the clean shutdown (every socket closed with 1001) to finish. */
  stop(): Promise<void>;
  /** Starts the process again on the same port and database, with the same secrets. */
  start(): Promise<void>;
  /** SIGSTOP: the process keeps its sockets but answers nothing, like a hung server. */
  freeze(): void;
  /** SIGCONT after {@link PosternServer.freeze}. */
  thaw(): void;
  /** Stops the process (thawing it first if frozen) and deletes its database. */
  close(): Promise<void>;
}

export interface PosternServerOptions {
  /** `POSTERN_*` settings over the suite's defaults, e.g. `{ POSTERN_VISITOR_TTL_S: '62' }`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Operator-console origins allowed besides {@link CONSOLE_ORIGIN}. */
  readonly appOrigins?: readonly string[];
}

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
}

/** Spawns the server and resolves with its port once it logs `listening`. */
async function spawnServer(env: NodeJS.ProcessEnv, sink: (text: string) => void): Promise<Running> {
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr?.on('data', (chunk: Buffer) => sink(chunk.toString('utf8')));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error('server did not listen within 10 s')), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      sink(text);
      stdout += text;
      const line = stdout.split('\n').find((entry) => entry.includes('"listening"'));
      const value = line ? (JSON.parse(line) as { port?: unknown }).port : undefined;
      if (typeof value === 'number') {
        clearTimeout(timer);
        resolve(value);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening`));
    });
  });
  return { child, port };
}

function isAlive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (!isAlive(child)) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  // A clean shutdown takes milliseconds; a server that hangs must not hang the suite.
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Starts a server on a free port with a database in a temporary directory; resolves once it listens. */
export async function startPosternServer(
  options: PosternServerOptions = {},
): Promise<PosternServer> {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: build first (node scripts/pnpm.mjs -r build)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'postern-e2e-'));
  let output = '';
  const sink = (text: string) => {
    output += text;
  };
  const env = (port: number): NodeJS.ProcessEnv => ({
    NODE_ENV: 'production',
    POSTERN_PORT: String(port),
    POSTERN_HOST: '127.0.0.1',
    POSTERN_DB: join(dir, 'e2e.db'),
    POSTERN_SITE_SECRET: SITE_SECRET,
    POSTERN_SECRET: VISITOR_SECRET,
    POSTERN_OPERATOR_SECRET: OPERATOR_SECRET,
    POSTERN_APP_ORIGINS: [CONSOLE_ORIGIN, ...(options.appOrigins ?? [])].join(','),
    POSTERN_ASSISTANT: 'demo',
    // Every test of a worker shares this server and comes from 127.0.0.1.
    POSTERN_SESSION_RATE: '10000',
    POSTERN_HTTP_RATE: '100000',
    POSTERN_CONN_RATE: '10000',
    POSTERN_VISITOR_MSG_RATE: '10000',
    ...options.env,
  });

  let running: Running;
  try {
    running = await spawnServer(env(0), sink);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(error as Error).message}:\n${output}`);
  }
  const { port } = running;
  let frozen = false;
  const api = (path: string) => `http://127.0.0.1:${port}${path}`;

  const mintOperator = (admin: boolean) =>
    sign(
      { alg: 'HS256', typ: 'operator+jwt' },
      {
        iss: 'postern',
        aud: 'postern:app',
        sub: `op-${randomId()}`,
        iat: nowS(),
        exp: nowS() + 3600,
        jti: randomId(),
        name: OPERATOR_NAME,
        sites: ['*'],
        scope: admin ? ['admin'] : [],
      },
      OPERATOR_SECRET,
    );

  const mintSite = (domains: readonly string[]): Site => {
    const siteId = randomId();
    const jti = randomId();
    const token = sign(
      { alg: 'HS256', typ: 'site+jwt' },
      {
        iss: 'postern',
        aud: 'postern:site',
        sub: siteId,
        iat: nowS(),
        jti,
        assistant_id: 'e2e',
        allowed_domains: domains,
      },
      SITE_SECRET,
    );
    return { token, siteId, jti };
  };

  const operatorHeaders = (admin: boolean) => ({
    authorization: `Bearer ${mintOperator(admin)}`,
    origin: CONSOLE_ORIGIN,
  });

  return {
    port,
    origin: (host) => `http://${host}:${port}`,
    siteToken: (domains) => mintSite(domains).token,
    site: mintSite,
    operatorToken: (admin = false) => mintOperator(admin),
    get output() {
      return output;
    },

    async session(siteToken, origin, refreshToken) {
      const response = await fetch(
        api(`/v1/widget/session?site_token=${encodeURIComponent(siteToken)}`),
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin },
          body: JSON.stringify(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
        },
      );
      if (!response.ok) throw new Error(`session: ${response.status} ${await response.text()}`);
      return (await response.json()) as SessionBody;
    },

    async revoke(target) {
      const response = await fetch(api('/v1/app/revocations'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...operatorHeaders(true) },
        body: JSON.stringify(target),
      });
      await response.body?.cancel();
      return response.status;
    },

    async history(dialogId) {
      const messages: StoredMessage[] = [];
      let after = 0;
      for (;;) {
        const response = await fetch(
          api(
            `/v1/app/dialogs/${encodeURIComponent(dialogId)}/messages?after_seq=${after}&limit=100`,
          ),
          { headers: operatorHeaders(false) },
        );
        if (!response.ok) throw new Error(`history: ${response.status} ${await response.text()}`);
        const page = (await response.json()) as {
          messages: StoredMessage[];
          next_after_seq: number | null;
        };
        messages.push(...page.messages);
        if (page.next_after_seq === null || page.messages.length === 0) return messages;
        after = page.next_after_seq;
      }
    },

    async stop() {
      await terminate(running.child);
    },

    async start() {
      if (isAlive(running.child)) throw new Error('server is already running');
      running = await spawnServer(env(port), sink);
      frozen = false;
    },

    freeze() {
      running.child.kill('SIGSTOP');
      frozen = true;
    },

    thaw() {
      running.child.kill('SIGCONT');
      frozen = false;
    },

    async close() {
      if (frozen) running.child.kill('SIGCONT');
      await terminate(running.child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { CONSOLE_ORIGIN, connectOperator, type Frame, type Operator } from './operator-socket.js';
