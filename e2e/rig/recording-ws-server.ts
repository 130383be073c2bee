import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RawData, WebSocketServer } from 'ws';

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
}

/** One WebSocket handshake as the server saw it, and what that socket then sent. */
export interface RecordedUpgrade {
  /** The `Origin` header, exactly as sent; undefined when absent. */
  readonly origin: string | undefined;
  /** Path and query string of the upgrade request. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** Text of every frame received on this connection, in order. */
  readonly messages: readonly string[];
}

/**
 * A real `ws` server (noServer, behind its own HTTP server on 127.0.0.1, free port) that accepts
 * every handshake and records it: the ground truth for what a browser puts on the wire.
 */
export class RecordingWsServer {
  readonly #server: Server;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #upgrades: RecordedUpgrade[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<RecordingWsServer> {
    const server = createServer((_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain' }).end('WebSocket only\n');
    });
    const recorder = new RecordingWsServer(server);
    server.on('upgrade', (request, socket, head) => {
      const messages: string[] = [];
      recorder.#upgrades.push({
        origin: request.headers.origin,
        path: request.url ?? '/',
        headers: request.headers,
        messages,
      });
      recorder.#wss.handleUpgrade(request, socket, head, (ws) => {
        ws.on('message', (data, isBinary) => {
          const bytes = toBuffer(data);
          messages.push(isBinary ? `<binary ${bytes.length} bytes>` : bytes.toString('utf8'));
        });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return recorder;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Every handshake received so far, oldest first. */
  get upgrades(): readonly RecordedUpgrade[] {
    return this.#upgrades;
  }

  /** `http://<host>:<port>`, e.g. for a `data-server` attribute; the host must resolve here. */
  httpOrigin(host = '127.0.0.1'): string {
    return `http://${host}:${this.port}`;
  }

  url(host = '127.0.0.1', path = '/v1/ws/widget'): string {
    return `ws://${host}:${this.port}${path}`;
  }

  async close(): Promise<void> {
    for (const client of this.#wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
    this.#upgrades.length = 0;
  }
}
