/**
 * The CLI with no server running: it works on the database file itself, and the next server
 * start enforces what it wrote. Also the control socket's life cycle: removed on a clean
 * shutdown, left by a SIGKILL — then ignored by the CLI and replaced by the next server.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { newVisitor, type VisitorSession, visitorSocket } from '../blackbox/support/chat.js';
import { httpCall } from '../blackbox/support/clients.js';
import {
  loopbackPool,
  requireBuild,
  type ServerProcess,
  SHOP_ORIGIN,
  startServer,
  tempDir,
} from '../blackbox/support/server-process.js';
import {
  type CreatedSite,
  createSite,
  envFor,
  postern,
  refused,
  SHOP_DOMAIN,
  succeeded,
} from './support.js';

const dir = tempDir();
const env = envFor(dir.path);
const nextIp = loopbackPool(241);
const servers: ServerProcess[] = [];
let site: CreatedSite;
let spare: CreatedSite;
let visitor: VisitorSession;

async function start(): Promise<ServerProcess> {
  const server = await startServer({}, { dir });
  servers.push(server);
  return server;
}

/** A new session from `token`: the status the server answers. */
async function sessionStatus(server: ServerProcess, token: string): Promise<number> {
  const answer = await httpCall({
    port: server.port,
    method: 'POST',
    path: `/v1/widget/session?site_token=${encodeURIComponent(token)}`,
    headers: { Origin: SHOP_ORIGIN, 'Content-Type': 'application/json' },
    body: '{}',
    localAddress: nextIp(),
  });
  return answer.status;
}

beforeAll(async () => {
  requireBuild();
  [site, spare] = await Promise.all([createSite(env, SHOP_DOMAIN), createSite(env, SHOP_DOMAIN)]);
  // A first server makes a visitor with a message, then stops cleanly.
  const first = await start();
  visitor = await newVisitor(first, site.site_token, nextIp());
  const socket = await visitorSocket(first, visitor);
  const clientMsgId = randomUUID();
  socket.send({
    type: 'send',
    dialog_id: visitor.dialogId,
    client_msg_id: clientMsgId,
    text: 'hi',
  });
  await socket.waitFor((f) => f['type'] === 'ack', 'ack');
  expect(await first.stop('SIGTERM', 5_000)).toMatchObject({ code: 0 });
});
afterAll(async () => {
  for (const server of servers) await server.dispose();
  dir.remove();
});

describe('postern CLI with no server running', () => {
  it('finds no control socket after a clean shutdown', () => {
    expect(existsSync(join(dir.path, 'p.db.ctl'))).toBe(false);
  });

  it('exports, backs up and revokes on the database file; the next server enforces the revocations', async () => {
    const exported = await postern(['visitor', 'export', '--visitor', visitor.visitorId], env);
    const messages = (JSON.parse(succeeded(exported)) as { messages: { text: string }[] }).messages;
    expect(messages.map((m) => m.text)).toContain('hi');

    const out = join(dir.path, 'offline-backup.db');
    expect(succeeded(await postern(['backup', '--out', out], env))).toContain(
      'with no server running',
    );
    expect(statSync(out).mode & 0o777).toBe(0o600);

    const revokedVisitor = await postern(['revoke', '--visitor', visitor.visitorId], env);
    expect(succeeded(revokedVisitor)).toContain('a server started on it refuses it');
    expect(revokedVisitor.stderr).toContain('"event":"audit_revocation","actor":"cli"');
    succeeded(await postern(['revoke', '--site-token', spare.jti], env));

    const server = await start();
    expect(await sessionStatus(server, spare.site_token)).toBe(401);
    expect(await sessionStatus(server, site.site_token)).toBe(200);
    // The visitor token is still within its 15 minutes: the revocation alone refuses it.
    await expect(visitorSocket(server, visitor)).rejects.toThrow(/4006 visitor_revoked/);
  });

  it('ignores the socket a killed server left behind, and the next server replaces it', async () => {
    const killed = servers.at(-1) ?? (await start());
    await killed.stop('SIGKILL', 5_000);
    const socket = join(dir.path, 'p.db.ctl');
    expect((await lstat(socket)).isSocket()).toBe(true);

    // Nothing listens: the CLI works on the file (the dead server's lock went with it).
    const erased = await postern(['visitor', 'erase', '--visitor', visitor.visitorId], env);
    expect(succeeded(erased)).toContain(`Erased visitor ${visitor.visitorId} in `);
    expect(erased.stderr).toContain('"event":"audit_erasure","actor":"cli"');

    const next = await start();
    expect(next.stdout()).toContain('"control_listening"');
    const listed = await postern(['site', 'list', '--json'], env);
    expect(JSON.parse(succeeded(listed))).toContainEqual(
      expect.objectContaining({ site_id: spare.site_id }),
    );
    expect(next.stdout()).toContain('"op":"list_sites"');
  });
});

describe('postern CLI when a process holds the database without a control socket', () => {
  it('waits a moment, then says so instead of hanging or writing around the lock', async () => {
    const held = tempDir();
    const store = openSqliteStore({ path: join(held.path, 'p.db') });
    try {
      const heldEnv = envFor(held.path);
      const [revoked, restored] = await Promise.all([
        postern(['revoke', '--site', 'site-x'], heldEnv),
        postern(['restore', '--from', join(dir.path, 'offline-backup.db'), '--force'], heldEnv),
      ]);
      refused(revoked, 1, /another process holds .* and no server answers/);
      expect(revoked.ms).toBeGreaterThan(2_500);
      refused(restored, 1, /a server is running on POSTERN_DB/);
      expect(await store.listRevocations()).toEqual([]);
    } finally {
      await store.close();
      held.remove();
    }
  });
});
