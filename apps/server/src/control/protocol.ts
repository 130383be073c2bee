/**
 * The local control channel between the `postern` CLI and a running server on the same database:
 * a Unix domain socket beside the database, one JSON line per request and one per answer, then
 * the connection ends. A running server holds an exclusive lock on the database, so this is how
 * the CLI reaches it — a revocation then closes live sockets at once, not at the next start.
 *
 * Who may connect is decided by file permissions (mode 0600, owner only); requests are still
 * validated from `unknown`, as anything that arrives over a socket is.
 */
import { isId, isRawObject } from '@postern/protocol';
import type { RevocationKind, SiteTokenRecord } from '../store/types.js';

/** The largest request line accepted; the largest real one (a site token record) is ~10 KiB. */
export const CONTROL_REQUEST_MAX_BYTES = 64 * 1024;

/**
 * Longest socket path that fits `sockaddr_un.sun_path` everywhere (104 bytes on macOS and the
 * BSDs, 108 on Linux, each with its terminating NUL).
 */
export const CONTROL_PATH_MAX_BYTES = 103;

/** The control socket of the database at `db`, or `null` for `:memory:` (nothing to share). */
export function controlSocketPath(db: string): string | null {
  return db === ':memory:' ? null : `${db}.ctl`;
}

export type ControlRequest =
  | { readonly op: 'ping' }
  | { readonly op: 'revoke'; readonly kind: RevocationKind; readonly target: string }
  | { readonly op: 'record_site_token'; readonly token: SiteTokenRecord }
  | { readonly op: 'list_sites' }
  | { readonly op: 'export_visitor'; readonly visitorId: string }
  | { readonly op: 'erase_visitor'; readonly visitorId: string }
  | { readonly op: 'backup'; readonly path: string };

/** Stable codes of a refused or failed request. */
export type ControlErrorCode = 'invalid_request' | 'exists' | 'failed';

export type ControlReply =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: ControlErrorCode; readonly message: string };

// Site-token jtis come from customers' minting code: any short printable string (as over HTTP).
const JTI = /^[\x21-\x7e]{1,128}$/;
const REVOCATION_KINDS: readonly RevocationKind[] = ['jti', 'site', 'visitor'];

/** Whether `target` can name a revocation of `kind` (the rules of `POST /v1/app/revocations`). */
export function isRevocationTarget(kind: RevocationKind, target: unknown): target is string {
  return kind === 'jti' ? typeof target === 'string' && JTI.test(target) : isId(target);
}

function isSiteTokenRecord(value: unknown): value is SiteTokenRecord {
  if (!isRawObject(value)) return false;
  const { jti, siteId, allowedDomains, assistantId, expiresAt } = value;
  return (
    isRevocationTarget('jti', jti) &&
    isId(siteId) &&
    Array.isArray(allowedDomains) &&
    allowedDomains.every((domain) => typeof domain === 'string') &&
    typeof assistantId === 'string' &&
    (expiresAt === null || Number.isSafeInteger(expiresAt))
  );
}

/** Reads a request from a parsed line; `null` when it is not one this server understands. */
export function parseControlRequest(value: unknown): ControlRequest | null {
  if (!isRawObject(value)) return null;
  const { op } = value;
  switch (op) {
    case 'ping':
    case 'list_sites':
      return { op };
    case 'revoke': {
      const { kind, target } = value;
      const known = REVOCATION_KINDS.find((k) => k === kind);
      if (known === undefined || !isRevocationTarget(known, target)) return null;
      return { op, kind: known, target };
    }
    case 'record_site_token': {
      const { token } = value;
      if (!isSiteTokenRecord(token)) return null;
      const { jti, siteId, allowedDomains, assistantId, expiresAt } = token;
      return {
        op,
        token: { jti, siteId, allowedDomains: [...allowedDomains], assistantId, expiresAt },
      };
    }
    case 'export_visitor':
    case 'erase_visitor': {
      const { visitorId } = value;
      return isId(visitorId) ? { op, visitorId } : null;
    }
    case 'backup': {
      const { path } = value;
      // Absolute only: the server's working directory is not the caller's.
      return typeof path === 'string' && path.startsWith('/') && !path.includes('\0')
        ? { op, path }
        : null;
    }
    default:
      return null;
  }
}
