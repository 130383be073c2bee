/**
 * CORS (SPEC §3). No route uses credentials — authentication is by bearer token and no cookie
 * exists — so no response ever carries `Access-Control-Allow-Credentials`.
 *
 * Widget routes reflect any valid origin: the widget must be able to *read* a refusal to tell
 * the visitor why. That grants nothing, because authorisation is the server's own origin check
 * against the site token, never CORS. App routes allow only the configured console origins.
 */
import type { Headers } from './respond.js';

/**
 * Headers of every actual response on a CORS route: the request origin reflected (already checked
 * by the caller: any valid origin on widget routes, a configured one on app routes).
 */
export function corsHeaders(origin: string | null): Headers {
  if (origin === null) return { Vary: 'Origin' };
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': 'Retry-After',
    Vary: 'Origin',
  };
}

/**
 * A preflight answer: methods and headers the API accepts, cached by the browser for ten minutes
 * (`Access-Control-Max-Age`). Like every API response it is `no-store` and `nosniff` (SPEC §3):
 * a shared cache must not keep one origin's answer for another.
 */
export function preflightHeaders(origin: string, methods: string): Headers {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': methods,
    'Access-Control-Allow-Headers': 'authorization, content-type',
    'Access-Control-Max-Age': 600,
    Vary: 'Origin',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  };
}
