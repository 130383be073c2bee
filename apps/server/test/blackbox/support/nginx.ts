/**
 * A real nginx in front of the built server, configured by the file the deployment guide ships
 * (`docs/deploy/nginx.conf`). Only the values an operator is told to edit are changed — ports,
 * certificate paths, the log path — and each change must match the shipped file exactly once, so
 * the docs cannot drift from what is tested. Everything else nginx needs to run unprivileged from
 * a temporary directory (pid, temp paths, error log) lives in a small wrapper config of its own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHIPPED_NGINX_CONF = fileURLToPath(
  new URL('../../../../../docs/deploy/nginx.conf', import.meta.url),
);

/**
 * The nginx binary: on PATH, or in the sbin folders Debian installs it to (they are not on a
 * non-root user's PATH). `null` when there is none.
 */
export function findNginx(path = process.env['PATH'] ?? ''): string | null {
  const folders = [...path.split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const folder of folders) {
    if (folder === '') continue;
    const candidate = join(folder, 'nginx');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** A port that was free a moment ago (nginx needs numbers in its config; it cannot take 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface NginxInput {
  readonly binary: string;
  /** A private directory for this nginx (config, pid, logs, temp files). */
  readonly dir: string;
  /** Where the Postern server listens, on 127.0.0.1. */
  readonly upstreamPort: number;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface Nginx {
  /** TLS port (the shipped `listen 443 ssl`). */
  readonly httpsPort: number;
  /** Plain port (the shipped `listen 80`, which only redirects). */
  readonly httpPort: number;
  readonly accessLog: string;
  stderr(): string;
  stop(): Promise<void>;
}

/** Replaces `from` with `to`, requiring exactly `count` occurrences in the shipped file. */
function edit(text: string, from: string, to: string, count: number): string {
  const found = text.split(from).length - 1;
  if (found !== count) {
    throw new Error(
      `docs/deploy/nginx.conf: expected ${count} × "${from}", found ${found}; ` +
        'the shipped config changed — update test/blackbox/support/nginx.ts with it',
    );
  }
  return text.split(from).join(to);
}

/** The shipped config with the operator-edited values set for this run. */
function templated(input: NginxInput, ports: { https: number; http: number }, log: string) {
  let conf = readFileSync(SHIPPED_NGINX_CONF, 'utf8');
  conf = edit(conf, 'server 127.0.0.1:8787;', `server 127.0.0.1:${input.upstreamPort};`, 1);
  conf = edit(conf, 'listen 443 ssl;', `listen 127.0.0.1:${ports.https} ssl;`, 1);
  conf = edit(conf, 'listen 80;', `listen 127.0.0.1:${ports.http};`, 1);
  conf = edit(conf, 'server_name chat.example.com;', 'server_name 127.0.0.1;', 2);
  conf = edit(conf, '/etc/letsencrypt/live/chat.example.com/fullchain.pem', input.certFile, 1);
  conf = edit(conf, '/etc/letsencrypt/live/chat.example.com/privkey.pem', input.keyFile, 1);
  return edit(conf, '/var/log/nginx/postern.access.log', log, 2);
}

/** Resolves once something accepts TCP connections on `port`, or rejects after `timeoutMs`. */
async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nginx exited (${child.exitCode ?? child.signalCode})`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port} in time`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts nginx in the foreground (`daemon off`) with the shipped config in front of Postern. */
export async function startNginx(input: NginxInput): Promise<Nginx> {
  const ports = { https: await freePort(), http: await freePort() };
  const accessLog = join(input.dir, 'access.log');
  const site = join(input.dir, 'postern.conf');
  writeFileSync(site, templated(input, ports, accessLog));
  const temp = (name: string) => join(input.dir, name);
  const main = join(input.dir, 'nginx.conf');
  writeFileSync(
    main,
    [
      // As root nginx hands requests to workers running as `user` (default nobody), who could
      // not enter this private directory; a test process may as well keep its own identity.
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      'worker_processes 1;',
      'error_log stderr warn;',
      'events { worker_connections 256; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${temp('client_body')};`,
      `  proxy_temp_path ${temp('proxy')};`,
      `  fastcgi_temp_path ${temp('fastcgi')};`,
      `  uwsgi_temp_path ${temp('uwsgi')};`,
      `  scgi_temp_path ${temp('scgi')};`,
      `  include ${site};`,
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn(
    input.binary,
    ['-p', input.dir, '-e', 'stderr', '-c', main, '-g', `daemon off; pid ${temp('nginx.pid')};`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  try {
    await waitForPort(ports.https, child, 5_000);
    await waitForPort(ports.http, child, 5_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    httpsPort: ports.https,
    httpPort: ports.http,
    accessLog,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // SIGQUIT is nginx's graceful stop; SIGTERM its fast one (what a test wants).
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The access log's lines so far (nginx writes each line at the end of its request). */
export function accessLogLines(nginx: Nginx): string[] {
  if (!existsSync(nginx.accessLog)) return [];
  return readFileSync(nginx.accessLog, 'utf8').split('\n').filter(Boolean);
}
