/**
 * The demo's operator console (the built `apps/demo/dist/console`) served on its own origin,
 * `http://console.example:PORT`, the way the demo server serves it: under the console's strict
 * CSP, with `/config.json` naming the Postern server and `POST /dev/operator-token` handing out
 * operator tokens (the console's `getToken()`).
 *
 * It is a separate process-local server, not a page of `VirtualHosts`, because the Postern server
 * must list the console's origin, port included, in `POSTERN_APP_ORIGINS` before it starts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inRepository } from './repository.js';

const CONSOLE_DIR = fileURLToPath(inRepository('apps/demo/dist/console/'));
export const CONSOLE_HOST = 'console.example';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

/** What the console needs from the Postern server it talks to. */
export interface ConsoleBackend {
  /** The Postern server as the browser reaches it, e.g. `http://chat.example:41234`. */
  readonly serverOrigin: string;
  /** A fresh operator token (the customer's backend in a real deployment). */
  readonly mintToken: () => string;
}

/** The same policy as the demo's `consoleCsp`: no inline code, Trusted Types with no policy. */
function consoleCsp(serverOrigin: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self' ${serverOrigin} ${serverOrigin.replace(/^http/, 'ws')}`,
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join('; ');
}

function readConsoleFiles(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (dir: string, prefix: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, `${prefix}${entry.name}/`);
      else files.set(`${prefix}${entry.name}`, readFileSync(path));
    }
  };
  try {
    walk(CONSOLE_DIR, '/');
  } catch {
    throw new Error(`${CONSOLE_DIR} is missing: build first (node scripts/pnpm.mjs -r build)`);
  }
  return files;
}

export class ConsoleHost {
  readonly #server: Server;
  readonly #files: Map<string, Buffer>;
  #backend: ConsoleBackend | null = null;

  private constructor(server: Server, files: Map<string, Buffer>) {
    this.#server = server;
    this.#files = files;
  }

  static async start(): Promise<ConsoleHost> {
    const server = createServer();
    const host = new ConsoleHost(server, readConsoleFiles());
    server.on('request', (request, response) => host.#respond(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return host;
  }

  /** `http://console.example:PORT`, the origin to allow in `POSTERN_APP_ORIGINS`. */
  get origin(): string {
    return `http://${CONSOLE_HOST}:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Points the console at a Postern server (it is started after the console knows its port). */
  connect(backend: ConsoleBackend): void {
    this.#backend = backend;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  #respond(request: IncomingMessage, response: ServerResponse): void {
    request.resume();
    const backend = this.#backend;
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const json = (status: number, body: unknown) =>
      response
        .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(body));
    if (backend === null) {
      response.writeHead(503).end();
    } else if (path === '/dev/operator-token') {
      if (request.method !== 'POST') json(405, { error: 'method_not_allowed' });
      // The console keeps a token until a minute before it expires; these live an hour.
      else json(200, { token: backend.mintToken(), expires_at: Date.now() + 3_540_000 });
    } else if (path === '/config.json') {
      json(200, { server_url: backend.serverOrigin });
    } else if (path === '/favicon.ico') {
      response.writeHead(204).end();
    } else {
      const file = this.#files.get(path === '/' ? '/index.html' : path);
      if (!file) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      response
        .writeHead(200, {
          'content-type': TYPES[extname(path === '/' ? '/index.html' : path)] ?? 'text/plain',
          'cache-control': 'no-store',
          'content-security-policy': consoleCsp(backend.serverOrigin),
        })
        .end(file);
    }
  }
}
