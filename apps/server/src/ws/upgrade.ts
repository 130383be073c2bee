/**
 * The WebSocket handshake (SPEC §4), in the style of ws's own server: one flat run of guards from
 * cheap to expensive, each refusing with a bare HTTP status and nothing allocated; then the
 * upgrade. What the SDK must react to differently is said after the upgrade, with a close code,
 * because browsers only ever see 1006 for a refused handshake.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode, formatRetryHint, Paths } from '@postern/protocol';
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../log.js';
import type { Capacity, SocketSlots } from '../security/open-counters.js';
import { parseOriginHeader } from '../security/origins.js';
import type { RateTable } from '../security/rate-table.js';
import { type ConnectionDeps, runConnection } from './connection.js';

export interface UpgradeDeps {
  readonly connection: ConnectionDeps;
  readonly connRate: RateTable;
  readonly connRateLimit: number;
  /** Refuse before the upgrade only when this far over the attempt rate (cheap flood guard). */
  readonly farOverFactor: number;
  readonly capacity: Capacity;
  readonly slots: SocketSlots;
  readonly appOrigins: { has(origin: string): boolean };
  readonly appAllowNoOrigin: boolean;
  readonly maxFrameBytes: number;
  readonly clientOf: (req: IncomingMessage) => { readonly ip: string; readonly key: string };
  readonly log: Logger;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

/** At shutdown, a peer gets this long to answer the close frame before it is dropped. */
const CLOSE_HANDSHAKE_GRACE_MS = 1_000;

/** Answers a refused handshake with a bare status line and closes the connection. */
function refuse(socket: Duplex, status: number, extra = ''): void {
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`,
    );
  }
  socket.destroy();
}

export interface Upgrader {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Closes every open socket with `code` and stops accepting; sockets whose peer has not
   * completed the close handshake a second later are dropped.
   */
  closeAll(code: number, reason: string): void;
}

export function createUpgrader(deps: UpgradeDeps): Upgrader {
  const sockets = new Set<WebSocket>();
  // `closeTimeout` (ws ≥ 8.19) is missing from @types/ws, hence the widened type.
  const options: ServerOptions & { closeTimeout: number } = {
    noServer: true,
    clientTracking: false,
    maxPayload: deps.maxFrameBytes,
    // Compression costs memory per socket and invites compression-ratio attacks; frames are small.
    perMessageDeflate: false,
    // Never echo what the client offered: no subprotocol is ever selected.
    handleProtocols: () => false,
    // A peer that never answers our close frame keeps its TCP connection (and, until then, its
    // slots) only this long, not ws's default 30 s.
    closeTimeout: CLOSE_HANDSHAKE_GRACE_MS,
  };
  const wss = new WebSocketServer(options);
  // ws would write its own error text into the response; the client learns only "400".
  wss.on('wsClientError', (_error, socket) => refuse(socket, 400));
  let accepting = true;

  interface Admission {
    readonly endpoint: 'widget' | 'app';
    readonly origin: string | null;
    readonly ip: string;
    readonly key: string;
    /** Over the attempt rate, but not far over: refused after the upgrade with 4008. */
    readonly overRate: { readonly retryAfterMs: number } | null;
  }

  /** The guards, cheapest first; a number is the status to refuse with. */
  function admit(req: IncomingMessage, path: string): Admission | number {
    if (path !== Paths.WS_WIDGET && path !== Paths.WS_APP) return 404;
    if (!accepting) return 503;
    if (req.method !== 'GET') return 400;
    const { ip, key } = deps.clientOf(req);
    const attempt = deps.connRate.hit(key);
    if (attempt.count > deps.farOverFactor * deps.connRateLimit) return 429;
    if (deps.capacity.full) return 503;
    const endpoint = path === Paths.WS_APP ? 'app' : 'widget';
    // Two Origin headers are one too many: never pick one of them (SPEC §2).
    const origins = req.headersDistinct['origin'];
    const origin = origins?.length === 1 ? parseOriginHeader(origins[0]) : null;
    if (endpoint === 'app') {
      const allowed =
        origins === undefined
          ? deps.appAllowNoOrigin
          : origin !== null && deps.appOrigins.has(origin);
      if (!allowed) return 403;
    } else if (origins === undefined) {
      // No Origin: not a browser, and the widget endpoint is for browsers only.
      return 403;
    }
    const overRate = attempt.allowed ? null : { retryAfterMs: attempt.retryAfterMs };
    return { endpoint, origin, ip, key, overRate };
  }

  /** After the upgrade: the refusals the SDK must tell apart, then the connection. */
  function accept(ws: WebSocket, admission: Admission): void {
    // First, before any early close: ws reports a protocol error from the client (an oversized
    // or non-UTF-8 frame sent right after the handshake) as an 'error' event, and an 'error'
    // with no listener throws — one refused client would take the whole process down.
    const onEarlyError = (error: Error) => deps.log.debug('ws_protocol_error', { error });
    ws.on('error', onEarlyError);
    if (admission.overRate) {
      ws.close(CloseCode.RATE_LIMITED, formatRetryHint(admission.overRate.retryAfterMs));
      return;
    }
    if (admission.endpoint === 'widget' && admission.origin === null) {
      ws.close(CloseCode.FORBIDDEN_ORIGIN, 'forbidden_origin');
      return;
    }
    // Slots are taken only once the socket exists, so a handshake ws refuses leaks none.
    const grant = deps.slots.acquire({ ip: admission.key });
    if (!grant.ok) {
      const global = grant.refusedBy === 'global';
      ws.close(
        global ? CloseCode.TRY_AGAIN_LATER : CloseCode.RATE_LIMITED,
        formatRetryHint(15_000),
      );
      return;
    }
    sockets.add(ws);
    ws.once('close', () => sockets.delete(ws));
    const { endpoint, origin, ip } = admission;
    // Synchronously handed over: the connection attaches its own listener (with its session id).
    ws.off('error', onEarlyError);
    runConnection(ws, { endpoint, origin, ip, lease: grant.lease }, deps.connection);
  }

  return {
    handleUpgrade(req, socket, head) {
      socket.on('error', () => socket.destroy());
      const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
      const admission = admit(req, path);
      if (typeof admission === 'number') {
        const retry = admission === 429 || admission === 503 ? 'Retry-After: 60\r\n' : '';
        return refuse(socket, admission, retry);
      }
      wss.handleUpgrade(req, socket, head, (ws) => accept(ws, admission));
    },
    closeAll(code, reason) {
      accepting = false;
      for (const ws of sockets) ws.close(code, reason);
      // ws waits 30 s for the peer's close frame, and these sockets are no longer the HTTP
      // server's to cut: a peer that never answers would hold the shutdown. Past a short grace,
      // whoever is left is dropped.
      const cutoff = setTimeout(() => {
        for (const ws of sockets) ws.terminate();
      }, CLOSE_HANDSHAKE_GRACE_MS);
      cutoff.unref();
    },
  };
}
