/**
 * The record of a connection that ended: metrics, and one log line — `ws_close` for a connection
 * that reached `ready`, a sampled refusal (`ws_auth`) for one that never did.
 */
import type { Logger } from '../log.js';
import type { Endpoint } from '../metrics/labels.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RefusalLog } from '../refusal-log.js';

export interface ClosedConnection {
  readonly endpoint: Endpoint;
  /** The fields every lifecycle line of this connection carries. */
  readonly lifecycle: Readonly<Record<string, string>>;
  readonly durationMs: number;
  /** The close the server decided on, or `null`. */
  readonly serverClose: { readonly code: number; readonly reason: string } | null;
  /** ws closed for a protocol error (bad UTF-8, an oversized frame) with the code it reported. */
  readonly protocolError: boolean;
  readonly wasReady: boolean;
  /** The code of the close as ws saw it. */
  readonly peerCode: number;
}

/**
 * A close the server chose is recorded with its own code (the peer may never echo it); after a
 * protocol error ws closed with the code it reported. The peer's close reason is never logged: it
 * is whatever the client chose to write.
 */
export function recordClose(
  deps: { readonly metrics: Metrics; readonly log: Logger; readonly refusals: RefusalLog },
  closed: ClosedConnection,
): void {
  const { serverClose, durationMs } = closed;
  const initiator = serverClose !== null || closed.protocolError ? 'server' : 'peer';
  const code = serverClose?.code ?? closed.peerCode;
  deps.metrics.connectionClosed(closed.endpoint, code, initiator, durationMs);
  const fields = {
    ...closed.lifecycle,
    code,
    initiator,
    ...(serverClose === null ? {} : { close_reason: serverClose.reason }),
    duration_ms: durationMs,
  };
  if (closed.wasReady) deps.log.info('ws_close', fields);
  else deps.refusals.refused('ws_auth', String(code), fields);
}
