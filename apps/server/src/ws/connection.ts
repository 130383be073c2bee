/**
 * One WebSocket connection after the upgrade: the first-frame `auth` deadline, frame validation
 * (SPEC §4 "Frame handling"), the per-socket frame rate, token lifetime and in-band refresh, and
 * one close funnel that clears every timer and gives every slot back.
 */
import { randomUUID } from 'node:crypto';
import {
  type ClientFrame,
  CloseCode,
  CloseReason,
  REFRESH_LEAD_MS,
  type ServerFrame,
} from '@postern/protocol';
import type { WebSocket } from 'ws';
import type { ChatSession } from '../chat/chat-session.js';
import { errorMapping } from '../errors.js';
import type { Logger } from '../log.js';
import type { Endpoint, IpSource } from '../metrics/labels.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RefusalLog } from '../refusal-log.js';
import type { SlotLease } from '../security/open-counters.js';
import type { Revocations } from '../security/revocations.js';
import type { SiteAccess } from '../sessions/site-access.js';
import type { Revocation } from '../store/types.js';
import {
  type AuthDeps,
  authenticateOperator,
  authenticateVisitor,
  credentialRefs,
  type Identity,
  refreshedIdentity,
  verifyRefresh,
} from './authenticate.js';
import { recordClose } from './close-record.js';
import { type Admitted, createFrameGate } from './frame-gate.js';
import { createHeartbeat } from './heartbeat.js';
import { readyFrames } from './ready.js';
import type { LiveSocket, SocketRegistry } from './registry.js';

export interface ConnectionDeps extends AuthDeps {
  readonly revocations: Revocations;
  readonly siteAccess: SiteAccess;
  readonly registry: SocketRegistry;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Connections closed before `ready` are refusals: sampled, not one line each. */
  readonly refusals: RefusalLog;
  readonly authTimeoutMs: number;
  readonly msgRate: number;
  readonly msgRateWindowMs: number;
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  /** Outgoing bytes a socket may have queued before it is a slow consumer (4014). */
  readonly maxBufferedBytes: number;
  readonly maxSessionMs: number;
  /** Opens the chat side of an authenticated socket (memberships, chat frames). */
  readonly openChat: (
    identity: Identity,
    socketId: string,
    send: (frame: ServerFrame) => void,
    onOverflow: () => void,
  ) => ChatSession;
}

export interface ConnectionContext {
  readonly endpoint: Endpoint;
  /** Normalised `Origin`, or `null` (widget sockets with an invalid one are refused at auth). */
  readonly origin: string | null;
  readonly ip: string;
  /** Where `ip` came from: the socket, or `X-Forwarded-For` behind a trusted proxy. */
  readonly ipSource: IpSource;
  readonly lease: SlotLease;
}

/** What the upgrader keeps of a running connection. */
export interface ConnectionHandle {
  /** The connection's close funnel (shutdown closes through it). */
  close(code: number, reason: string): void;
}

type Phase = 'awaiting_auth' | 'authenticating' | 'ready' | 'closed';

/**
 * `send` frames of one socket committing at once at most. The frame rate (`POSTERN_MSG_RATE`)
 * bounds them first in practice; this bounds memory whatever the configuration.
 */
const MAX_PIPELINED_SENDS = 32;

/** Close reason for each revocation kind a socket can be caught by. */
function revocationReason(socket: LiveSocket, { kind, target }: Revocation): string {
  if (kind === 'site' || (kind === 'jti' && target === socket.siteJti)) {
    return CloseReason.SITE_REVOKED;
  }
  return kind === 'visitor' ? CloseReason.VISITOR_REVOKED : CloseReason.TOKEN_REVOKED;
}

/** Runs a connection until it closes. */
export function runConnection(
  ws: WebSocket,
  context: ConnectionContext,
  deps: ConnectionDeps,
): ConnectionHandle {
  const sessionId = randomUUID();
  const openedAt = deps.now();
  const { endpoint } = context;
  // Every lifecycle line carries these: the session id is the request id a client can quote
  // (it gets it in `ready`), the address and its source tell a proxy problem from a client.
  const lifecycle = {
    session_id: sessionId,
    endpoint,
    ip: context.ip,
    ip_source: context.ipSource,
  };
  /** The close the server decided on (the funnel), or a protocol error ws closed for. */
  let serverClose: { readonly code: number; readonly reason: string } | null = null;
  let protocolError = false;
  let wasReady = false;
  deps.metrics.connectionOpened(endpoint);
  deps.log.debug('ws_open', lifecycle);
  const timers = new Set<NodeJS.Timeout>();
  let phase: Phase = 'awaiting_auth';
  let identity: Identity | null = null;
  let live: LiveSocket | null = null;
  let chat: ChatSession | null = null;
  let lifetimeTimers: NodeJS.Timeout[] = [];
  let queue: Promise<void> = Promise.resolve();

  function after(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        fn();
      },
      Math.max(0, ms),
    );
    timers.add(timer);
    return timer;
  }

  let corked = false;

  /**
   * Corks the TCP socket under ws until the end of this tick: the frames one commit batch fans out
   * to a socket (ack, own copy, peer messages, feed changes) then leave in one write, not one
   * syscall each. ws corks around each frame itself; corks nest, so its uncork no longer flushes.
   * Corked bytes count in `bufferedAmount`, so the slow-consumer bound below still sees them.
   */
  function corkUntilNextTick(): void {
    if (corked) return;
    // ws keeps the socket private; it is set before the upgrade hands ws to us.
    const raw = (ws as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    if (!raw) return;
    corked = true;
    raw.cork();
    process.nextTick(() => {
      corked = false;
      raw.uncork();
    });
  }

  function send(frame: ServerFrame): void {
    if (phase === 'closed') return;
    corkUntilNextTick();
    // Encoded here rather than by ws: a string queued on a Node socket counts its UTF-16 length,
    // so `bufferedAmount` would under-report non-ASCII text up to threefold and the bound below
    // would not be in bytes. Still a text frame.
    ws.send(Buffer.from(JSON.stringify(frame), 'utf8'), { binary: false });
    deps.metrics.frameOut(endpoint, frame.type);
    if (frame.type === 'error') deps.metrics.frameRefused(frame.code);
    // A reader that cannot keep up would make the server buffer without bound.
    if (ws.bufferedAmount > deps.maxBufferedBytes) close(CloseCode.SLOW_CONSUMER, 'slow_consumer');
  }

  /** The one way a connection ends, whoever ends it. */
  function close(code: number, reason: string): void {
    if (phase === 'closed') return;
    phase = 'closed';
    serverClose = { code, reason };
    cleanup();
    ws.close(code, reason);
  }

  /** Stops everything the connection runs; its slots are given back only once TCP is gone. */
  function cleanup(): void {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    if (live) deps.registry.remove(live.id);
    chat?.stop();
  }

  function fail(error: unknown): void {
    const mapping = errorMapping(error);
    if (mapping.close === CloseCode.INTERNAL_ERROR) {
      deps.log.error('ws_error', { session_id: sessionId, error });
    }
    close(mapping.close, mapping.reason);
  }

  function scheduleLifetime(expiresAt: number): void {
    for (const timer of lifetimeTimers) {
      clearTimeout(timer);
      timers.delete(timer);
    }
    const now = deps.now();
    lifetimeTimers = [
      after(expiresAt - REFRESH_LEAD_MS - now, () =>
        send({ type: 'refresh_required', expires_at: expiresAt }),
      ),
      after(expiresAt - now, () => close(CloseCode.AUTH_EXPIRED, 'auth_expired')),
    ];
  }

  async function authenticate(frame: ClientFrame & { type: 'auth' }): Promise<void> {
    phase = 'authenticating';
    const who =
      context.endpoint === 'widget'
        ? await authenticateVisitor(deps, frame, context.origin)
        : await authenticateOperator(deps, frame);
    // Nothing async below this line: the revocation check and the registration are one step,
    // so a revocation cannot land between them (SPEC §4).
    if (phase !== 'authenticating') return;
    deps.revocations.assertNotRevoked(credentialRefs(who));
    const refused = context.lease.add(
      who.kind === 'visitor'
        ? { dialog: who.dialog.id, visitor: who.visitorId }
        : { operator: who.operatorId },
    );
    if (refused !== null) {
      close(CloseCode.CONNECTION_LIMIT, 'connection_limit');
      return;
    }
    identity = who;
    live = {
      id: sessionId,
      kind: who.kind,
      jti: who.jti,
      ...(who.kind === 'visitor'
        ? {
            siteJti: who.siteJti,
            siteId: who.siteId,
            visitorId: who.visitorId,
            dialogId: who.dialog.id,
          }
        : { operatorId: who.operatorId }),
      revoked: (revocation) => {
        if (live) close(CloseCode.TOKEN_REVOKED, revocationReason(live, revocation));
      },
    };
    deps.registry.add(live);
    phase = 'ready';
    clearTimeout(authTimer);
    timers.delete(authTimer);
    scheduleLifetime(who.expiresAt);
    after(deps.maxSessionMs - (deps.now() - openedAt), () =>
      close(CloseCode.SESSION_EXPIRED, 'session_expired'),
    );
    for (const frame of readyFrames(who, sessionId, deps.now(), deps.pingIntervalMs)) send(frame);
    wasReady = true;
    deps.log.info('ws_ready', {
      ...lifecycle,
      ...(who.kind === 'visitor'
        ? { site_id: who.siteId, dialog_id: who.dialog.id }
        : { operator_id: who.operatorId }),
      auth_ms: deps.now() - openedAt,
    });
    heartbeat.start();
    chat = deps.openChat(who, sessionId, send, () =>
      close(CloseCode.SLOW_CONSUMER, 'slow_consumer'),
    );
    // Frames behind `auth` wait in the queue until the replay (or the snapshot) is out.
    await chat.start(frame.resume);
  }

  async function refresh(token: string): Promise<void> {
    if (!identity || !live) return;
    const next = await verifyRefresh(deps.tokens, identity, token);
    if (next.siteJti !== undefined && identity.kind === 'visitor') {
      await deps.siteAccess.forVisitor(next.siteJti, identity.origin);
    }
    if (phase !== 'ready') return;
    deps.revocations.assertNotRevoked({
      ...credentialRefs(identity),
      jti: next.jti,
      ...(next.siteJti === undefined ? {} : { siteJti: next.siteJti }),
    });
    // The socket is bound to the new token from now on, including the site token that minted
    // it (it may be another one of the same site): revoking that one must reach this socket.
    live.jti = next.jti;
    if (identity.kind === 'visitor' && next.siteJti !== undefined) live.siteJti = next.siteJti;
    identity = refreshedIdentity(identity, next);
    scheduleLifetime(next.expiresAt);
    chat?.rebind(identity);
    send({ type: 'refreshed', token_expires_at: next.expiresAt });
  }

  /** `send` frames of this socket queued for commit and not finished yet. */
  const sending = new Set<Promise<void>>();

  /**
   * Lets a `send` commit while the socket's next frames are read: the queue goes on as soon as it
   * is in the commit queue, so sends of one socket share a transaction (group commit) instead of
   * one each. Order holds: each is queued for commit in frame order, and the commit queue keeps
   * that order for `seq`, acks and fan-out. Bounded, so one socket cannot queue without limit.
   */
  async function pipeline(session: ChatSession, frame: ClientFrame & { type: 'send' }) {
    if (sending.size >= MAX_PIPELINED_SENDS) await Promise.race(sending);
    let submitted = () => {};
    const queued = new Promise<void>((resolve) => {
      submitted = resolve;
    });
    const done: Promise<void> = session
      .handle(frame, submitted)
      .catch(fail)
      .finally(() => {
        submitted(); // refused before it was queued
        sending.delete(done);
      });
    sending.add(done);
    await queued;
  }

  async function handle(admitted: Admitted): Promise<void> {
    const type = admitted.ok ? admitted.frame.type : admitted.type;
    if (phase === 'awaiting_auth' && type !== 'auth') {
      // Before `auth`, any other frame is a client bug, however well-formed (SPEC §4).
      close(CloseCode.BAD_REQUEST, 'before_auth');
      return;
    }
    if (phase === 'closed') return;
    if (!admitted.ok) {
      // Answered in order with the frames around it: a pipelined `auth` gets its `ready` first.
      send(admitted.error);
      return;
    }
    const frame = admitted.frame;
    if (phase === 'awaiting_auth' && frame.type === 'auth') {
      await authenticate(frame);
      return;
    }
    if (phase !== 'ready') return;
    if (frame.type === 'send' && chat) {
      await pipeline(chat, frame);
      return;
    }
    // Anything else is answered after the sends before it, as if they had run one by one.
    while (sending.size > 0) await Promise.all(sending);
    if (frame.type === 'refresh') {
      await refresh(frame.token);
    } else if (frame.type === 'auth') {
      // `auth` is the first frame only; later ones are refused, not fatal.
      send({ type: 'error', code: 'invalid' });
    } else if (frame.type !== 'pong' && chat) {
      await chat.handle(frame);
    }
  }

  const heartbeat = createHeartbeat({
    intervalMs: deps.pingIntervalMs,
    timeoutMs: deps.pongTimeoutMs,
    after,
    cancel: (timer) => {
      clearTimeout(timer);
      timers.delete(timer);
    },
    sendPing: (id) => send({ type: 'ping', id }),
    onDead: () => close(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat_timeout'),
    now: deps.now,
    onRoundTrip: (ms) => deps.metrics.pingRoundTrip(ms),
  });

  /** One frame at a time, in order: a pipelined `auth` + `send` must not race. */
  function enqueue(task: () => Promise<void> | void): void {
    queue = queue.then(task).catch(fail);
  }

  // Rate and shape checks on arrival; what may be answered then goes to the queue, in order (the
  // `before_auth` decision needs the phase the frame meets there, after any `auth` ahead of it).
  const admit = createFrameGate({
    endpoint,
    metrics: deps.metrics,
    msgRate: deps.msgRate,
    msgRateWindowMs: deps.msgRateWindowMs,
    now: deps.now,
    close,
    send,
  });

  function receive(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
    if (phase === 'closed') return;
    const admitted = admit(data, isBinary);
    // A pong is answered at once, never behind queued work, so a busy socket is not "dead".
    if (admitted?.ok && admitted.frame.type === 'pong' && phase === 'ready') {
      heartbeat.pong(admitted.frame.id);
    } else if (admitted) {
      enqueue(() => handle(admitted));
    }
  }

  const authTimer = after(deps.authTimeoutMs, () => close(CloseCode.AUTH_TIMEOUT, 'auth_timeout'));
  ws.on('message', receive);
  // ws reports protocol errors (bad UTF-8, oversized frames) here, then closes with the right
  // code itself; the details stay in our logs.
  ws.on('error', (error) => {
    protocolError = true;
    deps.log.debug('ws_protocol_error', { session_id: sessionId, error });
  });
  ws.on('close', (peerCode: number) => {
    if (phase !== 'closed') {
      phase = 'closed';
      cleanup();
    }
    // Only now is the connection really gone: a client ignoring close frames keeps counting
    // against every limit until ws cuts it (closeTimeout).
    context.lease.release();
    recordClose(deps, {
      endpoint,
      lifecycle,
      durationMs: deps.now() - openedAt,
      serverClose,
      protocolError,
      wasReady,
      peerCode,
    });
  });

  return { close };
}
