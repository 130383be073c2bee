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
import type { Endpoint, HandshakeRefusal, IpSource } from '../metrics/labels.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RefusalLog } from '../refusal-log.js';
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
  readonly clientOf: (req: IncomingMessage) => {
    readonly ip: string;
    readonly key: string;
    readonly source: IpSource;
  };
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Sampled refusal lines (a handshake flood must not become a log flood). */
  readonly refusals: RefusalLog;
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

/** The endpoint a request path names, if any (for labels and logs; never the raw path). */
function endpointOf(path: string): Endpoint | null {
  if (path === Paths.WS_WIDGET) return 'widget';
  return path === Paths.WS_APP ? 'app' : null;
}

export function createUpgrader(deps: UpgradeDeps): Upgrader {
  /** Open connections and their close funnels (shutdown closes through them). */
  const sockets = new Map<WebSocket, (code: number, reason: string) => void>();
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
  wss.on('wsClientError', (_error, socket, req) => {
    const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
    noteRefusal({ status: 400, reason: 'bad_handshake', endpoint: endpointOf(path) });
    refuse(socket, 400);
  });
  let accepting = true;

  interface Admission {
    readonly endpoint: Endpoint;
    readonly origin: string | null;
    readonly ip: string;
    readonly source: IpSource;
    readonly key: string;
    /** Over the attempt rate, but not far over: refused after the upgrade with 4008. */
    readonly overRate: { readonly retryAfterMs: number } | null;
  }

  /** A refused handshake: a bare status before the upgrade (with `code`: a close right after). */
  interface Refusal {
    readonly status: number;
    readonly reason: HandshakeRefusal;
    readonly endpoint: Endpoint | null;
    /** The resolved client, once a guard needed it. */
    readonly client?: { readonly ip: string; readonly source: IpSource };
  }

  /** Counts a refused handshake and writes its (sampled) line. */
  function noteRefusal(refusal: Refusal & { readonly code?: number }): void {
    deps.metrics.handshakeRefused(refusal.endpoint, refusal.reason);
    deps.refusals.refused('ws_handshake', refusal.reason, {
      endpoint: refusal.endpoint ?? 'other',
      ...(refusal.code === undefined ? { status: refusal.status } : { code: refusal.code }),
      ...(refusal.client ? { ip: refusal.client.ip, ip_source: refusal.client.source } : {}),
    });
  }

  /** The guards, cheapest first; a {@link Refusal} names the status to refuse with. */
  function admit(req: IncomingMessage, path: string): Admission | Refusal {
    const endpoint = endpointOf(path);
    if (endpoint === null) return { status: 404, reason: 'unknown_path', endpoint };
    if (!accepting) return { status: 503, reason: 'shutting_down', endpoint };
    if (req.method !== 'GET') return { status: 400, reason: 'bad_method', endpoint };
    const { ip, key, source } = deps.clientOf(req);
    const client = { ip, source };
    const attempt = deps.connRate.hit(key);
    if (attempt.count > deps.farOverFactor * deps.connRateLimit) {
      return { status: 429, reason: 'rate_far_over', endpoint, client };
    }
    if (deps.capacity.full) return { status: 503, reason: 'capacity', endpoint, client };
    // Two Origin headers are one too many: never pick one of them (SPEC §2).
    const origins = req.headersDistinct['origin'];
    const origin = origins?.length === 1 ? parseOriginHeader(origins[0]) : null;
    if (endpoint === 'app') {
      const allowed =
        origins === undefined
          ? deps.appAllowNoOrigin
          : origin !== null && deps.appOrigins.has(origin);
      if (!allowed) return { status: 403, reason: 'app_origin', endpoint, client };
    } else if (origins === undefined) {
      // No Origin: not a browser, and the widget endpoint is for browsers only.
      return { status: 403, reason: 'no_origin', endpoint, client };
    }
    const overRate = attempt.allowed ? null : { retryAfterMs: attempt.retryAfterMs };
    return { endpoint, origin, ip, source, key, overRate };
  }

  /** Closes a socket refused right after the upgrade, counted like a refused handshake. */
  function refuseUpgraded(
    ws: WebSocket,
    admission: Admission,
    reason: HandshakeRefusal,
    code: number,
    closeReason: string,
  ): void {
    const { endpoint, ip, source } = admission;
    noteRefusal({ status: 101, reason, endpoint, code, client: { ip, source } });
    deps.metrics.refusedSocketClosed(endpoint, code);
    ws.close(code, closeReason);
  }

  /** After the upgrade: the refusals the SDK must tell apart, then the connection. */
  function accept(ws: WebSocket, admission: Admission): void {
    // First, before any early close: ws reports a protocol error from the client (an oversized
    // or non-UTF-8 frame sent right after the handshake) as an 'error' event, and an 'error'
    // with no listener throws — one refused client would take the whole process down.
    const onEarlyError = (error: Error) => deps.log.debug('ws_protocol_error', { error });
    ws.on('error', onEarlyError);
    if (admission.overRate) {
      const hint = formatRetryHint(admission.overRate.retryAfterMs);
      refuseUpgraded(ws, admission, 'rate_limited', CloseCode.RATE_LIMITED, hint);
      return;
    }
    if (admission.endpoint === 'widget' && admission.origin === null) {
      const code = CloseCode.FORBIDDEN_ORIGIN;
      refuseUpgraded(ws, admission, 'invalid_origin', code, 'forbidden_origin');
      return;
    }
    // Slots are taken only once the socket exists, so a handshake ws refuses leaks none.
    const grant = deps.slots.acquire({ ip: admission.key });
    if (!grant.ok) {
      const global = grant.refusedBy === 'global';
      refuseUpgraded(
        ws,
        admission,
        global ? 'capacity_after_upgrade' : 'ip_sockets',
        global ? CloseCode.TRY_AGAIN_LATER : CloseCode.RATE_LIMITED,
        formatRetryHint(15_000),
      );
      return;
    }
    const { endpoint, origin, ip, source } = admission;
    deps.metrics.handshakeAccepted(endpoint);
    // Synchronously handed over: the connection attaches its own listener (with its session id).
    ws.off('error', onEarlyError);
    const context = { endpoint, origin, ip, ipSource: source, lease: grant.lease };
    const connection = runConnection(ws, context, deps.connection);
    sockets.set(ws, connection.close);
    ws.once('close', () => sockets.delete(ws));
  }

  return {
    handleUpgrade(req, socket, head) {
      socket.on('error', () => socket.destroy());
      const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
      const admission = admit(req, path);
      if ('status' in admission) {
        noteRefusal(admission);
        const { status } = admission;
        const retry = status === 429 || status === 503 ? 'Retry-After: 60\r\n' : '';
        return refuse(socket, status, retry);
      }
      wss.handleUpgrade(req, socket, head, (ws) => accept(ws, admission));
    },
    closeAll(code, reason) {
      accepting = false;
      // Through each connection's own close funnel, so its timers stop and its close is
      // recorded as the server's.
      for (const close of [...sockets.values()]) close(code, reason);
      // ws waits 30 s for the peer's close frame, and these sockets are no longer the HTTP
      // server's to cut: a peer that never answers would hold the shutdown. Past a short grace,
      // whoever is left is dropped.
      const cutoff = setTimeout(() => {
        for (const ws of sockets.keys()) ws.terminate();
      }, CLOSE_HANDSHAKE_GRACE_MS);
      cutoff.unref();
    },
  };
}
