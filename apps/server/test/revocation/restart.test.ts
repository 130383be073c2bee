/**
 * Revocations survive a restart: revoke on one server over a database file, close the server and
 * its store, start a new one on the same file, and every revoked credential is still refused —
 * before any new revocation could have warmed its memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import {
  APP,
  type Harness,
  postRevocation,
  SHOP,
  startHarness,
  type TrackedSocket,
  trackSocket,
  waitFor,
} from '../support/harness.js';

let harness: Harness | undefined;
let dir: string | undefined;
const sockets: TrackedSocket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.ws.terminate();
  await harness?.close();
  harness = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function jtiOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
  return String((payload as Record<string, unknown>)['jti']);
}

/** Authenticates a socket; resolves with `ready` or with the close that refused it. */
async function auth(h: Harness, path: '/v1/ws/widget' | '/v1/ws/app', token: string) {
  const socket = trackSocket(h.wsBase, path, {
    headers: { Origin: path === '/v1/ws/app' ? APP : SHOP },
  });
  sockets.push(socket);
  await socket.opened;
  socket.send({ type: 'auth', token });
  await waitFor(() => socket.frames.length > 0 || socket.isClosed(), 'an answer to auth');
  return socket.isClosed() ? await socket.closed : socket.frames[0];
}

describe('revocations after a restart', () => {
  it('still refuses every revoked credential on a server reopened on the same database file', async () => {
    dir = mkdtempSync(join(tmpdir(), 'postern-revocation-'));
    const path = join(dir, 'postern.db');

    // First life: one visitor per revocation kind, plus one that is never revoked.
    const first = await startHarness({ store: openSqliteStore({ path }) });
    harness = first;
    const sites = {
      token: await first.siteToken({ siteId: 'site_token_jti' }),
      siteJti: await first.siteToken({ siteId: 'site_sjti' }),
      visitor: await first.siteToken({ siteId: 'site_visitor' }),
      site: await first.siteToken({ siteId: 'site_revoked' }),
      control: await first.siteToken({ siteId: 'site_control' }),
    };
    const sessions: Record<keyof typeof sites, Record<string, unknown>> = {
      token: (await first.session(sites.token.token)).body,
      siteJti: (await first.session(sites.siteJti.token)).body,
      visitor: (await first.session(sites.visitor.token)).body,
      site: (await first.session(sites.site.token)).body,
      control: (await first.session(sites.control.token)).body,
    };
    const operator = await first.operatorToken({ operatorId: 'op_gone' });
    const visitorToken = (key: keyof typeof sites) => String(sessions[key]['visitor_token']);

    const targets = [
      { jti: jtiOf(visitorToken('token')) },
      { jti: sites.siteJti.jti },
      { visitor_id: String(sessions.visitor['visitor_id']) },
      { site_id: 'site_revoked' },
      { jti: jtiOf(operator) },
    ];
    for (const target of targets) expect((await postRevocation(first, target)).status).toBe(200);
    await first.close();
    harness = undefined;

    // Second life on the same file: nothing carried over in memory.
    const second = await startHarness({ store: openSqliteStore({ path }) });
    harness = second;
    expect(second.server.revocations.size).toBe(targets.length);

    const expected = {
      token: 'token_revoked',
      siteJti: 'site_revoked',
      visitor: 'visitor_revoked',
      site: 'site_revoked',
    } as const;
    for (const [key, reason] of Object.entries(expected) as [keyof typeof expected, string][]) {
      expect({ key, answer: await auth(second, '/v1/ws/widget', visitorToken(key)) }).toEqual({
        key,
        answer: { code: 4006, reason },
      });
      const history = await fetch(
        `${second.base}/v1/widget/dialogs/${String(sessions[key]['dialog_id'])}/messages`,
        { headers: { Authorization: `Bearer ${visitorToken(key)}`, Origin: SHOP } },
      );
      expect({ key, status: history.status }).toEqual({ key, status: 401 });
      expect(await history.json()).toEqual({ error: 'token_revoked' });
      if (key !== 'token') {
        const refreshed = await second.session(sites[key].token, SHOP, {
          refresh_token: sessions[key]['refresh_token'],
        });
        expect({ key, ...refreshed.body }).toEqual({ key, error: 'token_revoked' });
      }
    }
    expect(await auth(second, '/v1/ws/app', operator)).toEqual({
      code: 4006,
      reason: 'token_revoked',
    });
    expect(await postRevocation(second, { site_id: 'site_control' }, operator)).toEqual({
      status: 401,
      body: { error: 'token_revoked' },
    });

    // The credential nobody revoked still works after the restart.
    expect(await auth(second, '/v1/ws/widget', visitorToken('control'))).toMatchObject({
      type: 'ready',
      visitor_id: sessions.control['visitor_id'],
    });
  });
});
