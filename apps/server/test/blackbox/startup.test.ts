/**
 * Black box: process start and stop (SPEC §1 database lock, §6 start-up validation, the CLI),
 * by running the built entry points with chosen environments.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSocket } from './support/raw-http.js';
import { encodeFrame, Opcode, openRawWs } from './support/raw-ws.js';
import {
  APP_ORIGIN,
  DIST_CLI,
  DIST_MAIN,
  productionEnv,
  requireBuild,
  runToExit,
  type ServerProcess,
  startServer,
  tempDir,
} from './support/server-process.js';
import { mintOperator } from './support/tokens.js';

const dir = tempDir();
let server: ServerProcess;

beforeAll(async () => {
  requireBuild();
  server = await startServer({}, { dir });
});
afterAll(async () => {
  await server?.dispose();
  dir.remove();
});

/** Runs `node dist/main.js` with a production environment changed by `change`. */
function startWith(change: Record<string, string | null>, db = join(dir.path, 'other.db')) {
  const env: Record<string, string> = productionEnv(db);
  for (const [name, value] of Object.entries(change)) {
    if (value === null) delete env[name];
    else env[name] = value;
  }
  return runToExit([DIST_MAIN], env, 8_000);
}

describe('black box: process start and stop', () => {
  it('prints usage for --help and exits 0', async () => {
    const help = await runToExit([DIST_CLI, '--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/usage/i);
    const serveHelp = await runToExit([DIST_CLI, 'serve', '--help'], {});
    expect(serveHelp.code).toBe(0);
    expect(serveHelp.stdout).toMatch(/usage/i);
  });

  it('refuses a second server on the same POSTERN_DB, naming POSTERN_DB', async () => {
    const second = await startWith({}, server.db);
    expect(second.code).not.toBe(0);
    expect(second.code).not.toBe(null);
    expect(second.stderr).toContain('POSTERN_DB');
    expect(second.stdout).not.toMatch(/"listening"/);
    await server.assertAlive();
  });

  it('creates its database owner-only, and refuses one of a newer schema in one line', async () => {
    // The server started in beforeAll created its database: visitors' messages, owner-only.
    expect(statSync(server.db).mode & 0o777).toBe(0o600);
    const newer = join(dir.path, 'newer.db');
    const db = new Database(newer);
    db.pragma('user_version = 999');
    db.close();
    const result = await startWith({}, newer);
    expect(result.code).toBe(1);
    expect(
      result.stderr
        .trim()
        .split('\n')
        .filter((line) => !line.includes('warning')),
    ).toEqual([
      expect.stringMatching(/^postern: POSTERN_DB: the database schema \(999\) is newer/),
    ]);
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('refuses short secrets in production, naming each variable and never its value', async () => {
    const short = 'short-SENTINEL-value';
    const result = await startWith({
      POSTERN_SITE_SECRET: short,
      POSTERN_OPERATOR_SECRET: `${short}-2`,
    });
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBe(null);
    expect(result.stderr).toContain('POSTERN_SITE_SECRET');
    expect(result.stderr).toContain('POSTERN_OPERATOR_SECRET');
    expect(`${result.stdout}${result.stderr}`).not.toContain('SENTINEL');
    expect(result.stdout).not.toMatch(/"listening"/);
  });

  it('refuses a missing secret and a secret set twice (X and X_FILE) in production', async () => {
    const missing = await startWith({ POSTERN_SECRET: null });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('POSTERN_SECRET');
    const twice = await startWith({ POSTERN_SITE_SECRET_FILE: join(dir.path, 'nope') });
    expect(twice.code).not.toBe(0);
    expect(twice.stderr).toContain('POSTERN_SITE_SECRET');
    expect(`${twice.stdout}${twice.stderr}`).not.toContain('blackbox-site-secret');
  });

  it('refuses a bad POSTERN_APP_ORIGINS entry, naming the variable', async () => {
    for (const entry of [
      'http://console.example/path',
      'javascript:alert(1)',
      'http://user@console.example',
    ]) {
      const result = await startWith({ POSTERN_APP_ORIGINS: `${APP_ORIGIN},${entry}` });
      expect(result.code, entry).not.toBe(0);
      expect(result.stderr, entry).toContain('POSTERN_APP_ORIGINS');
    }
  });

  it('starts in production with plain-http origins', async () => {
    const other = tempDir();
    const plain = await startServer(
      { POSTERN_APP_ORIGINS: 'http://localhost:3000,http://127.0.0.1:8080,http://console.example' },
      { dir: other },
    );
    try {
      await plain.assertAlive();
      expect(await plain.stop('SIGTERM', 5_000)).toEqual({ code: 0, signal: null });
    } finally {
      await plain.dispose();
      other.remove();
    }
  });

  it('exits 0 within 5 s of SIGTERM despite silent, stalled and mute peers', async () => {
    // A connection that never sends a byte, a request whose body never ends, and a WebSocket
    // peer that never answers the close handshake: none of them may hold the shutdown hostage.
    const silent = await openSocket({ port: server.port });
    silent.on('error', () => undefined);
    const stalled = await openSocket({ port: server.port });
    stalled.on('error', () => undefined);
    stalled.write(
      'POST /v1/widget/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        'Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n',
    );
    const mute = await openRawWs('/v1/ws/app', { Origin: APP_ORIGIN }, { port: server.port });
    mute.send(
      encodeFrame(
        Opcode.TEXT,
        Buffer.from(JSON.stringify({ type: 'auth', token: await mintOperator() })),
      ),
    );
    expect(
      await mute.text((value) => (value as { type?: unknown }).type === 'ready', 3_000),
    ).not.toBe(null);
    const started = Date.now();
    const exit = await server.stop('SIGTERM', 5_000);
    const elapsed = Date.now() - started;
    expect(exit, `still running ${elapsed} ms after SIGTERM`).toEqual({ code: 0, signal: null });
    expect((await mute.closed(1_000))?.code).toBe(1001);
    silent.destroy();
    stalled.destroy();
    mute.destroy();
  }, 10_000);
});
