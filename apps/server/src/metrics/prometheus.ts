/**
 * {@link Metrics} on a `prom-client` registry of its own (never the library's global one, so two
 * servers in one process — tests, or an embedder's own metrics — never mix their series), plus
 * the default process metrics. Families are prefixed `postern_`; every label value passes through
 * a closed list (`labels.ts`). Gauges of limiter tables and assistant counters are read from the
 * server's own views at scrape time, so the hot paths pay nothing for them.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { AssistantRunnerMetrics } from '../assistant/runner.js';
import {
  ASSISTANT_OUTCOMES,
  CLIENT_FRAME_LABELS,
  CLOSE_CODE_LABELS,
  CLOSE_INITIATORS,
  CORS_DECISIONS,
  closedLabel,
  ENDPOINTS,
  FRAME_REFUSALS,
  HANDSHAKE_REFUSALS,
  HTTP_ERROR_CODES,
  HTTP_METHODS,
  HTTP_ROUTES,
  IP_ANOMALIES,
  IP_SOURCES,
  OPEN_COUNTERS,
  type OpenCounterName,
  OTHER,
  RATE_TABLES,
  type RateTableName,
  SERVER_FRAME_LABELS,
  statusClass,
  TOKEN_KINDS,
  TOKEN_RESULTS,
} from './labels.js';
import type { Metrics } from './metrics.js';

/** What the scrape reads from the running server. */
export interface MetricSources {
  readonly rateTables: Readonly<
    Partial<Record<RateTableName, { readonly size: number; readonly evictions: number }>>
  >;
  readonly openCounters: Readonly<Record<OpenCounterName, { readonly size: number }>>;
  /** The assistant runner's counters, or `null` without an assistant. */
  readonly assistant: () => AssistantRunnerMetrics | null;
}

export interface PrometheusMetrics {
  readonly metrics: Metrics;
  readonly registry: Registry;
  /** Connects the views read at every scrape (the server creates them after the hooks). */
  watch(sources: MetricSources): void;
}

/** Connection lifetimes: from a quick refusal to the 24 h session cap. */
const DURATION_BUCKETS_S = [0.1, 1, 5, 15, 60, 300, 900, 3600, 14_400, 86_400];
/** Ping round trips: a healthy socket answers in milliseconds; the pong timeout is 10 s. */
const RTT_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const endpoint = closedLabel(ENDPOINTS);
const handshakeReason = closedLabel(HANDSHAKE_REFUSALS);
const closeCode = (code: number) => closedLabel(CLOSE_CODE_LABELS)(String(code));
const initiator = closedLabel(CLOSE_INITIATORS);
const clientFrame = closedLabel(CLIENT_FRAME_LABELS);
const serverFrame = closedLabel(SERVER_FRAME_LABELS);
const frameRefusal = closedLabel(FRAME_REFUSALS);
const tokenKind = closedLabel(TOKEN_KINDS);
const tokenResult = closedLabel(TOKEN_RESULTS);
const ipSource = closedLabel(IP_SOURCES);
const ipAnomaly = closedLabel(IP_ANOMALIES);
const corsDecision = closedLabel(CORS_DECISIONS);
const httpError = closedLabel(HTTP_ERROR_CODES);
const route = closedLabel(HTTP_ROUTES);
const method = closedLabel(HTTP_METHODS);

/** Assistant counters by outcome label, from one runner snapshot. */
function assistantOutcomes(snapshot: AssistantRunnerMetrics): Record<string, number> {
  const counts: Record<string, number> = {
    replied: snapshot.replied,
    silent: snapshot.silent,
    dropped: snapshot.dropped,
    cancelled: snapshot.cancelled,
    coalesced: snapshot.coalesced,
  };
  for (const [reason, count] of Object.entries(snapshot.failures)) {
    counts[`failed_${reason}`] = count;
  }
  return counts;
}

export function createPrometheusMetrics(): PrometheusMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let sources: MetricSources | null = null;

  const handshakesAccepted = new Counter({
    name: 'postern_ws_handshakes_accepted_total',
    help: 'WebSocket handshakes that passed every guard, by endpoint',
    labelNames: ['endpoint'],
    registers,
  });
  const handshakesRefused = new Counter({
    name: 'postern_ws_handshakes_refused_total',
    help: 'WebSocket handshakes refused before or right after the upgrade, by endpoint and reason',
    labelNames: ['endpoint', 'reason'],
    registers,
  });
  const active = new Gauge({
    name: 'postern_ws_connections_active',
    help: 'WebSocket connections open now, by endpoint',
    labelNames: ['endpoint'],
    registers,
  });
  const closes = new Counter({
    name: 'postern_ws_closes_total',
    help: 'WebSocket closes by endpoint, close code (protocol table, else other) and who closed',
    labelNames: ['endpoint', 'code', 'initiator'],
    registers,
  });
  const duration = new Histogram({
    name: 'postern_ws_connection_duration_seconds',
    help: 'Lifetime of WebSocket connections, by endpoint',
    labelNames: ['endpoint'],
    buckets: DURATION_BUCKETS_S,
    registers,
  });
  const framesIn = new Counter({
    name: 'postern_ws_frames_in_total',
    help: 'Client frames received, by endpoint and frame type (other: no known type)',
    labelNames: ['endpoint', 'type'],
    registers,
  });
  const framesOut = new Counter({
    name: 'postern_ws_frames_out_total',
    help: 'Server frames sent, by endpoint and frame type',
    labelNames: ['endpoint', 'type'],
    registers,
  });
  const framesRefused = new Counter({
    name: 'postern_ws_frames_refused_total',
    help: 'Client frames refused with the socket kept open, by error code',
    labelNames: ['reason'],
    registers,
  });
  const rtt = new Histogram({
    name: 'postern_ws_ping_rtt_seconds',
    help: 'Time from a server ping to its pong',
    buckets: RTT_BUCKETS_S,
    registers,
  });
  const tokens = new Counter({
    name: 'postern_token_verifications_total',
    help: 'Token verifications by token kind and result (ok, expired, failed, error)',
    labelNames: ['kind', 'result'],
    registers,
  });
  const ipResolutions = new Counter({
    name: 'postern_client_ip_resolutions_total',
    help: 'Client addresses resolved, by where the address came from (socket or forwarded)',
    labelNames: ['source'],
    registers,
  });
  const ipAnomalies = new Counter({
    name: 'postern_client_ip_anomalies_total',
    help: 'X-Forwarded-For walks cut short, by anomaly',
    labelNames: ['anomaly'],
    registers,
  });
  const cors = new Counter({
    name: 'postern_cors_decisions_total',
    help: 'CORS decisions on API requests, by class',
    labelNames: ['decision'],
    registers,
  });
  const sessionRefusals = new Counter({
    name: 'postern_session_refusals_total',
    help: 'POST /v1/widget/session answered with an error, by error code',
    labelNames: ['reason'],
    registers,
  });
  const httpRequests = new Counter({
    name: 'postern_http_requests_total',
    help: 'HTTP requests on the public port, by route template, method and status class',
    labelNames: ['route', 'method', 'status'],
    registers,
  });

  new Gauge({
    name: 'postern_limiter_keys',
    help: 'Keys held by each rate table (bounded by POSTERN_LIMITER_MAX_KEYS)',
    labelNames: ['table'],
    registers,
    collect() {
      this.reset();
      for (const table of RATE_TABLES) {
        const view = sources?.rateTables[table];
        if (view) this.set({ table }, view.size);
      }
    },
  });
  new Counter({
    name: 'postern_limiter_evictions_total',
    help: 'Least recently used keys evicted from each rate table',
    labelNames: ['table'],
    registers,
    collect() {
      this.reset();
      for (const table of RATE_TABLES) {
        const view = sources?.rateTables[table];
        if (view) this.inc({ table }, view.evictions);
      }
    },
  });
  new Gauge({
    name: 'postern_open_counter_keys',
    help: 'Keys with an open socket in each exact open-socket counter',
    labelNames: ['counter'],
    registers,
    collect() {
      this.reset();
      if (sources === null) return;
      for (const counter of OPEN_COUNTERS)
        this.set({ counter }, sources.openCounters[counter].size);
    },
  });
  new Counter({
    name: 'postern_assistant_calls_total',
    help: 'Assistant requests by outcome (replied, silent, dropped, cancelled, coalesced, failed_<reason>)',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      const snapshot = sources?.assistant() ?? null;
      if (snapshot === null) return;
      const outcome = closedLabel(ASSISTANT_OUTCOMES);
      for (const [name, count] of Object.entries(assistantOutcomes(snapshot))) {
        this.inc({ outcome: outcome(name) }, count);
      }
    },
  });
  new Gauge({
    name: 'postern_assistant_calls_in_flight',
    help: 'Assistant calls running now',
    registers,
    collect() {
      this.set(sources?.assistant()?.inFlight ?? 0);
    },
  });
  new Gauge({
    name: 'postern_assistant_queue_length',
    help: 'Assistant requests waiting for a call slot',
    registers,
    collect() {
      this.set(sources?.assistant()?.queued ?? 0);
    },
  });

  const metrics: Metrics = {
    handshakeAccepted: (at) => handshakesAccepted.inc({ endpoint: endpoint(at) }),
    handshakeRefused: (at, reason) =>
      handshakesRefused.inc({
        endpoint: at === null ? OTHER : endpoint(at),
        reason: handshakeReason(reason),
      }),
    connectionOpened: (at) => active.inc({ endpoint: endpoint(at) }),
    connectionClosed(at, code, by, durationMs) {
      const labels = { endpoint: endpoint(at) };
      active.dec(labels);
      closes.inc({ ...labels, code: closeCode(code), initiator: initiator(by) });
      duration.observe(labels, Math.max(0, durationMs) / 1000);
    },
    refusedSocketClosed: (at, code) =>
      closes.inc({ endpoint: endpoint(at), code: closeCode(code), initiator: 'server' }),
    frameIn: (at, type) => framesIn.inc({ endpoint: endpoint(at), type: clientFrame(type) }),
    frameOut: (at, type) => framesOut.inc({ endpoint: endpoint(at), type: serverFrame(type) }),
    frameRefused: (reason) => framesRefused.inc({ reason: frameRefusal(reason) }),
    pingRoundTrip: (ms) => rtt.observe(Math.max(0, ms) / 1000),
    tokenVerified: (kind, result) =>
      tokens.inc({ kind: tokenKind(kind), result: tokenResult(result) }),
    clientIpResolved(source, anomaly) {
      ipResolutions.inc({ source: ipSource(source) });
      if (anomaly !== undefined) ipAnomalies.inc({ anomaly: ipAnomaly(anomaly) });
    },
    corsDecision: (decision) => cors.inc({ decision: corsDecision(decision) }),
    sessionRefused: (reason) => sessionRefusals.inc({ reason: httpError(reason) }),
    httpRequest: (template, verb, status, finished) =>
      httpRequests.inc({
        route: route(template),
        method: method(verb),
        status: statusClass(status, finished),
      }),
  };

  return {
    metrics: Object.freeze(metrics),
    registry,
    watch(next) {
      sources = next;
    },
  };
}
