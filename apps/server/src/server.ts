/**
 * The HTTP server: probes and the script-tag build. The API and WebSocket endpoints mount here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Paths, versionedWidgetPath } from '@postern/protocol';
import type { Config } from './config.js';
import { latestHeaders, versionedHeaders, type WidgetScript } from './http/widget-script.js';

export interface PosternServer {
  readonly http: Server;
  /** Starts listening; resolves with the bound port. */
  listen(): Promise<number>;
  /** Stops accepting, marks the server not ready and closes idle connections. */
  close(): Promise<void>;
}

export interface ServerDeps {
  readonly config: Config;
  readonly widget: WidgetScript;
}

const API_HEADERS = {
  'Content-Type': 'application/json; charset=utf-8',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
} as const;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, API_HEADERS).end(JSON.stringify(body));
}

/** Creates the server without binding it. */
export function createPosternServer({ config, widget }: ServerDeps): PosternServer {
  let shuttingDown = false;
  const versionedPath = versionedWidgetPath(widget.version);

  function handle(req: IncomingMessage, res: ServerResponse): void {
    // Only the path matters for routing; the query string is never logged or echoed.
    const path = (req.url ?? '/').split('?', 1)[0];
    const readOnly = req.method === 'GET' || req.method === 'HEAD';
    if (readOnly && path === Paths.HEALTHZ) {
      json(res, 200, { status: 'ok' });
    } else if (readOnly && path === Paths.READYZ) {
      json(
        res,
        shuttingDown ? 503 : 200,
        shuttingDown ? { error: 'unavailable' } : { status: 'ready' },
      );
    } else if (readOnly && (path === Paths.WIDGET_SCRIPT || path === versionedPath)) {
      const headers = path === versionedPath ? versionedHeaders(widget) : latestHeaders(widget);
      res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : widget.body);
    } else {
      json(res, 404, { error: 'not_found' });
    }
  }

  const http = createServer(
    { headersTimeout: 10_000, requestTimeout: 30_000, maxHeaderSize: 16_384 },
    handle,
  );
  http.maxHeadersCount = 64;

  return {
    http,
    listen: () =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => {
          http.off('error', reject);
          const address = http.address();
          resolve(typeof address === 'object' && address ? address.port : config.port);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        shuttingDown = true;
        http.close(() => resolve());
        http.closeIdleConnections();
      }),
  };
}
