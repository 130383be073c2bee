/**
 * Wires the server: HTTP routes (probes, the script-tag build, the API) and the WebSocket
 * endpoints over one store. Everything it needs is passed in; `main.ts` reads the environment.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CloseCode,
  formatRetryHint,
  HTTP_BODY_MAX_BYTES,
  MINUTE_WINDOW_MS,
  MSG_RATE_WINDOW_MS,
  TOKEN_CLOCK_TOLERANCE_S,
} from '@postern/protocol';
import type { FetchLike } from './assistant/types.js';
import { type ChatRuntime, createChatRuntime } from './chat/runtime.js';
import type { Config } from './config.js';
import { ErrorCode, PosternError } from './errors.js';
import { createApi } from './http/api.js';
import { appRoutes } from './http/app-routes.js';
import { createPublicHttp } from './http/public-server.js';
import { widgetRoutes } from './http/widget-routes.js';
import type { WidgetScript } from './http/widget-script.js';
import type { Logger } from './log.js';
import { type MetricsListener, startMetricsListener } from './metrics/listener.js';
import { noopMetrics } from './metrics/metrics.js';
import { createPrometheusMetrics } from './metrics/prometheus.js';
import { countedTokens } from './metrics/tokens.js';
import { createRefusalLog } from './refusal-log.js';
import { type ClientIp, clientKey, resolveClientIp } from './security/client-ip.js';
import {
  type Capacity,
  createCapacity,
  createOpenCounter,
  createSocketSlots,
  type OpenCounter,
} from './security/open-counters.js';
import { createRateTable, createRateTables, type RateTable } from './security/rate-table.js';
import { loadRevocations, type Revocations } from './security/revocations.js';
import { createTokenService, type KeySet, type TokenService } from './security/tokens.js';
import { createRefreshTokenKit } from './sessions/refresh-tokens.js';
import { createSiteAccess } from './sessions/site-access.js';
import { createWidgetSessions } from './sessions/widget-session.js';
import type { Store } from './store/types.js';
import { createSocketRegistry, type SocketRegistry } from './ws/registry.js';
import { createUpgrader } from './ws/upgrade.js';

export interface ServerDeps {
  readonly config: Config;
  /** Resolved keys (configured, or generated for development). */
  readonly keys: { readonly site: KeySet; readonly visitor: KeySet; readonly operator: KeySet };
  readonly store: Store;
  readonly widget: WidgetScript;
  readonly log: Logger;
  readonly now?: () => number;
  /** The `fetch` of the webhook assistant; default the global one. */
  readonly fetch?: FetchLike;
}

type OpenCounterView = Pick<OpenCounter, 'count' | 'limit' | 'size' | 'total' | 'mismatches'>;

export interface LimiterViews {
  readonly rateTables: Readonly<
    Record<'http' | 'conn' | 'sessionIp' | 'sessionSite', Pick<RateTable, 'size' | 'evictions'>>
  >;
  readonly sockets: {
    readonly global: Pick<Capacity, 'inUse' | 'limit' | 'mismatches'>;
    readonly perIp: OpenCounterView;
    readonly perDialog: OpenCounterView;
    readonly perVisitor: OpenCounterView;
    readonly perOperator: OpenCounterView;
  };
}

export interface PosternServer {
  readonly http: Server;
  readonly tokens: TokenService;
  readonly revocations: Revocations;
  readonly registry: SocketRegistry;
  /** The chat layer (fan-out, commits, assistant, presence, sweeper). */
  readonly chat: ChatRuntime;
  /** Read-only views of the limiters, for metrics and leak checks. */
  readonly limiters: LimiterViews;
  /** The metrics listener's address once listening, or `null` (metrics off, or not started). */
  metricsAddress(): AddressInfo | null;
  /** Starts listening (and the metrics listener, when configured); resolves with the port. */
  listen(): Promise<number>;
  /**
   * Stops accepting, closes every socket with 1001, finishes the commits in flight and waits for
   * the HTTP server. The store stays open (the caller owns it).
   */
  close(): Promise<void>;
}

/** Ids with 128 random bits (≥ 122 required), URL-safe. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
}

/** Attempts this far over `POSTERN_CONN_RATE` are refused before the upgrade (bare 429). */
const FAR_OVER_FACTOR = 4;

/** In-flight requests get this long to finish at shutdown before their connections are cut. */
const SHUTDOWN_GRACE_MS = 2_000;

export async function createPosternServer(deps: ServerDeps): Promise<PosternServer> {
  const { config, store, widget, log } = deps;
  const now = deps.now ?? Date.now;
  const limits = config.limits;
  // Metrics exist only with a metrics port; the hooks stay in place either way (no-op).
  const prometheus = config.metricsPort === null ? null : createPrometheusMetrics();
  const metrics = prometheus?.metrics ?? noopMetrics;
  const refusals = createRefusalLog({ log, now });
  let metricsListener: MetricsListener | null = null;
  const tokens = countedTokens(
    createTokenService({
      keys: deps.keys,
      issuer: config.issuer,
      visitorTtlS: limits.POSTERN_VISITOR_TTL_S,
      now,
      randomId: newId,
    }),
    metrics,
  );
  const revocations = await loadRevocations(store, now);
  const registry = createSocketRegistry();
  // One audit line per revocation, whoever made it (an admin, or refresh-token reuse).
  revocations.onRevoke((revocation) => {
    const closed = registry.applyRevocation(revocation);
    log.info('audit_revocation', {
      actor: revocation.actor,
      target_kind: revocation.kind,
      target_id: revocation.target,
      sockets_closed: closed,
    });
  });

  const maxKeys = limits.POSTERN_LIMITER_MAX_KEYS;
  // The three per-IP limits share their keys: a client address is stored once, whatever it does.
  const perIp = createRateTables(
    {
      http: limits.POSTERN_HTTP_RATE,
      conn: limits.POSTERN_CONN_RATE,
      session: limits.POSTERN_SESSION_RATE,
    },
    { windowMs: MINUTE_WINDOW_MS, maxKeys, now },
  );
  const httpRate = perIp.http;
  const connRate = perIp.conn;
  const sessionIpRate = perIp.session;
  const sessionSiteRate = createRateTable({
    limit: limits.POSTERN_SITE_SESSION_RATE,
    windowMs: MINUTE_WINDOW_MS,
    maxKeys,
    now,
  });
  const capacity = createCapacity({ limit: limits.POSTERN_MAX_SOCKETS });
  const socketCounters = {
    global: capacity,
    perIp: createOpenCounter({ limit: limits.POSTERN_MAX_SOCKETS_PER_IP }),
    perDialog: createOpenCounter({ limit: limits.POSTERN_MAX_SOCKETS_PER_DIALOG }),
    perVisitor: createOpenCounter({ limit: limits.POSTERN_MAX_SOCKETS_PER_VISITOR }),
    perOperator: createOpenCounter({ limit: limits.POSTERN_MAX_SOCKETS_PER_OPERATOR }),
  };
  const slots = createSocketSlots(socketCounters);

  // Resolved once per request (the session route asks twice), so each is counted once.
  const resolvedClients = new WeakMap<IncomingMessage, ClientIp & { readonly key: string }>();
  const clientOf = (req: IncomingMessage) => {
    const known = resolvedClients.get(req);
    if (known !== undefined) return known;
    const resolved = resolveClientIp(
      req.socket.remoteAddress,
      req.headers['x-forwarded-for'],
      config.trustProxy,
    );
    metrics.clientIpResolved(resolved.source, resolved.anomaly);
    const client = { ...resolved, key: clientKey(resolved.ip, limits.POSTERN_IPV6_PREFIX) };
    resolvedClients.set(req, client);
    return client;
  };
  const admit = (table: typeof httpRate, key: string) => {
    if (!table.hit(key).allowed) throw new PosternError(ErrorCode.RATE_LIMITED, 'session rate');
  };

  const chat = createChatRuntime({
    store,
    log,
    now,
    newId,
    assistant: config.assistant,
    fetch: deps.fetch ?? ((url, init) => fetch(url, init)),
    limits: {
      visitorMsgRate: limits.POSTERN_VISITOR_MSG_RATE,
      limiterMaxKeys: limits.POSTERN_LIMITER_MAX_KEYS,
      resumeMax: limits.POSTERN_RESUME_MAX,
      maxSubscriptions: limits.POSTERN_MAX_SUBSCRIPTIONS,
      handoffIdleMs: limits.POSTERN_HANDOFF_IDLE_MS,
      dialogIdleCloseMs: limits.POSTERN_DIALOG_IDLE_CLOSE_MS,
      assistantSiteRate: limits.POSTERN_ASSISTANT_SITE_RATE,
    },
  });
  await chat.start();
  prometheus?.watch({
    rateTables: {
      http: httpRate,
      conn: connRate,
      session_ip: sessionIpRate,
      session_site: sessionSiteRate,
      visitor_msg: chat.rateTables.visitorMsg,
      assistant_site: chat.rateTables.assistantSite,
    },
    openCounters: {
      ip: socketCounters.perIp,
      dialog: socketCounters.perDialog,
      visitor: socketCounters.perVisitor,
      operator: socketCounters.perOperator,
    },
    assistant: () => chat.runner?.metrics ?? null,
  });

  const siteAccess = createSiteAccess({ store, tokens, revocations, now });
  const sessions = createWidgetSessions({
    store,
    tokens,
    revocations,
    siteAccess,
    refreshTokens: createRefreshTokenKit(deps.keys.visitor.current, deps.keys.visitor.previous),
    newId,
    now,
    refreshIdleMs: limits.POSTERN_REFRESH_IDLE_S * 1000,
    refreshMaxMs: limits.POSTERN_REFRESH_MAX_S * 1000,
    refreshGraceMs: limits.POSTERN_REFRESH_GRACE_MS,
    visitorTokenMaxAgeMs: (limits.POSTERN_VISITOR_TTL_S + TOKEN_CLOCK_TOLERANCE_S) * 1000,
    admitNewSession: (siteId) => admit(sessionSiteRate, siteId),
  });
  const routes = [
    ...widgetRoutes({
      sessions,
      tokens,
      revocations,
      siteAccess,
      store,
      bodyMaxBytes: HTTP_BODY_MAX_BYTES,
      admitNewSessionFrom: (req) => admit(sessionIpRate, clientOf(req).key),
    }),
    ...appRoutes({ tokens, revocations, store, bodyMaxBytes: HTTP_BODY_MAX_BYTES, now }),
  ];
  const api = createApi({
    routes,
    appOrigins: config.appOrigins,
    appAllowNoOrigin: config.appAllowNoOrigin,
    httpRate,
    clientOf,
    log,
    metrics,
    refusals,
  });
  const upgrader = createUpgrader({
    connection: {
      tokens,
      siteAccess,
      store,
      newId,
      now,
      revocations,
      registry,
      log,
      metrics,
      refusals,
      authTimeoutMs: limits.POSTERN_AUTH_TIMEOUT_MS,
      msgRate: limits.POSTERN_MSG_RATE,
      msgRateWindowMs: MSG_RATE_WINDOW_MS,
      pingIntervalMs: limits.POSTERN_PING_INTERVAL_MS,
      pongTimeoutMs: limits.POSTERN_PONG_TIMEOUT_MS,
      maxBufferedBytes: limits.POSTERN_MAX_BUFFERED_BYTES,
      maxSessionMs: limits.POSTERN_MAX_SESSION_MS,
      openChat: chat.openSession,
    },
    connRate,
    connRateLimit: limits.POSTERN_CONN_RATE,
    farOverFactor: FAR_OVER_FACTOR,
    capacity,
    slots,
    appOrigins: config.appOrigins,
    appAllowNoOrigin: config.appAllowNoOrigin,
    maxFrameBytes: limits.POSTERN_MAX_FRAME_BYTES,
    clientOf,
    log,
    metrics,
    refusals,
  });

  let shuttingDown = false;
  const http = createPublicHttp({
    tls: config.tls,
    widget,
    routes,
    api,
    upgrade: (req, socket, head) => upgrader.handleUpgrade(req, socket, head),
    ready: () => !shuttingDown && store.healthy(),
    metrics,
  });

  return {
    http,
    tokens,
    revocations,
    registry,
    chat,
    limiters: {
      rateTables: {
        http: httpRate,
        conn: connRate,
        sessionIp: sessionIpRate,
        sessionSite: sessionSiteRate,
      },
      sockets: socketCounters,
    },
    metricsAddress: () => metricsListener?.address ?? null,
    async listen() {
      const port = await new Promise<number>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.port, config.host, () => {
          http.off('error', reject);
          const address = http.address();
          resolve(typeof address === 'object' && address ? address.port : config.port);
        });
      });
      if (prometheus !== null && config.metricsPort !== null) {
        metricsListener = await startMetricsListener({
          registry: prometheus.registry,
          port: config.metricsPort,
          host: config.metricsHost,
          onError: (error) => log.error('metrics_error', { error }),
        });
      }
      return port;
    },
    async close() {
      shuttingDown = true;
      const closed = new Promise<void>((resolve) => {
        upgrader.closeAll(CloseCode.GOING_AWAY, formatRetryHint(5_000));
        http.close(() => {
          clearTimeout(cutoff);
          resolve();
        });
        http.closeIdleConnections();
        // `close()` also stops Node's request timeouts, so a client that never finishes its
        // request (or never answers a close frame) would hold shutdown forever.
        const cutoff = setTimeout(() => http.closeAllConnections(), SHUTDOWN_GRACE_MS);
        cutoff.unref();
      });
      // Sends already in the commit queue are committed before the store closes: their senders
      // never got an ack, and will find the original when they resend the same client_msg_id.
      await chat.close();
      await closed;
      await metricsListener?.close();
    },
  };
}
