/**
 * The HTTP API (SPEC §3): one flat run of guards per request — rate, CORS, method, auth — then
 * the route. Widget routes answer any valid origin readably; app routes only configured ones.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type HttpErrorCode,
  MINUTE_WINDOW_MS,
  Paths,
  type RetryHintSeconds,
} from '@postern/protocol';
import { errorCodeOf, errorMapping } from '../errors.js';
import type { Logger } from '../log.js';
import type { IpSource } from '../metrics/labels.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RefusalLog } from '../refusal-log.js';
import { parseOriginHeader } from '../security/origins.js';
import { coarseRetryAfterSeconds, type RateTable } from '../security/rate-table.js';
import { BodyError } from './body.js';
import { corsHeaders, preflightHeaders } from './cors.js';
import type { Headers } from './respond.js';
import { sendError, sendErrorCode } from './respond.js';

/** What every route handler receives. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Normalised `Origin`, or `null` when absent or invalid. */
  readonly origin: string | null;
  /** Path parameter (a dialog id), when the route has one. */
  readonly param: string | undefined;
  /** CORS headers to put on every response of this request. */
  readonly headers: Headers;
  /** The resolved client IP, for logs. */
  readonly ip: string;
}

export type RouteHandler = (context: RequestContext) => Promise<void>;

export interface Route {
  readonly audience: 'widget' | 'app';
  readonly method: 'GET' | 'POST';
  /** Exact path, or a prefix and suffix around one path segment. */
  readonly path: string | { readonly prefix: string; readonly suffix: string };
  readonly handle: RouteHandler;
}

export interface ApiDeps {
  readonly routes: readonly Route[];
  readonly appOrigins: { has(origin: string): boolean };
  readonly appAllowNoOrigin: boolean;
  readonly httpRate: RateTable;
  readonly clientOf: (req: IncomingMessage) => {
    readonly ip: string;
    readonly key: string;
    readonly source: IpSource;
  };
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Sampled refusal lines: a flood of refused requests must not become a flood of lines. */
  readonly refusals: RefusalLog;
}

/** Path segment ids: what `isId` accepts, so nothing odd reaches the store. */
const SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

function matchRoute(route: Route, path: string): { param: string | undefined } | null {
  if (typeof route.path === 'string') return route.path === path ? { param: undefined } : null;
  const { prefix, suffix } = route.path;
  if (!path.startsWith(prefix) || !path.endsWith(suffix)) return null;
  const param = path.slice(prefix.length, path.length - suffix.length);
  return SEGMENT.test(param) ? { param } : null;
}

/** Whether a path belongs to the API (everything under `/v1/` that is not a WebSocket path). */
export function isApiPath(path: string): boolean {
  return path.startsWith('/v1/') && path !== Paths.WS_WIDGET && path !== Paths.WS_APP;
}

/** The template of the route `path` belongs to (`/v1/app/dialogs/:id/messages`), or `null`. */
export function routeTemplate(routes: readonly Route[], path: string): string | null {
  const route = routes.find((candidate) => matchRoute(candidate, path) !== null);
  return route === undefined ? null : routeName(route);
}

/** Creates the API request handler; `path` is the request path without its query string. */
export function createApi(deps: ApiDeps) {
  return async function handleApi(req: IncomingMessage, res: ServerResponse, path: string) {
    const { ip, key, source } = deps.clientOf(req);
    const audience = path.startsWith('/v1/app/') ? 'app' : 'widget';
    const matches = deps.routes.flatMap((route) => {
      const match = matchRoute(route, path);
      return match ? [{ route, param: match.param }] : [];
    });
    const template = matches[0] === undefined ? 'other' : routeName(matches[0].route);
    /** Counts and logs (sampled) an error answer; the line names the route, never the path. */
    const noteRefusal = (code: HttpErrorCode, fields: Record<string, unknown> = {}) => {
      if (path === Paths.WIDGET_SESSION) deps.metrics.sessionRefused(code);
      deps.refusals.refused('http', code, { route: template, ip, ip_source: source, ...fields });
    };
    const refuse = (code: HttpErrorCode, headers: Headers) => {
      noteRefusal(code);
      sendErrorCode(res, code, headers);
    };
    const origin = parseOriginHeader(req.headers.origin);
    const originAllowed =
      audience === 'widget'
        ? origin !== null || req.headers.origin === undefined
        : origin !== null
          ? deps.appOrigins.has(origin)
          : req.headers.origin === undefined && deps.appAllowNoOrigin;
    // App routes give a refused origin nothing readable: no ACAO (SPEC §3).
    const headers = originAllowed ? corsHeaders(origin) : { Vary: 'Origin' };
    deps.metrics.corsDecision(
      !originAllowed
        ? `${audience}-refused`
        : req.method === 'OPTIONS'
          ? 'preflight'
          : `${audience}-allowed`,
    );

    // Every public route counts, preflights included, whatever the origin: Origin is forgeable.
    const rate = deps.httpRate.hit(key);
    if (!rate.allowed) {
      return refuse('rate_limited', {
        ...headers,
        'Retry-After': coarseRetryAfterSeconds(rate.retryAfterMs),
      });
    }
    if (!originAllowed) {
      return refuse(audience === 'widget' ? 'origin_not_allowed' : 'forbidden', headers);
    }

    if (matches.length === 0) return refuse('not_found', headers);

    if (req.method === 'OPTIONS') {
      // The preflight grants nothing by itself: every actual request is still authorised.
      if (origin === null) return refuse('origin_not_allowed', headers);
      const methods = [...new Set(matches.map(({ route }) => route.method)), 'OPTIONS'].join(', ');
      res.writeHead(204, preflightHeaders(origin, methods)).end();
      return;
    }
    const match = matches.find(({ route }) => route.method === req.method);
    if (!match) {
      const allow = [...new Set(matches.map(({ route }) => route.method)), 'OPTIONS'].join(', ');
      return refuse('method_not_allowed', { ...headers, Allow: allow });
    }

    try {
      await match.route.handle({ req, res, origin, param: match.param, headers, ip });
    } catch (error) {
      if (error instanceof BodyError) return refuse(error.code, headers);
      const code = errorCodeOf(error);
      const mapping = errorMapping(error);
      if (code === 'ERR_INTERNAL') {
        // Not sampled: a bug, with the detail only the log has.
        if (path === Paths.WIDGET_SESSION) deps.metrics.sessionRefused(mapping.body);
        deps.log.error('http_error', { route: template, ip, ip_source: source, error });
      } else {
        noteRefusal(mapping.body, { error_code: code });
      }
      // Every 429 says when to come back (SPEC §5), coarsely, so the widget can back off.
      const wait = mapping.status === 429 ? { 'Retry-After': retryAfterOf(error) } : {};
      sendError(res, error, { ...headers, ...wait });
    }
  };
}

/**
 * Without the limiter's own wait, the longest a per-minute sliding window can refuse a client
 * that then stays quiet: refused attempts count, so the window must roll twice.
 */
const UNHINTED_WAIT_MS = 2 * MINUTE_WINDOW_MS;

/**
 * The `Retry-After` of a route's 429: the error's own `retryAfterMs` when the limiter attached
 * one, else a wait that always holds (a client obeying it must not be refused again, or it
 * would stay locked out); always one of the coarse hint values.
 */
function retryAfterOf(error: unknown): RetryHintSeconds {
  const hinted = (error as { readonly retryAfterMs?: unknown } | null)?.retryAfterMs;
  const ms = typeof hinted === 'number' && Number.isFinite(hinted) ? hinted : UNHINTED_WAIT_MS;
  return coarseRetryAfterSeconds(ms);
}

/** The route's template, for logs (never the raw path, which carries ids). */
function routeName(route: Route): string {
  return typeof route.path === 'string'
    ? route.path
    : `${route.path.prefix}:id${route.path.suffix}`;
}
