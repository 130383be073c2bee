/**
 * The control channel in process: who may use the socket (owner only, never a planted or
 * world-open one), what happens to stale files, and the bounds on what a request may be.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { requestControl } from '../../src/control/client.js';
import {
  CONTROL_REQUEST_MAX_BYTES,
  type ControlReply,
  type ControlRequest,
  controlSocketPath,
} from '../../src/control/protocol.js';
import { type ControlChannel, openControlChannel } from '../../src/control/server.js';

const root = mkdtempSync(join(tmpdir(), 'postern-ctl-'));
let n = 0;
const freshPath = () => join(root, `s${++n}.ctl`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const open: ControlChannel[] = [];
afterEach(async () => {
  for (const channel of open.splice(0)) await channel.close();
});

async function channel(
  path: string,
  handle: (request: ControlRequest) => Promise<ControlReply> = async () => ({
    ok: true,
    result: 'done',
  }),
): Promise<ControlChannel> {
  const opened = await openControlChannel({ path, handle });
  open.push(opened);
  return opened;
}

/** Sends raw bytes and resolves with the whole answer. */
function raw(path: string, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.write(bytes);
  });
}

// Sockets are only ever stat'ed with the promise API: a synchronous stat of one can make
// Node's module loader misread its shared stat buffer (see src/control/client.ts).

/** A socket file with nobody behind it, as a SIGKILLed server leaves. */
async function staleSocket(path: string): Promise<void> {
  const at = JSON.stringify(path);
  // Mode 0600 like a real server's, so only the missing listener makes it stale.
  const script = `const fs = require('node:fs');
    require('node:net').createServer().listen(${at}, () => { fs.chmodSync(${at}, 0o600); console.log('up'); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('control channel', () => {
  it('lives beside the database, and not at all for :memory:', () => {
    expect(controlSocketPath('/var/lib/postern/postern.db')).toBe(
      '/var/lib/postern/postern.db.ctl',
    );
    expect(controlSocketPath(':memory:')).toBeNull();
  });

  it('opens a socket only its owner can use, answers one line, and removes it on close', async () => {
    const path = freshPath();
    const seen: ControlRequest[] = [];
    const opened = await channel(path, async (request) => {
      seen.push(request);
      return { ok: true, result: { pid: 1 } };
    });
    expect((await lstat(path)).mode & 0o777).toBe(0o600);
    expect(await requestControl(path, { op: 'ping' }, 2_000)).toEqual({
      ok: true,
      result: { pid: 1 },
    });
    expect(seen).toEqual([{ op: 'ping' }]);
    await opened.close();
    expect(existsSync(path)).toBe(false);
  });

  it('refuses malformed, unknown and oversized requests without calling the handler', async () => {
    const path = freshPath();
    let calls = 0;
    await channel(path, async () => {
      calls += 1;
      return { ok: true, result: null };
    });
    const refusedWith = (answer: string) =>
      (JSON.parse(answer) as ControlReply & { ok: false }).error;
    expect(refusedWith(await raw(path, 'not json\n'))).toBe('invalid_request');
    expect(refusedWith(await raw(path, '{"op":"drop_tables"}\n'))).toBe('invalid_request');
    expect(refusedWith(await raw(path, '{"op":"revoke","kind":"site","target":"a b"}\n'))).toBe(
      'invalid_request',
    );
    expect(refusedWith(await raw(path, '{"op":"backup","path":"relative.db"}\n'))).toBe(
      'invalid_request',
    );
    const huge = Buffer.alloc(CONTROL_REQUEST_MAX_BYTES + 10, 0x20);
    expect(refusedWith(await raw(path, huge))).toBe('invalid_request');
    expect(calls).toBe(0);
  });

  it('replaces a socket left by a dead server, and the CLI treats that socket as no server', async () => {
    const path = freshPath();
    await staleSocket(path);
    expect((await lstat(path)).isSocket()).toBe(true);
    expect(await requestControl(path, { op: 'ping' }, 2_000)).toBeNull();
    await channel(path);
    expect(await requestControl(path, { op: 'ping' }, 2_000)).toMatchObject({ ok: true });
  });

  it('refuses to start over a file that is not a socket, and leaves it alone', async () => {
    const path = freshPath();
    writeFileSync(path, 'not mine to delete');
    await expect(
      openControlChannel({ path, handle: async () => ({ ok: true, result: null }) }),
    ).rejects.toThrow(/exists and is not a socket/);
    expect(statSync(path).size).toBeGreaterThan(0);
    await expect(requestControl(path, { op: 'ping' }, 2_000)).rejects.toThrow(/is not a socket/);
  });

  it('refuses a path too long for a Unix socket', async () => {
    const path = join(root, `${'x'.repeat(120)}.ctl`);
    await expect(
      openControlChannel({ path, handle: async () => ({ ok: true, result: null }) }),
    ).rejects.toThrow(/longer than/);
  });

  it('never talks to a socket others may open: whoever planted it could fake the answers', async () => {
    const path = freshPath();
    await channel(path);
    chmodSync(path, 0o666);
    await expect(requestControl(path, { op: 'ping' }, 2_000)).rejects.toThrow(
      /open to other users/,
    );
  });

  it('lets a request in flight finish before close resolves', async () => {
    const path = freshPath();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const opened = await channel(path, async () => {
      await gate;
      return { ok: true, result: 'finished' };
    });
    const answer = requestControl(path, { op: 'list_sites' }, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    let closed = false;
    const closing = opened.close().then(() => {
      closed = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(await answer).toEqual({ ok: true, result: 'finished' });
  });
});
