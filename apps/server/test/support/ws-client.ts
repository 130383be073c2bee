/**
 * WebSocket test clients over the harness: sockets that record every frame and the close from
 * the moment they open (so frames arriving in one chunk are never missed), authenticated visitor
 * and operator sockets, hand-signed tokens, admin revocations, and the "nothing leaked" check.
 */
import { decodeJwt, SignJWT } from 'jose';
import { expect } from 'vitest';
import type WebSocket from 'ws';
import { APP, type Harness, OPERATOR_SECRET, SHOP, VISITOR_SECRET } from './harness.js';

export type Frame = Record<string, unknown>;

export interface CloseEvent {
  readonly code: number;
  readonly reason: string;
  /** `performance.now()` when the close arrived. */
  readonly at: number;
}

/** A socket whose frames and close are recorded from the start. */
export interface WatchedSocket {
  readonly ws: WebSocket;
  /** Every frame received so far, parsed. */
  readonly frames: readonly Frame[];
  /** `performance.now()` when the socket opened. */
  readonly openedAt: number;
  /** Sends a frame as JSON text (or a string as is). */
  send(frame: unknown): void;
  /** The next frame not yet returned by `next`/`nextOf`. */
  next(timeoutMs?: number): Promise<Frame>;
  /** The next unread frame of `type` (frames of other types before it are skipped). */
  nextOf(type: string, timeoutMs?: number): Promise<Frame>;
  /** The close, however long ago it happened. */
  closed(timeoutMs?: number): Promise<CloseEvent>;
  readonly isClosed: boolean;
}

/** A server clock the test can move: real time plus an offset. */
export interface TestClock {
  readonly now: () => number;
  /** Moves the clock by `ms` (negative moves it back). */
  advance(ms: number): void;
}

/**
 * A clock for the harness's `now`. With `alignTo`, it starts 1 s into a window of that length, so
 * a test shorter than the window never sees a fixed-window rate table roll over mid-way.
 */
export function testClock(options: { alignTo?: number } = {}): TestClock {
  const realStart = Date.now();
  const start =
    options.alignTo === undefined
      ? realStart
      : Math.floor(realStart / options.alignTo) * options.alignTo + 1000;
  let offset = start - realStart;
  return {
    now: () => Date.now() + offset,
    advance: (ms) => {
      offset += ms;
    },
  };
}

/** Polls `condition` until it holds; rejects with `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  timeoutMs = 2000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function watch(ws: WebSocket): WatchedSocket {
  const frames: Frame[] = [];
  const openedAt = performance.now();
  let read = 0;
  let closeEvent: CloseEvent | null = null;
  const wake = new Set<() => void>();
  const notify = () => {
    for (const fn of [...wake]) fn();
  };
  ws.on('message', (data, isBinary) => {
    frames.push(isBinary ? { binary: true } : (JSON.parse(String(data)) as Frame));
    notify();
  });
  ws.on('close', (code, reason) => {
    closeEvent = { code, reason: String(reason), at: performance.now() };
    notify();
  });
  // Errors (a refused frame, a reset) show up as the close; keep them off the process.
  ws.on('error', () => undefined);

  function until<T>(pick: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = pick();
        if (value === undefined) return false;
        clearTimeout(timer);
        wake.delete(onWake);
        resolve(value);
        return true;
      };
      const onWake = () => {
        if (check()) return;
        if (closeEvent && what !== 'close') {
          clearTimeout(timer);
          wake.delete(onWake);
          reject(
            new Error(`closed ${closeEvent.code} ${closeEvent.reason} while waiting for ${what}`),
          );
        }
      };
      const timer = setTimeout(() => {
        wake.delete(onWake);
        reject(
          new Error(`timed out waiting for ${what}; got ${JSON.stringify(frames.slice(read))}`),
        );
      }, timeoutMs);
      wake.add(onWake);
      onWake();
    });
  }

  return {
    ws,
    frames,
    openedAt,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next: (timeoutMs = 2000) =>
      until(() => (read < frames.length ? frames[read++] : undefined), 'a frame', timeoutMs),
    nextOf: (type, timeoutMs = 2000) =>
      until(
        () => {
          const index = frames.findIndex((frame, i) => i >= read && frame['type'] === type);
          if (index < 0) return undefined;
          read = index + 1;
          return frames[index];
        },
        `a ${type} frame`,
        timeoutMs,
      ),
    closed: (timeoutMs = 3000) => until(() => closeEvent ?? undefined, 'close', timeoutMs),
    get isClosed() {
      return closeEvent !== null;
    },
  };
}

/** Sockets opened by {@link open}, by server, until {@link closeOpened} closes them. */
const opened = new Map<Harness, Set<WatchedSocket>>();

/** Opens and watches a socket (rejects with `HTTP <status>` on a refused handshake). */
export async function open(
  harness: Harness,
  path: '/v1/ws/widget' | '/v1/ws/app',
  headers: Record<string, string>,
  localAddress?: string,
): Promise<WatchedSocket> {
  const socket = watch(await harness.connect(path, headers, localAddress));
  const sockets = opened.get(harness) ?? new Set();
  opened.set(harness, sockets.add(socket));
  return socket;
}

/**
 * Closes every socket {@link open} opened on `harness` since the last call and waits for each
 * close, so a server shared between tests starts every test with no socket of an earlier one.
 */
export async function closeOpened(harness: Harness): Promise<void> {
  const sockets = [...(opened.get(harness) ?? [])];
  opened.delete(harness);
  for (const socket of sockets) if (!socket.isClosed) socket.ws.close();
  await Promise.all(sockets.map((socket) => socket.closed().catch(() => undefined)));
}

/**
 * Settings for a server shared by many tests of one file: attempt and session rates high enough
 * that the tests never trip them (tests of those limits start servers of their own).
 */
export const SHARED_SERVER_ENV: Readonly<Record<string, string>> = Object.freeze({
  POSTERN_CONN_RATE: '100000',
  POSTERN_SESSION_RATE: '100000',
  POSTERN_HTTP_RATE: '100000',
});

export interface VisitorSession {
  readonly visitorToken: string;
  readonly refreshToken: string;
  readonly visitorId: string;
  readonly dialogId: string;
  readonly expiresAt: number;
  readonly siteToken: string;
  readonly siteJti: string;
  readonly siteId: string;
}

/** A new visitor on `site` (a fresh site token for SHOP by default), from `origin`. */
export async function newVisitor(
  harness: Harness,
  site?: { token: string; jti: string; siteId: string },
  origin = SHOP,
): Promise<VisitorSession> {
  const minted = site ?? (await harness.siteToken());
  const res = await harness.session(minted.token, origin);
  expect(res.status).toBe(200);
  return {
    visitorToken: String(res.body['visitor_token']),
    refreshToken: String(res.body['refresh_token']),
    visitorId: String(res.body['visitor_id']),
    dialogId: String(res.body['dialog_id']),
    expiresAt: Number(res.body['expires_at']),
    siteToken: minted.token,
    siteJti: minted.jti,
    siteId: minted.siteId,
  };
}

/** Rotates a visitor's refresh token: a new visitor token for the same visitor. */
export async function refreshVisitor(
  harness: Harness,
  visitor: Pick<VisitorSession, 'siteToken' | 'refreshToken'>,
  origin = SHOP,
): Promise<{ visitorToken: string; refreshToken: string; expiresAt: number }> {
  const res = await harness.session(visitor.siteToken, origin, {
    refresh_token: visitor.refreshToken,
  });
  expect(res.status).toBe(200);
  return {
    visitorToken: String(res.body['visitor_token']),
    refreshToken: String(res.body['refresh_token']),
    expiresAt: Number(res.body['expires_at']),
  };
}

/** A widget socket from `origin` that sent `auth` with `token` (nothing awaited after that). */
export async function widgetAuth(
  harness: Harness,
  token: unknown,
  origin = SHOP,
  localAddress?: string,
): Promise<WatchedSocket> {
  const socket = await open(harness, '/v1/ws/widget', { Origin: origin }, localAddress);
  socket.send({ type: 'auth', token });
  return socket;
}

/** A widget socket that is `ready`. */
export async function readyVisitor(
  harness: Harness,
  token: string,
  origin = SHOP,
): Promise<{ socket: WatchedSocket; ready: Frame }> {
  const socket = await widgetAuth(harness, token, origin);
  const ready = await socket.next();
  expect(ready['type']).toBe('ready');
  return { socket, ready };
}

/** An app socket that sent `auth` with `token`. */
export async function appAuth(harness: Harness, token: unknown): Promise<WatchedSocket> {
  const socket = await open(harness, '/v1/ws/app', { Origin: APP });
  socket.send({ type: 'auth', token });
  return socket;
}

/** `POST /v1/app/revocations` as an all-sites admin; answers the status. */
export async function revoke(
  harness: Harness,
  target: { jti: string } | { site_id: string } | { visitor_id: string },
): Promise<number> {
  const res = await fetch(`${harness.base}/v1/app/revocations`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${await harness.operatorToken({ operatorId: 'op_admin' })}`,
      'Content-Type': 'application/json',
      Origin: APP,
    },
    body: JSON.stringify(target),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The `jti` of a token (decoded, not verified). */
export function jtiOf(token: string): string {
  return String(decodeJwt(token).jti);
}

/** The claims of a token (decoded, not verified). */
export function claimsOf(token: string): Record<string, unknown> {
  return decodeJwt(token) as Record<string, unknown>;
}

/** Signs `payload` as HS256 with `typ` by hand, e.g. already expired or with a wrong key. */
export async function signByHand(
  payload: Record<string, unknown>,
  options: { typ: string; secret: string },
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: options.typ })
    .sign(new TextEncoder().encode(options.secret));
}

/** A visitor token for `claims` (sub, site_id, sjti, origin) that expired `agoS` seconds ago. */
export function expiredVisitorToken(
  claims: { sub: string; site_id: string; sjti: string; origin: string },
  options: { agoS?: number; secret?: string } = {},
): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) - (options.agoS ?? 300);
  return signByHand(
    {
      iss: 'postern',
      aud: 'postern:widget',
      jti: `jti-expired-${exp}-${Math.random().toString(36).slice(2)}`,
      iat: exp - 600,
      exp,
      ...claims,
    },
    { typ: 'visitor+jwt', secret: options.secret ?? VISITOR_SECRET },
  );
}

/** `alg: none` with the right `typ` and claims: the unsigned token of every JWT horror story. */
export function unsignedToken(typ: string, payload: Record<string, unknown>): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ })}.${encode(payload)}.`;
}

export { OPERATOR_SECRET, VISITOR_SECRET };

/**
 * Nothing leaked: no socket is left in the registry, and every one of the `capacity` global
 * slots (`POSTERN_MAX_SOCKETS`) can be taken again. Slots a socket still holds while the server
 * has not yet seen its close are waited for; a leaked one never comes back, and this fails.
 * Every probe socket comes from its own 127.250.x.y address, so probing never trips a per-IP
 * limit (attempt rate, open sockets) of the addresses under test, nor its own.
 */
export async function expectDrained(harness: Harness, capacity: number): Promise<void> {
  await waitFor(() => harness.server.registry.size === 0, 'an empty socket registry');
  const deadline = performance.now() + 2000;
  for (let round = 1; ; round++) {
    const taken: WebSocket[] = [];
    let refused: string | null = null;
    for (let i = 0; i < capacity && refused === null; i++) {
      try {
        taken.push(
          await harness.connect('/v1/ws/widget', { Origin: SHOP }, `127.250.${round}.${i + 1}`),
        );
      } catch (error) {
        refused = String(error);
      }
    }
    // A slot refused after the upgrade shows as a socket the server closed at once.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const closedEarly = taken.find((ws) => ws.readyState !== ws.OPEN);
    if (closedEarly && refused === null) refused = 'a probe socket was closed by the server';
    await Promise.all(
      taken.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            ws.once('close', () => resolve());
            ws.close();
          }),
      ),
    );
    if (refused === null) break;
    if (performance.now() > deadline || round >= 250) {
      throw new Error(`a global socket slot leaked: ${refused}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await waitFor(() => harness.server.registry.size === 0, 'an empty socket registry');
}
