/**
 * Every label value a metric may carry, as closed lists fixed in code. The original product
 * labelled its metrics with request origins: a client choosing label values chooses how many time
 * series the server (and Prometheus) must hold. Here nothing a client sends becomes a label; each
 * value is looked up in one of these lists and anything else is counted as `other`.
 */
import {
  CLIENT_FRAME_TYPES,
  CLOSE_POLICIES,
  type ClientFrameType,
  FRAME_ERROR_CODES,
  type FrameErrorCode,
  HttpError,
  type HttpErrorCode,
  Paths,
  SERVER_FRAME_TYPES,
  type ServerFrameType,
} from '@postern/protocol';
import { ASSISTANT_FAILURE_REASONS } from '../assistant/outcome.js';
import type { ClientIpAnomaly } from '../security/client-ip.js';
import type { TokenKind } from '../security/token-checks.js';

/** The value of a label whose input was not in its list. */
export const OTHER = 'other';

export type Endpoint = 'widget' | 'app';
export const ENDPOINTS: readonly Endpoint[] = ['widget', 'app'];

/**
 * Why a WebSocket handshake was refused. The first eight are bare HTTP statuses before the
 * upgrade; the last four are close codes right after it (SPEC §4).
 */
export type HandshakeRefusal =
  /** Not a WebSocket path (404). */
  | 'unknown_path'
  /** The server is shutting down (503). */
  | 'shutting_down'
  /** Not a GET (400). */
  | 'bad_method'
  /** ws refused the upgrade request itself: bad key, version or headers (400). */
  | 'bad_handshake'
  /** Far over the per-IP attempt rate (429). */
  | 'rate_far_over'
  /** Global socket capacity reached (503). */
  | 'capacity'
  /** `/v1/ws/app` from an origin outside `POSTERN_APP_ORIGINS`, or without one (403). */
  | 'app_origin'
  /** `/v1/ws/widget` without `Origin` (403). */
  | 'no_origin'
  /** Over the per-IP attempt rate (4008). */
  | 'rate_limited'
  /** `Origin` present but not a valid origin (4003). */
  | 'invalid_origin'
  /** Capacity reached between the check and the slot (1013). */
  | 'capacity_after_upgrade'
  /** Too many open sockets from this IP (4008). */
  | 'ip_sockets';

export const HANDSHAKE_REFUSALS: readonly HandshakeRefusal[] = [
  'unknown_path',
  'shutting_down',
  'bad_method',
  'bad_handshake',
  'rate_far_over',
  'capacity',
  'app_origin',
  'no_origin',
  'rate_limited',
  'invalid_origin',
  'capacity_after_upgrade',
  'ip_sockets',
];

/** Who sent the close frame that ended a connection. */
export type CloseInitiator = 'server' | 'peer';
export const CLOSE_INITIATORS: readonly CloseInitiator[] = ['server', 'peer'];

/** Every close code with a row in the protocol's policy table, as label values. */
export const CLOSE_CODE_LABELS: readonly string[] = CLOSE_POLICIES.map((policy) =>
  String(policy.code),
);

export type TokenResult = 'ok' | 'expired' | 'failed' | 'error';
export const TOKEN_KINDS: readonly TokenKind[] = ['site', 'visitor', 'operator'];
export const TOKEN_RESULTS: readonly TokenResult[] = ['ok', 'expired', 'failed', 'error'];

export type RateTableName =
  | 'http'
  | 'conn'
  | 'session_ip'
  | 'session_site'
  | 'visitor_msg'
  | 'assistant_site';
export const RATE_TABLES: readonly RateTableName[] = [
  'http',
  'conn',
  'session_ip',
  'session_site',
  'visitor_msg',
  'assistant_site',
];

export type OpenCounterName = 'ip' | 'dialog' | 'visitor' | 'operator';
export const OPEN_COUNTERS: readonly OpenCounterName[] = ['ip', 'dialog', 'visitor', 'operator'];

export type IpSource = 'socket' | 'forwarded';
export const IP_SOURCES: readonly IpSource[] = ['socket', 'forwarded'];
export const IP_ANOMALIES: readonly ClientIpAnomaly[] = [
  'malformed_hop',
  'too_many_hops',
  'no_socket_address',
];

export type CorsDecision =
  | 'widget-allowed'
  | 'widget-refused'
  | 'app-allowed'
  | 'app-refused'
  | 'preflight';
export const CORS_DECISIONS: readonly CorsDecision[] = [
  'widget-allowed',
  'widget-refused',
  'app-allowed',
  'app-refused',
  'preflight',
];

export const HTTP_ERROR_CODES = Object.keys(HttpError) as HttpErrorCode[];

/** Route templates, never raw paths (those carry dialog ids and versions). */
export const HTTP_ROUTES: readonly string[] = [
  Paths.HEALTHZ,
  Paths.READYZ,
  Paths.WIDGET_SCRIPT,
  '/widget/:version/widget.js',
  Paths.WIDGET_SESSION,
  `${Paths.WIDGET_DIALOGS}/:id/messages`,
  Paths.APP_DIALOGS,
  `${Paths.APP_DIALOGS}/:id/messages`,
  Paths.APP_REVOCATIONS,
];
export const HTTP_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'OPTIONS'];
export const HTTP_STATUS_CLASSES: readonly string[] = [
  '1xx',
  '2xx',
  '3xx',
  '4xx',
  '5xx',
  'aborted',
];

/** Where an assistant call ended (the runner's counters, SPEC §4 "Assistant"). */
export const ASSISTANT_OUTCOMES: readonly string[] = [
  'replied',
  'silent',
  'dropped',
  'cancelled',
  'coalesced',
  ...ASSISTANT_FAILURE_REASONS.map((reason) => `failed_${reason}`),
];

export const CLIENT_FRAME_LABELS: readonly ClientFrameType[] = CLIENT_FRAME_TYPES;
export const SERVER_FRAME_LABELS: readonly ServerFrameType[] = SERVER_FRAME_TYPES;
export const FRAME_REFUSALS: readonly FrameErrorCode[] = FRAME_ERROR_CODES;

/** A lookup that answers `value` when it is in `allowed`, else {@link OTHER}. */
export function closedLabel(allowed: readonly string[]): (value: unknown) => string {
  const known = new Set(allowed);
  return (value) => (typeof value === 'string' && known.has(value) ? value : OTHER);
}

/** The class of an HTTP status (`2xx` …), or `aborted` when no response was completed. */
export function statusClass(status: number, finished: boolean): string {
  if (!finished) return 'aborted';
  const hundreds = Math.floor(status / 100);
  return hundreds >= 1 && hundreds <= 5 ? `${hundreds}xx` : OTHER;
}

/** Every label name used by a Postern family, with its allowed values (for docs and tests). */
export const LABEL_VALUES: Readonly<Record<string, readonly string[]>> = {
  endpoint: [...ENDPOINTS, OTHER],
  reason: [...HANDSHAKE_REFUSALS, ...FRAME_REFUSALS, ...HTTP_ERROR_CODES, OTHER],
  code: [...CLOSE_CODE_LABELS, OTHER],
  initiator: CLOSE_INITIATORS,
  type: [...new Set([...CLIENT_FRAME_LABELS, ...SERVER_FRAME_LABELS]), OTHER],
  kind: [...TOKEN_KINDS, OTHER],
  result: [...TOKEN_RESULTS, OTHER],
  table: [...RATE_TABLES],
  counter: [...OPEN_COUNTERS],
  source: [...IP_SOURCES, OTHER],
  anomaly: [...IP_ANOMALIES, OTHER],
  decision: [...CORS_DECISIONS, OTHER],
  outcome: ASSISTANT_OUTCOMES,
  route: [...HTTP_ROUTES, OTHER],
  method: [...HTTP_METHODS, OTHER],
  status: [...HTTP_STATUS_CLASSES, OTHER],
};
