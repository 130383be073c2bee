/**
 * The demo's one HTTP handler, routing by `Host`: the shop, the same page on a non-allowed
 * origin, and the operator console with its dev-only token route. Any other `Host` is refused,
 * which also keeps DNS-rebinding pages away from the token route.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { consoleCsp, hostPageCsp } from './csp.js';
import type { MintedToken } from './demo-tokens.js';
import { renderHostPage } from './host-pages.js';
import { isJsonRequest, isSameOriginRequest } from './same-origin.js';
import type { StaticFile } from './static-files.js';

/** Path of the dev-only operator-token route (app host, POST). */
export const OPERATOR_TOKEN_PATH = '/dev/operator-token';
/** Path where the console reads the Postern server origin. */
export const CONSOLE_CONFIG_PATH = '/config.json';

export interface DemoRoutesDeps {
  /** Origins of the three demo hosts as the browser sees them (`http://shop.localhost:8788`…). */
  readonly origins: { readonly shop: string; readonly other: string; readonly app: string };
  readonly serverOrigin: string;
  readonly siteToken: string;
  /** Mints an operator token; `null` in production, where the route does not exist. */
  readonly mintOperatorToken: (() => Promise<MintedToken>) | null;
  /** The built console, by URL path. */
  readonly consoleFiles: ReadonlyMap<string, StaticFile>;
  /** The host pages' own files (`/shop.css`). */
  readonly shopFiles: ReadonlyMap<string, StaticFile>;
  /** A fresh CSP nonce per page (≥ 128 random bits). */
  readonly nonce: () => string;
  readonly onError: (error: unknown) => void;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** What a route answers; one writer sends it. */
export interface Reply {
  readonly status: number;
  readonly type: string;
  readonly body: string | Buffer;
  readonly headers?: OutgoingHttpHeaders;
}

const BASE_HEADERS: OutgoingHttpHeaders = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

function text(status: number, body: string, headers: OutgoingHttpHeaders = {}): Reply {
  return { status, type: 'text/plain; charset=utf-8', body: `${body}\n`, headers };
}

function json(status: number, value: unknown, headers: OutgoingHttpHeaders = {}): Reply {
  return { status, type: 'application/json', body: JSON.stringify(value), headers };
}

function fileReply(file: StaticFile, headers: OutgoingHttpHeaders = {}): Reply {
  const cache = file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache';
  return {
    status: 200,
    type: file.type,
    body: file.body,
    headers: { 'Cache-Control': cache, ...headers },
  };
}

function write(res: ServerResponse, req: IncomingMessage, reply: Reply): void {
  const bytes = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : reply.body;
  res.writeHead(reply.status, {
    ...BASE_HEADERS,
    'Content-Type': reply.type,
    'Content-Length': bytes.length,
    'Cache-Control': 'no-store',
    ...reply.headers,
  });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** The host name of the `Host` header, lower-cased, without the port. */
export function hostNameOf(hostHeader: string | undefined): string {
  return (hostHeader ?? '').replace(/:\d+$/, '').toLowerCase();
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

const isRead = (req: IncomingMessage) => req.method === 'GET' || req.method === 'HEAD';
const NOT_ALLOWED = text(405, 'method not allowed');
const NOT_FOUND = text(404, 'not found');

export function createDemoRoutes(deps: DemoRoutesDeps): Handler {
  const shopHost = new URL(deps.origins.shop).hostname;
  const otherHost = new URL(deps.origins.other).hostname;
  const appHost = new URL(deps.origins.app).hostname;
  const unknownHost = text(
    404,
    `unknown host; open ${deps.origins.shop}/, ${deps.origins.other}/ or ${deps.origins.app}/`,
  );

  function hostPage(kind: 'shop' | 'other', req: IncomingMessage): Reply {
    const path = pathOf(req);
    if (!isRead(req)) return NOT_ALLOWED;
    const file = deps.shopFiles.get(path);
    if (file) return fileReply(file);
    if (path !== '/') return NOT_FOUND;
    const nonce = deps.nonce();
    const html = renderHostPage({
      kind,
      nonce,
      siteToken: deps.siteToken,
      serverOrigin: deps.serverOrigin,
      links: deps.origins,
    });
    return {
      status: 200,
      type: 'text/html; charset=utf-8',
      body: html,
      headers: { 'Content-Security-Policy': hostPageCsp(nonce, deps.serverOrigin) },
    };
  }

  async function operatorToken(req: IncomingMessage): Promise<Reply> {
    // Production: the route does not exist (SPEC §2), it does not merely refuse.
    if (deps.mintOperatorToken === null) return json(404, { error: 'not_found' });
    if (req.method !== 'POST') return json(405, { error: 'method_not_allowed' }, { Allow: 'POST' });
    if (!isSameOriginRequest(req.headers, deps.origins.app)) {
      return json(403, { error: 'forbidden' });
    }
    if (!isJsonRequest(req.headers)) return json(415, { error: 'unsupported_media_type' });
    const minted = await deps.mintOperatorToken();
    return json(200, { token: minted.token, expires_at: minted.expiresAt });
  }

  function consoleApp(req: IncomingMessage): Reply | Promise<Reply> {
    const path = pathOf(req);
    if (path === OPERATOR_TOKEN_PATH) return operatorToken(req);
    if (!isRead(req)) return NOT_ALLOWED;
    if (path === CONSOLE_CONFIG_PATH) return json(200, { server_url: deps.serverOrigin });
    const file = deps.consoleFiles.get(path === '/' ? '/index.html' : path);
    if (!file) return NOT_FOUND;
    return fileReply(file, {
      'Content-Security-Policy': consoleCsp(deps.serverOrigin),
      'Cross-Origin-Opener-Policy': 'same-origin',
    });
  }

  function route(req: IncomingMessage): Reply | Promise<Reply> {
    if (pathOf(req) === '/healthz' && isRead(req)) return text(200, 'ok');
    const host = hostNameOf(req.headers.host);
    if (host === shopHost) return hostPage('shop', req);
    if (host === otherHost) return hostPage('other', req);
    if (host === appHost) return consoleApp(req);
    return unknownHost;
  }

  return (req, res) => {
    // Bodies are never read: drain whatever was sent so the connection can be reused.
    req.resume();
    Promise.resolve()
      .then(() => route(req))
      .then(
        (reply) => write(res, req, reply),
        (error: unknown) => {
          deps.onError(error);
          if (!res.headersSent) write(res, req, text(500, 'internal error'));
          else res.destroy();
        },
      );
  };
}
