/**
 * The metrics listener: `GET /metrics` on `POSTERN_METRICS_PORT`, bound to `POSTERN_METRICS_HOST`
 * (127.0.0.1 by default). It is a server of its own, never a route of the public one (SPEC §3):
 * limiter sizes and traffic shapes are for the operator, and a scrape is not rate-limited, so it
 * must not be reachable by whoever can reach the widget.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Paths } from '@postern/protocol';
import type { Registry } from 'prom-client';

export interface MetricsListenerOptions {
  readonly registry: Registry;
  readonly port: number;
  readonly host: string;
  /** Called when a scrape fails (a collector threw); the scraper only sees a bare 500. */
  readonly onError: (error: unknown) => void;
}

export interface MetricsListener {
  /** The bound address (host and the real port when 0 was asked for). */
  readonly address: AddressInfo;
  close(): Promise<void>;
}

function bare(status: number): { status: number; body: string } {
  return { status, body: '' };
}

/** Starts the listener; rejects when the port cannot be bound. */
export async function startMetricsListener(
  options: MetricsListenerOptions,
): Promise<MetricsListener> {
  const server: Server = createServer(
    { headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 },
    (req, res) => {
      const path = (req.url ?? '/').split('?', 1)[0];
      const answer = path !== Paths.METRICS ? bare(404) : req.method !== 'GET' ? bare(405) : null;
      if (answer !== null) {
        res.writeHead(answer.status, { 'Content-Length': 0 }).end();
        return;
      }
      options.registry.metrics().then(
        (text) => {
          res.writeHead(200, {
            'Content-Type': options.registry.contentType,
            'Cache-Control': 'no-store',
            'Content-Length': Buffer.byteLength(text),
          });
          res.end(text);
        },
        (error: unknown) => {
          options.onError(error);
          if (!res.headersSent) res.writeHead(500, { 'Content-Length': 0 });
          res.end();
        },
      );
    },
  );
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
