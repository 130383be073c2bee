/**
 * What happens to a client frame on arrival, before any queued work (SPEC §4 "Frame handling"):
 * binary frames and undecodable text close the socket, the per-socket frame rate refuses floods,
 * and everything else is admitted — a well-formed frame, or one of a known type that failed its
 * checks and is answered with `error` in order with the frames around it.
 */
import {
  type ClientFrameResult,
  CloseCode,
  decodeClientFrame,
  formatRetryHint,
  type ServerFrame,
} from '@postern/protocol';
import type { Endpoint } from '../metrics/labels.js';
import type { Metrics } from '../metrics/metrics.js';
import { createSocketFrameRate } from '../security/rate-table.js';

/** A frame that passed the shape checks, or one of a known type that failed them. */
export type Admitted = Exclude<ClientFrameResult, { readonly kind: 'close' }>;

export interface FrameGateOptions {
  readonly endpoint: Endpoint;
  readonly metrics: Metrics;
  readonly msgRate: number;
  readonly msgRateWindowMs: number;
  readonly now: () => number;
  /** Closes the socket (the connection's funnel). */
  readonly close: (code: number, reason: string) => void;
  readonly send: (frame: ServerFrame) => void;
}

/** Returns the gate of one socket: the admitted frame, or `null` when it went no further. */
export function createFrameGate(
  options: FrameGateOptions,
): (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => Admitted | null {
  const { endpoint, metrics, close, send } = options;
  const frameRate = createSocketFrameRate({
    limit: options.msgRate,
    windowMs: options.msgRateWindowMs,
    now: options.now,
  });
  return (data, isBinary) => {
    if (isBinary) {
      metrics.frameIn(endpoint, null);
      close(CloseCode.BAD_REQUEST, 'binary');
      return null;
    }
    const text = Buffer.isBuffer(data)
      ? data.toString('utf8')
      : Buffer.from(data as ArrayBuffer).toString('utf8');
    const result = decodeClientFrame(text);
    metrics.frameIn(
      endpoint,
      result.ok ? result.frame.type : result.kind === 'invalid' ? result.type : null,
    );
    if (!result.ok && result.kind === 'close') {
      close(result.code, result.problem);
      return null;
    }
    // pong and refresh keep a connection alive; they never count against the frame rate.
    const exempt = result.ok && (result.frame.type === 'pong' || result.frame.type === 'refresh');
    const outcome = exempt ? 'ok' : frameRate.hit();
    if (outcome === 'close') {
      close(CloseCode.RATE_LIMITED, formatRetryHint(options.msgRateWindowMs));
      return null;
    }
    // Sent at once, not queued: a burst closes with 4008 before the queue runs, and the client
    // must still learn why (it may overtake answers to frames just before it; fine for a flood).
    if (outcome === 'limited_notify') send({ type: 'error', code: 'rate_limited' });
    // Dropped without a reply (one error per window): still a refused frame.
    if (outcome === 'limited_silent') metrics.frameRefused('rate_limited');
    if (outcome !== 'ok') return null;
    return result;
  };
}
