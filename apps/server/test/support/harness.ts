/**
 * Integration harness: a real server on 127.0.0.1 port 0 over an in-memory store, with known
 * keys so tests can mint site and operator tokens; real `ws` clients and raw HTTP against it.
 */
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { loadConfig } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { KeySet } from '../../src/security/tokens.js';
import { createPosternServer, type PosternServer } from '../../src/server.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';

export const SITE_SECRET = 'site-secret-for-tests-0123456789abcdef';
export const VISITOR_SECRET = 'visitor-secret-for-tests-0123456789abcdef';
export const OPERATOR_SECRET = 'operator-secret-for-tests-0123456789abcdef';
export const SHOP = 'http://shop.example:8080';
export const APP = 'http://app.example:8080';

const keySet = (value: string): KeySet => ({ current: new TextEncoder().encode(value) });

export interface Harness {
  readonly server: PosternServer;
  readonly store: Store;
  readonly base: string;
  readonly wsBase: string;
  readonly port: number;
  /** Every log line the server wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Raw log text, for scanning. */
  readonly rawLogs: string[];
  siteToken(input?: {
    siteId?: string;
    allowedDomains?: readonly string[];
    expiresInS?: number;
  }): Promise<{ token: string; jti: string; siteId: string }>;
  operatorToken(input?: {
    operatorId?: string;
    sites?: readonly string[] | '*';
    scope?: readonly string[];
    expiresInS?: number;
  }): Promise<string>;
  /** `POST /v1/widget/session` from `origin`. */
  session(
    siteToken: string,
    origin?: string,
    body?: Record<string, unknown>,
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
  /** Opens a WebSocket; resolves once open (or rejects on a refused handshake). */
  connect(
    path: string,
    headers?: Record<string, string>,
    localAddress?: string,
  ): Promise<WebSocket>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra environment variables (limits etc.). */
  readonly env?: Record<string, string>;
  readonly now?: () => number;
  readonly store?: Store;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const result = loadConfig(
    {
      POSTERN_PORT: '0',
      POSTERN_HOST: '127.0.0.1',
      POSTERN_DB: ':memory:',
      POSTERN_APP_ORIGINS: APP,
      POSTERN_SITE_SECRET: SITE_SECRET,
      POSTERN_SECRET: VISITOR_SECRET,
      POSTERN_OPERATOR_SECRET: OPERATOR_SECRET,
      ...options.env,
    },
    { readFile: () => Buffer.alloc(0) },
  );
  if (!result.ok) throw new Error(result.errors.join('\n'));
  const store = options.store ?? openSqliteStore({ path: ':memory:' });
  const logs: Record<string, unknown>[] = [];
  const rawLogs: string[] = [];
  const log: Logger = createLogger((line) => {
    rawLogs.push(line);
    logs.push(JSON.parse(line) as Record<string, unknown>);
  }, 'debug');
  const server = await createPosternServer({
    config: result.config,
    keys: {
      site: keySet(SITE_SECRET),
      visitor: keySet(VISITOR_SECRET),
      operator: keySet(OPERATOR_SECRET),
    },
    store,
    widget: { version: '0.0.0-test', body: Buffer.from('/* widget */') },
    log,
    ...(options.now ? { now: options.now } : {}),
  });
  await server.listen();
  const port = (server.http.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const wsBase = `ws://127.0.0.1:${port}`;
  const sockets = new Set<WebSocket>();

  return {
    server,
    store,
    base,
    wsBase,
    port,
    logs,
    rawLogs,
    async siteToken(input = {}) {
      const siteId = input.siteId ?? 'site_shop';
      const signed = await server.tokens.signSite({
        siteId,
        assistantId: 'assistant_1',
        allowedDomains: input.allowedDomains ?? ['shop.example'],
        ...(input.expiresInS === undefined ? {} : { expiresInS: input.expiresInS }),
      });
      return { token: signed.token, jti: signed.claims.jti, siteId };
    },
    async operatorToken(input = {}) {
      const signed = await server.tokens.signOperator({
        operatorId: input.operatorId ?? 'op_1',
        name: 'Ana',
        sites: input.sites ?? '*',
        scope: input.scope ?? ['admin'],
        ...(input.expiresInS === undefined ? {} : { expiresInS: input.expiresInS }),
      });
      return signed.token;
    },
    async session(siteToken, origin = SHOP, body = {}) {
      const res = await fetch(
        `${base}/v1/widget/session?site_token=${encodeURIComponent(siteToken)}`,
        {
          method: 'POST',
          headers: { Origin: origin, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        },
      );
      return {
        status: res.status,
        body: (await res.json()) as Record<string, unknown>,
        headers: res.headers,
      };
    },
    connect(path, headers = {}, localAddress) {
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(`${wsBase}${path}`, {
          headers,
          ...(localAddress ? { localAddress } : {}),
        });
        sockets.add(ws);
        ws.once('open', () => resolve(ws));
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
        ws.once('error', reject);
      });
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      await server.close();
      await store.close();
    },
  };
}

/** Next frame from a socket, parsed. */
export function nextFrame(ws: WebSocket, timeoutMs = 2000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no frame in time')), timeoutMs);
    ws.once('message', (data) => {
      clearTimeout(timer);
      resolve(JSON.parse(String(data)) as Record<string, unknown>);
    });
  });
}

/** Resolves with the close code and reason. */
export function closed(ws: WebSocket, timeoutMs = 3000): Promise<{ code: number; reason: string }> {
  return new Promise((resolve, reject) => {
    if (ws.readyState === WebSocket.CLOSED) {
      reject(new Error('already closed; listen before the close'));
      return;
    }
    const timer = setTimeout(() => reject(new Error('not closed in time')), timeoutMs);
    ws.once('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: String(reason) });
    });
  });
}
