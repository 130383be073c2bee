/**
 * What a page put on the wire, seen from the browser through Playwright: every WebSocket it
 * opened (attempts that never connected included) with the frames both ways, and every session
 * request. Close-policy tests count these against the policy table.
 */
import type { Page, WebSocket } from '@playwright/test';

export type WireFrame = Record<string, unknown>;

export interface SocketRecord {
  readonly url: string;
  readonly sent: WireFrame[];
  readonly received: WireFrame[];
  /** When each received frame arrived (test-process `Date.now()`), parallel to `received`. */
  readonly receivedAt: number[];
  closed: boolean;
}

export interface SessionRequest {
  readonly url: string;
  /** The refresh token the page presented; `null` for a new visitor. */
  readonly refreshToken: string | null;
}

export interface Traffic {
  /** Every widget WebSocket the page created, oldest first. */
  readonly sockets: readonly SocketRecord[];
  /** Every `POST /v1/widget/session` the page made (preflights not included). */
  readonly sessionRequests: readonly SessionRequest[];
  /** Frames of `type` received on any socket, oldest first. */
  received(type: string): WireFrame[];
  /** Frames of `type` sent on any socket, oldest first. */
  sent(type: string): WireFrame[];
  /** When frames of `type` arrived on any socket (test-process `Date.now()`), oldest first. */
  arrivals(type: string): number[];
}

function parse(payload: string | Buffer): WireFrame {
  try {
    const value: unknown = JSON.parse(String(payload));
    return typeof value === 'object' && value !== null ? (value as WireFrame) : { raw: value };
  } catch {
    return { raw: String(payload) };
  }
}

/** Starts recording `page`'s widget traffic; call before the page loads. */
export function watchTraffic(page: Page): Traffic {
  const sockets: SocketRecord[] = [];
  const sessionRequests: SessionRequest[] = [];
  page.on('websocket', (socket: WebSocket) => {
    if (!socket.url().endsWith('/v1/ws/widget')) return;
    const record: SocketRecord = {
      url: socket.url(),
      sent: [],
      received: [],
      receivedAt: [],
      closed: false,
    };
    sockets.push(record);
    socket.on('framesent', ({ payload }) => record.sent.push(parse(payload)));
    socket.on('framereceived', ({ payload }) => {
      record.received.push(parse(payload));
      record.receivedAt.push(Date.now());
    });
    socket.on('close', () => {
      record.closed = true;
    });
  });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (request.method() === 'POST' && url.pathname === '/v1/widget/session') {
      const body = parse(request.postData() ?? '');
      const refreshToken = body['refresh_token'];
      sessionRequests.push({
        url: request.url(),
        refreshToken: typeof refreshToken === 'string' ? refreshToken : null,
      });
    }
  });
  return {
    sockets,
    sessionRequests,
    received: (type) => sockets.flatMap((s) => s.received.filter((f) => f['type'] === type)),
    sent: (type) => sockets.flatMap((s) => s.sent.filter((f) => f['type'] === type)),
    arrivals: (type) =>
      sockets
        .flatMap((s) => s.receivedAt.filter((_, i) => s.received[i]?.['type'] === type))
        .sort((a, b) => a - b),
  };
}
