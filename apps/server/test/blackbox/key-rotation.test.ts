/**
 * Black box: rotating every signing key with `*_PREVIOUS` (SPEC §2: previous keys verify, never
 * sign), the way an operator does it — restart with the new key current and the old one previous,
 * re-mint what is embedded with the CLI, restart without the old key once the overlap is over.
 * One server database lives through three processes: before, during and after the overlap (each
 * on a port of its own; which port a client reconnects to is not what is under test).
 */
import { randomUUID } from 'node:crypto';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newVisitor, type Tracked, visitorSocket } from './support/chat.js';
import { type Closed, closeOf, httpCall, wsOpen } from './support/clients.js';
import {
  APP_ORIGIN,
  DIST_CLI,
  loopbackPool,
  productionEnv,
  requireBuild,
  runToExit,
  type ServerProcess,
  SHOP_DOMAIN,
  SHOP_ORIGIN,
  startServer,
  tempDir,
} from './support/server-process.js';

const nextIp = loopbackPool(31);

const OLD = {
  site: 'rotation-OLD-site-secret-0123456789abcdef',
  visitor: 'rotation-OLD-visitor-secret-0123456789abc',
  operator: 'rotation-OLD-operator-secret-0123456789ab',
};
const NEW = {
  site: 'rotation-NEW-site-secret-fedcba9876543210',
  visitor: 'rotation-NEW-visitor-secret-fedcba9876543',
  operator: 'rotation-NEW-operator-secret-fedcba98765',
};
const BEFORE = {
  POSTERN_SITE_SECRET: OLD.site,
  POSTERN_SECRET: OLD.visitor,
  POSTERN_OPERATOR_SECRET: OLD.operator,
};
const OVERLAP = {
  POSTERN_SITE_SECRET: NEW.site,
  POSTERN_SITE_SECRET_PREVIOUS: OLD.site,
  POSTERN_SECRET: NEW.visitor,
  POSTERN_SECRET_PREVIOUS: OLD.visitor,
  POSTERN_OPERATOR_SECRET: NEW.operator,
  POSTERN_OPERATOR_SECRET_PREVIOUS: OLD.operator,
};
const AFTER = {
  POSTERN_SITE_SECRET: NEW.site,
  POSTERN_SECRET: NEW.visitor,
  POSTERN_OPERATOR_SECRET: NEW.operator,
};
const COMMON = { POSTERN_ASSISTANT: 'none' };

const dir = tempDir();
let server: ServerProcess;
const sockets: Tracked[] = [];

/** Runs the built CLI with the server's environment (`secrets`) and returns its `--json`. */
async function postern(args: readonly string[], secrets: Record<string, string>) {
  const result = await runToExit(
    [DIST_CLI, ...args, '--json'],
    productionEnv(server.db, { ...COMMON, ...secrets }),
  );
  if (result.code !== 0) throw new Error(`postern ${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** An operator token from `postern operator-token`, as a script or an emergency would get one. */
async function operatorToken(secrets: Record<string, string>): Promise<string> {
  const args = ['operator-token', '--operator-id', 'ann', '--name', 'Ann', '--sites', '*'];
  return String((await postern(args, secrets))['token']);
}

/** Whether `token`'s HS256 signature verifies with `secret` (signature only, no claims). */
async function signedWith(token: string, secret: string): Promise<boolean> {
  try {
    await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ['HS256'] });
    return true;
  } catch {
    return false;
  }
}

/** `POST /v1/widget/session` with a refresh token, from the shop's origin. */
function refresh(siteToken: string, refreshToken: string, ip: string) {
  return httpCall({
    port: server.port,
    method: 'POST',
    path: `/v1/widget/session?site_token=${encodeURIComponent(siteToken)}`,
    headers: { Origin: SHOP_ORIGIN, 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: refreshToken }),
    localAddress: ip,
  });
}

/** Sends `auth` on a fresh socket of `path` and resolves with `ready`'s type or the close. */
async function authOutcome(
  path: '/v1/ws/widget' | '/v1/ws/app',
  token: string,
): Promise<'ready' | Closed | null> {
  const origin = path === '/v1/ws/app' ? APP_ORIGIN : SHOP_ORIGIN;
  const ws = await wsOpen(`${server.wsBase}${path}`, { origin, localAddress: nextIp() });
  try {
    const closed = closeOf(ws);
    const ready = new Promise<'ready'>((resolve) =>
      ws.on('message', (data) => {
        if ((JSON.parse(String(data)) as { type?: unknown }).type === 'ready') resolve('ready');
      }),
    );
    ws.send(JSON.stringify({ type: 'auth', token }));
    return await Promise.race([ready, closed]);
  } finally {
    ws.terminate();
  }
}

async function chat(socket: Tracked, dialogId: string, text: string) {
  const clientMsgId = randomUUID();
  socket.send({ type: 'send', dialog_id: dialogId, client_msg_id: clientMsgId, text });
  return socket.waitFor(
    (frame) => frame['type'] === 'ack' && frame['client_msg_id'] === clientMsgId,
    `the ack of "${text}"`,
  );
}

// What the first server handed out, all signed with the old keys.
let oldSiteToken: string;
let siteId: string;
let oldOperatorToken: string;
/** Re-minted during the overlap for the same site, signed with the new key. */
let newSiteToken: string;
/** A visitor chatting on a live socket when the server restarts. */
let chatter: Awaited<ReturnType<typeof newVisitor>>;
let chatterRefresh: string;
/** A visitor whose refresh token was rotated just before the restart: R0 → R1. */
let twoTabs: { ip: string; r0: string; r1: string };
let goingAway: Closed | null;

beforeAll(async () => {
  requireBuild();
  server = await startServer({ ...COMMON, ...BEFORE }, { dir });
  const site = await postern(
    ['site', 'create', '--domains', SHOP_DOMAIN, '--server', 'https://chat.example.com'],
    BEFORE,
  );
  oldSiteToken = String(site['site_token']);
  siteId = String(site['site_id']);
  oldOperatorToken = await operatorToken(BEFORE);
  chatter = await newVisitor(server, oldSiteToken, nextIp());
  chatterRefresh = chatter.refreshToken;
  const live = await visitorSocket(server, chatter);
  sockets.push(live);
  expect(await chat(live, chatter.dialogId, 'before the rotation')).toMatchObject({ seq: 1 });

  const tab = await newVisitor(server, oldSiteToken, nextIp());
  const rotated = await refresh(oldSiteToken, tab.refreshToken, tab.ip);
  expect(rotated.status).toBe(200);
  twoTabs = {
    ip: tab.ip,
    r0: tab.refreshToken,
    r1: String((rotated.json as Record<string, unknown>)['refresh_token']),
  };

  // The rotation itself: a restart with the new keys current and the old ones previous.
  const closed = live.closed;
  expect(await server.stop('SIGTERM', 10_000)).toMatchObject({ code: 0 });
  goingAway = await Promise.race([
    closed,
    new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000)),
  ]);
  server = await startServer({ ...COMMON, ...OVERLAP }, { dir });
});
afterAll(async () => {
  for (const socket of sockets.splice(0)) socket.ws.terminate();
  await server?.dispose();
  dir.remove();
});

describe('black box: key rotation, during the overlap', () => {
  it('told the live socket to come back (1001) when the old server stopped', () => {
    expect(goingAway).toMatchObject({ code: 1001 });
  });

  it('keeps the embedded old-key site token working: new sessions and sockets', async () => {
    const visitor = await newVisitor(server, oldSiteToken, nextIp());
    const socket = await visitorSocket(server, visitor);
    sockets.push(socket);
    expect(socket.frames[0]).toMatchObject({ type: 'ready', dialog_id: visitor.dialogId });
  });

  it('reconnects the live visitor with its old-key visitor token, and it chats on', async () => {
    const socket = await visitorSocket(server, chatter);
    sockets.push(socket);
    expect(socket.frames[0]).toMatchObject({
      type: 'ready',
      dialog_id: chatter.dialogId,
      last_seq: 1,
    });
    expect(await chat(socket, chatter.dialogId, 'during the overlap')).toMatchObject({ seq: 2 });
  });

  it('refreshes the visitor across the restart and signs its new token with the new key', async () => {
    const answer = await refresh(oldSiteToken, chatterRefresh, chatter.ip);
    expect(answer.status).toBe(200);
    const body = answer.json as Record<string, string>;
    expect(body['visitor_id']).toBe(chatter.visitorId);
    expect(body['dialog_id']).toBe(chatter.dialogId);
    const token = String(body['visitor_token']);
    expect(await signedWith(token, NEW.visitor)).toBe(true);
    expect(await signedWith(token, OLD.visitor)).toBe(false);
    chatterRefresh = String(body['refresh_token']);
  });

  it('gives back the same successor for a refresh token rotated just before the restart', async () => {
    // Two tabs, or a response lost in the restart: within POSTERN_REFRESH_GRACE_MS (30 s) the
    // rotated token must yield its successor again, not count as a stolen copy.
    const again = await refresh(oldSiteToken, twoTabs.r0, twoTabs.ip);
    expect(again.status, again.text).toBe(200);
    expect((again.json as Record<string, unknown>)['refresh_token']).toBe(twoTabs.r1);
  });

  it('signs a site token minted now with the new key, and accepts it', async () => {
    const site = await postern(
      [
        'site',
        'create',
        '--site-id',
        siteId,
        '--domains',
        SHOP_DOMAIN,
        '--server',
        'https://chat.example.com',
      ],
      OVERLAP,
    );
    newSiteToken = String(site['site_token']);
    expect(await signedWith(newSiteToken, NEW.site)).toBe(true);
    expect(await signedWith(newSiteToken, OLD.site)).toBe(false);
    expect((await newVisitor(server, newSiteToken, nextIp())).visitorId).toBeTruthy();
  });

  it('accepts operator tokens of both keys, and signs new ones with the new key', async () => {
    expect(await authOutcome('/v1/ws/app', oldOperatorToken)).toBe('ready');
    const token = await operatorToken(OVERLAP);
    expect(await signedWith(token, NEW.operator)).toBe(true);
    expect(await signedWith(token, OLD.operator)).toBe(false);
    expect(await authOutcome('/v1/ws/app', token)).toBe('ready');
  });
});

describe('black box: key rotation, after the overlap', () => {
  let oldVisitorToken: string;

  beforeAll(async () => {
    oldVisitorToken = chatter.visitorToken;
    for (const socket of sockets.splice(0)) socket.ws.terminate();
    expect(await server.stop('SIGTERM', 10_000)).toMatchObject({ code: 0 });
    server = await startServer({ ...COMMON, ...AFTER }, { dir });
  });

  it('refuses the old-key site token (401 unauthorized) and takes the re-minted one', async () => {
    const refused = await httpCall({
      port: server.port,
      method: 'POST',
      path: `/v1/widget/session?site_token=${encodeURIComponent(oldSiteToken)}`,
      headers: { Origin: SHOP_ORIGIN, 'Content-Type': 'application/json' },
      body: '{}',
      localAddress: nextIp(),
    });
    expect(refused.status).toBe(401);
    expect(refused.json).toEqual({ error: 'unauthorized' });
    const visitor = await newVisitor(server, newSiteToken, nextIp());
    const socket = await visitorSocket(server, visitor);
    sockets.push(socket);
    expect(socket.frames[0]).toMatchObject({ type: 'ready' });
  });

  it('refuses old-key visitor and operator tokens with 4002', async () => {
    expect(await authOutcome('/v1/ws/widget', oldVisitorToken)).toMatchObject({ code: 4002 });
    expect(await authOutcome('/v1/ws/app', oldOperatorToken)).toMatchObject({ code: 4002 });
  });

  it('keeps the visitor: its refresh token works with the re-minted site token', async () => {
    const answer = await refresh(newSiteToken, chatterRefresh, chatter.ip);
    expect(answer.status, answer.text).toBe(200);
    const body = answer.json as Record<string, string>;
    expect(body['visitor_id']).toBe(chatter.visitorId);
    const socket = await visitorSocket(server, {
      ...chatter,
      visitorToken: String(body['visitor_token']),
    });
    sockets.push(socket);
    expect(socket.frames[0]).toMatchObject({ dialog_id: chatter.dialogId, last_seq: 2 });
  });
});
