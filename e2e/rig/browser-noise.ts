/**
 * Console errors Chromium logs by itself, not the page: a refused request or socket is reported
 * on the console whatever the page does with it. Tests that provoke one on purpose allow exactly
 * that line (this server, this endpoint, this status) with `consoleErrors.allow(…)`, so anything
 * else — a page error, a CSP violation, another status — still fails them.
 */
import type { PosternServer } from './postern-server.js';
import { CHAT } from './shop-page.js';

const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const STATUS_TEXT: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
};

/** "Failed to load resource: … status of <status> …" for the session endpoint of `server`. */
export function refusedSession(server: PosternServer, status: 401 | 403 | 429): RegExp {
  const url = literally(`${server.origin(CHAT)}/v1/widget/session?site_token=`);
  return new RegExp(
    `^console\\.error: Failed to load resource: the server responded with a status of ${status} \\(${STATUS_TEXT[status]}\\) \\(${url}`,
  );
}

/** "WebSocket connection to '<widget socket of server>' failed: …" (server down or frozen). */
export function refusedSocket(server: PosternServer): RegExp {
  const url = literally(`ws://${CHAT}:${server.port}/v1/ws/widget`);
  return new RegExp(`^console\\.error: WebSocket connection to '${url}' failed: `);
}
