/**
 * Domains and origins (SPEC §2). Origins are normalised as `new URL(o).origin`, but only when
 * that serialisation says exactly what was written; `allowed_domains` lists are validated as a
 * whole; an origin matches a domain on a dot boundary. Origin checks keep the widget off foreign
 * sites *in browsers*; they authenticate nobody, since anything can forge `Origin`.
 */
import { domainToUnicode } from 'node:url';
import { ALLOWED_DOMAINS_MAX } from '@postern/protocol';
import { getPublicSuffix } from 'tldts';

/** Why an `allowed_domains` list was refused: a stable code for logs, never the value. */
export type AllowedDomainsProblem =
  | 'not_array'
  | 'empty'
  | 'too_many'
  | 'entry_not_string'
  | 'entry_empty'
  | 'entry_too_long'
  | 'entry_wildcard'
  | 'entry_scheme'
  | 'entry_path'
  | 'entry_port'
  | 'entry_uppercase'
  | 'entry_leading_dot'
  | 'entry_trailing_dot'
  | 'entry_not_punycode'
  | 'entry_not_hostname'
  | 'entry_single_label'
  | 'entry_public_suffix';

export type AllowedDomainsResult =
  | { readonly ok: true; readonly domains: readonly string[] }
  | { readonly ok: false; readonly problem: AllowedDomainsProblem; readonly index?: number };

/** Exact-match set of normalised origins (`POSTERN_APP_ORIGINS`). */
export interface OriginList {
  /** Whether `origin`, already normalised (e.g. from {@link parseOriginHeader}), is listed. */
  has(origin: string): boolean;
  readonly origins: readonly string[];
}

// Far above any real origin (scheme + 253-byte host + port); bounds the work on hostile input.
const ORIGIN_MAX_LENGTH = 1024;
// WHATWG URL silently drops or maps these (tabs, newlines, soft hyphens, zero-width and bidi
// characters, odd spaces), so the parsed origin would not be what a reviewer reads.
const HIDDEN_CHARACTERS = /[\p{Cc}\p{Cf}\p{Z}\s]/u;
// scheme "://" host [":" port] ["/"] and nothing else: no userinfo ('@'), path, query ('?'),
// fragment ('#'), backslash (read as '/'), percent-encoding or comma (two joined headers).
const ORIGIN_SYNTAX = /^(https?):\/\/(\[[0-9A-Fa-f:.]+\]|[^/?#@\\,:[\]%]+)(?::(\d{1,5}))?\/?$/i;
// The host URL produced, when not an IPv6 literal: letters, digits, '-' and '_' in non-empty labels.
const URL_HOST = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;
const ASCII = /^[\x21-\x7e]*$/;
const NON_ASCII = /[\u0080-\u{10ffff}]/u;
// WHATWG URL reads a host whose last label is numeric as IPv4; an address is not a domain.
const NUMERIC_LAST_LABEL = /(?:^|\.)(?:\d+|0x[0-9a-f]*)$/;
const DEFAULT_PORT: Readonly<Record<string, string>> = { http: '80', https: '443' };

/**
 * Normalises an origin as `new URL(value).origin`: lower-case scheme and host, default port
 * dropped, IDN host as punycode. Returns null when the value is not plainly an http(s) origin:
 * `null`, empty, userinfo, a path other than `/`, query, fragment, a trailing-dot host, another
 * scheme, whitespace or control characters, a comma, or any spelling that URL parsing would
 * silently rewrite into something else (`https:shop.example`, `http://0x7f.1`, `%73hop.example`,
 * a soft hyphen or full-width dot in the host, `[0::1]`, port `0080`…).
 *
 * @example normalizeOrigin('HTTPS://Shop.Example:443/') === 'https://shop.example'
 * @example normalizeOrigin('https://bücher.example') === 'https://xn--bcher-kva.example'
 */
export function normalizeOrigin(value: string): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > ORIGIN_MAX_LENGTH) {
    return null;
  }
  if (HIDDEN_CHARACTERS.test(value)) return null;
  const match = ORIGIN_SYNTAX.exec(value);
  if (match === null) return null;
  const [, scheme = '', host = '', port] = match;
  // 'shop.example.' is a different origin that reaches the same site; refusing it keeps one
  // spelling per site, so exact comparisons (app origins, token `origin` claims) cannot be dodged.
  if (host.endsWith('.')) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  const lowerScheme = scheme.toLowerCase();
  if (url.protocol !== `${lowerScheme}:`) return null;
  if (!hostSaysWhatItMeans(host, url.hostname)) return null;
  const portSaysWhatItMeans =
    port === undefined
      ? url.port === ''
      : url.port === port || (url.port === '' && port === DEFAULT_PORT[lowerScheme]);
  return portSaysWhatItMeans ? url.origin : null;
}

/** The parsed host is the written one, modulo case (and punycode for a Unicode host). */
function hostSaysWhatItMeans(written: string, parsed: string): boolean {
  if (written.startsWith('[')) return parsed === written.toLowerCase();
  if (!URL_HOST.test(parsed)) return false;
  if (ASCII.test(written)) return parsed === written.toLowerCase();
  // Unicode host: decoding the punycode must give back what was written (NFC, lower-case), so
  // UTS #46 mappings that delete or fold characters (soft hyphen, '．') cannot smuggle a host in.
  return domainToUnicode(parsed) === written.normalize('NFC').toLowerCase();
}

/**
 * Reads the `Origin` header: exactly one value, normalised. Two `Origin` headers (an array of
 * length ≠ 1, or one value joined with a comma by Node) are refused: a browser sends one.
 */
export function parseOriginHeader(header: string | readonly string[] | undefined): string | null {
  if (header === undefined) return null;
  let value: string | undefined;
  if (typeof header === 'string') value = header;
  else if (header.length === 1) value = header[0];
  if (value === undefined || value.includes(',')) return null;
  return normalizeOrigin(value);
}

/**
 * Default public-suffix check, with the Public Suffix List shipped in `tldts`: `d` is a public
 * suffix when its public suffix is itself. Private-section suffixes (`github.io`, `blogspot.com`)
 * count: every user of them is a different party.
 */
export function isPublicSuffix(domain: string): boolean {
  return getPublicSuffix(domain, { allowPrivateDomains: true, extractHostname: false }) === domain;
}

const HOSTNAME_MAX_LENGTH = 253;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function domainProblem(
  entry: unknown,
  isSuffix: (d: string) => boolean,
): AllowedDomainsProblem | null {
  if (typeof entry !== 'string') return 'entry_not_string';
  if (entry.length === 0) return 'entry_empty';
  if (entry.length > HOSTNAME_MAX_LENGTH) return 'entry_too_long';
  // No wildcards: a match already covers every subdomain, and '*' alone would allow every site.
  if (entry.includes('*')) return 'entry_wildcard';
  if (entry.includes('://')) return 'entry_scheme';
  if (/[/?#\\]/.test(entry)) return 'entry_path';
  if (entry.includes('[')) return 'entry_not_hostname'; // an IPv6 literal is not a domain
  if (entry.includes(':')) return 'entry_port';
  if (/[A-Z]/.test(entry)) return 'entry_uppercase';
  // '.shop.example' is cookie-Domain syntax, not a hostname: refuse rather than guess what the
  // owner meant. A trailing dot is a second spelling of a host that origins never match.
  if (entry.startsWith('.')) return 'entry_leading_dot';
  if (entry.endsWith('.')) return 'entry_trailing_dot';
  if (NON_ASCII.test(entry)) return 'entry_not_punycode';
  if (!entry.split('.').every((label) => LABEL.test(label))) return 'entry_not_hostname';
  // IPv4 literals ('203.0.113.9') are addresses, not names: no suffix rule can reason about them.
  if (NUMERIC_LAST_LABEL.test(entry)) return 'entry_not_hostname';
  // localhost is the one single label that names exactly one party: the developer's machine.
  if (entry === 'localhost') return null;
  if (!entry.includes('.')) return 'entry_single_label';
  // It must be a fixed point of URL host parsing, or no normalised origin could ever match it:
  // this refuses bad punycode ('xn--zz').
  if (!isUrlHost(entry)) return 'entry_not_hostname';
  // A public suffix would allow every site registered under it (SPEC §2).
  if (isSuffix(entry)) return 'entry_public_suffix';
  return null;
}

function isUrlHost(hostname: string): boolean {
  try {
    return new URL(`http://${hostname}`).hostname === hostname;
  } catch {
    return false;
  }
}

/**
 * Validates a site token's `allowed_domains` claim (SPEC §2). The whole list is refused if it is
 * not an array, is empty (it could match nothing), has more than `ALLOWED_DOMAINS_MAX` entries,
 * or any entry is not a lower-case hostname (IDN as punycode) without scheme, port, path,
 * wildcard or leading/trailing dot, is a single label other than `localhost`, or is a public
 * suffix. Problems are stable codes (with the entry's index), never the value.
 *
 * @param isSuffix public-suffix check; default {@link isPublicSuffix} (tldts, private section on)
 * @example validateAllowedDomains(['shop.example']) // → { ok: true, domains: ['shop.example'] }
 */
export function validateAllowedDomains(
  value: unknown,
  isSuffix: (domain: string) => boolean = isPublicSuffix,
): AllowedDomainsResult {
  if (!Array.isArray(value)) return { ok: false, problem: 'not_array' };
  if (value.length === 0) return { ok: false, problem: 'empty' };
  // Checked before looking at entries, so a huge list costs nothing.
  if (value.length > ALLOWED_DOMAINS_MAX) return { ok: false, problem: 'too_many' };
  const domains: string[] = [];
  for (let index = 0; index < value.length; index += 1) {
    const entry: unknown = value[index];
    const problem = domainProblem(entry, isSuffix);
    if (problem !== null) return { ok: false, problem, index };
    domains.push(entry as string);
  }
  return { ok: true, domains: Object.freeze(domains) };
}

// A normalised origin's host, when it can be a domain (the charset URL_HOST allows, lower-case):
// an IPv6 literal or anything not normalised ('@', upper case, a path) fails closed.
const ORIGIN_HOST = /^https?:\/\/([a-z0-9_-]+(?:\.[a-z0-9_-]+)*)(?::\d{1,5})?$/;

/**
 * Whether a normalised origin's host is one of `domains` or a subdomain of one: host equals `d`
 * or ends with `"." + d`; scheme and port do not matter. IP-literal hosts never match.
 *
 * @example originMatchesDomains('https://sub.shop.example', ['shop.example']) === true
 * @example originMatchesDomains('https://evilshop.example', ['shop.example']) === false
 */
export function originMatchesDomains(origin: string, domains: readonly string[]): boolean {
  const host = ORIGIN_HOST.exec(origin)?.[1];
  if (host === undefined || NUMERIC_LAST_LABEL.test(host)) return false;
  // The '.' boundary is the whole point: 'evilshop.example' must not pass as 'shop.example'.
  return domains.some((d) => d.length > 0 && (host === d || host.endsWith(`.${d}`)));
}

/**
 * Compiles `POSTERN_APP_ORIGINS` into an exact-match set of normalised origins, once, at start-up.
 *
 * @throws TypeError naming the index of the first invalid entry (never its value)
 * @example compileOriginList(['https://app.example:443']).has('https://app.example') === true
 */
export function compileOriginList(entries: readonly string[]): OriginList {
  const origins = entries.map((entry, index) => {
    const origin = normalizeOrigin(entry);
    if (origin === null) {
      // Position only: start-up messages never echo configuration values (SPEC §6).
      throw new TypeError(`origin at index ${index}: not a valid http(s) origin`);
    }
    return origin;
  });
  const set = new Set(origins);
  return Object.freeze({
    has: (origin: string) => set.has(origin),
    origins: Object.freeze([...set]),
  });
}
