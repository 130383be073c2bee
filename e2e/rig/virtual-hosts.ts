import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the server saw it, for asserting what the browser really sent. */
export interface RecordedRequest {
  /** Virtual host from the `Host` header, lower-cased, without the port. */
  readonly host: string;
  readonly method: string;
  /** Path and query string, exactly as requested. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

interface Resource {
  readonly body: string;
  readonly headers: OutgoingHttpHeaders;
}

/**
 * Host names the browser maps to 127.0.0.1 (see `--host-resolver-rules` in
 * playwright.config.ts; Chromium resolves `*.localhost` to loopback by itself). Any other name
 * would be looked up in real DNS. Pages on `http://*.localhost` are secure contexts (Web Locks,
 * `crypto.randomUUID`), pages on `http://*.example` are not.
 */
const RESOLVED_LOCALLY =
  /^(?:127\.0\.0\.1|(?:[a-z0-9-]+\.)*localhost|(?:[a-z0-9-]+\.)+(?:example|test))$/;

function hostWithoutPort(hostHeader: string | undefined): string {
  return (hostHeader ?? '').replace(/:\d+$/, '').toLowerCase();
}

/**
 * One HTTP server on 127.0.0.1 that plays many sites: it answers by `Host` header, so
 * `http://shop.example:PORT` and `http://widget.example:PORT` are different origins to the
 * browser while both reach this process. Unregistered host or path: 404 (except
 * `/favicon.ico`: 204).
 */
export class VirtualHosts {
  readonly #server: Server;
  readonly #resources = new Map<string, Resource>();
  readonly #requests: RecordedRequest[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Starts listening on 127.0.0.1, on a free port. */
  static async start(): Promise<VirtualHosts> {
    const server = createServer();
    const hosts = new VirtualHosts(server);
    server.on('request', (request, response) => hosts.#respond(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return hosts;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Every request received so far, oldest first. */
  get requests(): readonly RecordedRequest[] {
    return this.#requests;
  }

  /** `http://<host>:<port>`: the origin the browser computes for pages on `host`. */
  origin(host: string): string {
    return `http://${host}:${this.port}`;
  }

  url(host: string, path = '/'): string {
    return `${this.origin(host)}${path}`;
  }

  /** Serves `body` at `path` on `host`, replacing what was there; extra headers (CSP …) win. */
  serve(host: string, path: string, body: string, headers: OutgoingHttpHeaders = {}): void {
    const name = host.toLowerCase();
    if (!RESOLVED_LOCALLY.test(name)) {
      throw new Error(
        `host ${host} does not resolve to 127.0.0.1 in the browser; use *.example or *.test`,
      );
    }
    if (!path.startsWith('/')) throw new Error(`path must start with '/': ${path}`);
    this.#resources.set(`${name}${path}`, {
      body,
      headers: { 'cache-control': 'no-store', ...headers },
    });
  }

  page(host: string, path: string, html: string, headers: OutgoingHttpHeaders = {}): void {
    this.serve(host, path, html, { 'content-type': 'text/html; charset=utf-8', ...headers });
  }

  script(host: string, path: string, js: string, headers: OutgoingHttpHeaders = {}): void {
    this.serve(host, path, js, { 'content-type': 'text/javascript; charset=utf-8', ...headers });
  }

  /** Requests received for `path` (query string ignored) on `host`. */
  requestsFor(host: string, path: string): RecordedRequest[] {
    const name = host.toLowerCase();
    return this.#requests.filter((r) => r.host === name && r.path.split('?')[0] === path);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // The browser keeps connections alive; without this, close() waits for it to hang up.
    this.#server.closeAllConnections();
    await closed;
    this.#resources.clear();
    this.#requests.length = 0;
  }

  #respond(request: IncomingMessage, response: ServerResponse): void {
    const host = hostWithoutPort(request.headers.host);
    const path = request.url ?? '/';
    const method = request.method ?? 'GET';
    this.#requests.push({ host, method, path, headers: request.headers });

    const pathname = path.split('?')[0];
    const resource = this.#resources.get(`${host}${pathname}`);
    if (method !== 'GET' && method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (!resource && pathname === '/favicon.ico') {
      // Chromium asks every origin for one and logs the 404 as a console error, which would
      // trip the console-error guard in tests that never meant to serve an icon.
      response.writeHead(204).end();
    } else if (!resource) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`nothing at ${host}${path}\n`);
    } else {
      response.writeHead(200, resource.headers).end(method === 'HEAD' ? undefined : resource.body);
    }
  }
}
