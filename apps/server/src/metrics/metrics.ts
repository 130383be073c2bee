/**
 * The hooks the server calls at its decision points, one method per thing worth counting. Call
 * sites pass only values of the closed types in `labels.ts`; the Prometheus implementation maps
 * each one through its list again, so a value that slipped through still becomes `other`.
 *
 * With `POSTERN_METRICS_PORT` unset the server gets {@link noopMetrics}: the hooks stay in place
 * and cost one empty call.
 */
import type { ClientFrameType, FrameErrorCode, HttpErrorCode } from '@postern/protocol';
import type { ClientIpAnomaly } from '../security/client-ip.js';
import type { TokenKind } from '../security/token-checks.js';
import type {
  CloseInitiator,
  CorsDecision,
  Endpoint,
  HandshakeRefusal,
  IpSource,
  TokenResult,
} from './labels.js';

export interface Metrics {
  /** A WebSocket passed every handshake guard and its connection started. */
  handshakeAccepted(endpoint: Endpoint): void;
  /** A handshake was refused, before the upgrade (a status) or right after it (a close code). */
  handshakeRefused(endpoint: Endpoint | null, reason: HandshakeRefusal): void;
  /** A connection started (it counts as active until {@link connectionClosed}). */
  connectionOpened(endpoint: Endpoint): void;
  /** A connection's TCP stream is gone; `code` is the close code it ended with. */
  connectionClosed(
    endpoint: Endpoint,
    code: number,
    initiator: CloseInitiator,
    durationMs: number,
  ): void;
  /** The server closed a socket it never ran a connection for (refused right after upgrade). */
  refusedSocketClosed(endpoint: Endpoint, code: number): void;
  /** A client frame arrived; `null` when it had no known `type`. */
  frameIn(endpoint: Endpoint, type: ClientFrameType | null): void;
  frameOut(endpoint: Endpoint, type: string): void;
  /** A client frame was refused without closing the socket (`error` frame, or dropped). */
  frameRefused(reason: FrameErrorCode): void;
  /** A `pong` answered the latest `ping` after `ms`. */
  pingRoundTrip(ms: number): void;
  tokenVerified(kind: TokenKind, result: TokenResult): void;
  clientIpResolved(source: IpSource, anomaly: ClientIpAnomaly | undefined): void;
  corsDecision(decision: CorsDecision): void;
  /** `POST /v1/widget/session` answered an error. */
  sessionRefused(reason: HttpErrorCode): void;
  /** An HTTP request ended; `route` is its template, never the raw path. */
  httpRequest(
    route: string | null,
    method: string | undefined,
    status: number,
    finished: boolean,
  ): void;
}

const nothing = () => {};

/** Metrics off: every hook does nothing. */
export const noopMetrics: Metrics = Object.freeze({
  handshakeAccepted: nothing,
  handshakeRefused: nothing,
  connectionOpened: nothing,
  connectionClosed: nothing,
  refusedSocketClosed: nothing,
  frameIn: nothing,
  frameOut: nothing,
  frameRefused: nothing,
  pingRoundTrip: nothing,
  tokenVerified: nothing,
  clientIpResolved: nothing,
  corsDecision: nothing,
  sessionRefused: nothing,
  httpRequest: nothing,
});
