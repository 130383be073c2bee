/**
 * Same-origin check for the dev operator-token route. Any web page the operator visits can make
 * the browser POST to localhost; such a request carries that page's `Origin` and
 * `Sec-Fetch-Site: cross-site` (or `same-site` from a sibling `*.localhost` page such as the
 * shop). Only the console's own origin may mint. A DNS-rebinding page is stopped earlier: its
 * `Host` is not a demo host.
 */
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Whether the request comes from a page on `expectedOrigin` itself: `Origin` must be exactly it
 * (browsers always send `Origin` on POST) and `Sec-Fetch-Site`, when the browser sends it, must
 * be `same-origin`.
 */
export function isSameOriginRequest(headers: IncomingHttpHeaders, expectedOrigin: string): boolean {
  const fetchSite = headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin') return false;
  return headers.origin === expectedOrigin;
}

/** Whether the body is declared JSON: a cross-site form cannot send that without a preflight. */
export function isJsonRequest(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && /^application\/json\s*(?:;|$)/i.test(type);
}
