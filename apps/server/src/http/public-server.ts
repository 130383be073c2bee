/**
 * The public port: probes (SPEC §3), the script-tag build at its two paths, the API, and the
 * WebSocket upgrades — over HTTPS when TLS files are configured. Hardened against slow and
 * malformed clients before any route runs.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Paths, versionedWidgetPath } from '@postern/protocol';
import type { Metrics } from '../metrics/metrics.js';
import { createPublicServer, type TlsCredentials } from '../tls.js';
import { isApiPath, type Route, routeTemplate } from './api.js';
import { sendJson } from './respond.js';
import { latestHeaders, versionedHeaders, type WidgetScript } from './widget-script.js';

const RAW_400 = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

export interface PublicHttpDeps {
  readonly tls: TlsCredentials | null;
  readonly widget: WidgetScript;
  /** The API's routes, for metric route templates. */
  readonly routes: readonly Route[];
  readonly api: (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** `/readyz`: ready unless shutting down or the store is unhealthy. */
  readonly ready: () => boolean;
  readonly metrics: Metrics;
}

export function createPublicHttp(deps: PublicHttpDeps): Server {
  const { widget, metrics } = deps;
  const versionedPath = versionedWidgetPath(widget.version);

  /** The route template of a path, for metrics: never the raw path (ids, versions, probes). */
  function templateOf(path: string): string | null {
    if (path === Paths.HEALTHZ || path === Paths.READYZ || path === Paths.WIDGET_SCRIPT)
      return path;
    if (path === versionedPath) return '/widget/:version/widget.js';
    return isApiPath(path) ? routeTemplate(deps.routes, path) : null;
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    // Only the path routes; the query string (it may hold a site token) is never logged.
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    const template = templateOf(path);
    res.once('close', () =>
      metrics.httpRequest(template, req.method, res.statusCode, res.writableFinished),
    );
    const readOnly = req.method === 'GET' || req.method === 'HEAD';
    if (readOnly && path === Paths.HEALTHZ) {
      sendJson(res, 200, { status: 'ok' });
    } else if (readOnly && path === Paths.READYZ) {
      const ready = deps.ready();
      sendJson(res, ready ? 200 : 503, ready ? { status: 'ready' } : { error: 'unavailable' });
    } else if (readOnly && (path === Paths.WIDGET_SCRIPT || path === versionedPath)) {
      const headers = path === versionedPath ? versionedHeaders(widget) : latestHeaders(widget);
      res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : widget.body);
    } else if (isApiPath(path)) {
      void deps.api(req, res, path);
    } else {
      sendJson(res, 404, { error: 'not_found' });
    }
  }

  // HTTPS when POSTERN_TLS_*_FILE are set: same handler, and upgrades arrive the same way.
  const http = createPublicServer(
    deps.tls,
    {
      // Slowloris: headers must arrive within 10 s, a whole request within 30 s.
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      // Node checks those timeouts only this often (default 30 s, which triples a slowloris).
      connectionsCheckingInterval: 1_000,
      maxHeaderSize: 16_384,
      keepAliveTimeout: 5_000,
    },
    handle,
  );
  // Extra header lines are dropped, not parsed into objects (a 2,000-line request costs little).
  http.maxHeadersCount = 100;
  http.on('upgrade', deps.upgrade);
  // Malformed requests get a bare 400 with no parser detail.
  http.on('clientError', (_error, socket: Duplex) => {
    if (socket.writable) socket.end(RAW_400);
    socket.destroy();
  });
  return http;
}
