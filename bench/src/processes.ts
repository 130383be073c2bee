/**
 * The servers under test as child processes: started with the measuring hook preloaded, their
 * stdout written to a file (a server never waits on the bench reading its logs), their CPU time
 * and memory read from outside, and every one of them killed when the bench exits, however it
 * exits.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HOOK = pathToFileURL(fileURLToPath(new URL('./hook.js', import.meta.url))).href;

const children = new Set<ChildProcess>();
const scratch = new Set<string>();
let cleanupInstalled = false;

/** Kills every child still running and removes every scratch directory, on any exit. */
export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      console.error(`\nbench: ${signal}, stopping every server`);
      process.exit(130);
    });
  }
}

/** A scratch directory removed when the bench exits. */
export function scratchDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `pb-${label}-`));
  scratch.add(dir);
  return dir;
}

export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  scratch.delete(dir);
}

/** A port nobody listens on right now (for a server that must come back on the same port). */
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

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU time of a process so far, in ms (from /proc/<pid>/stat). */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size of a process in bytes (VmRSS of /proc/<pid>/status). */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? Number.NaN : Number(kb) * 1024;
  } catch {
    return Number.NaN;
  }
}

export interface MemorySample {
  /** VmRSS right after the collections, bytes. */
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** Everything the server wrote on stdout so far (its log). */
  stdout(): string;
  /** CPU time the server used so far, ms. */
  cpuMs(): number;
  /** Memory after two forced full collections. */
  memory(): Promise<MemorySample>;
  profileStart(): Promise<void>;
  profileStop(path: string): Promise<void>;
  heapSnapshot(path: string): Promise<void>;
  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
  readonly exited: Promise<Exit>;
}

export interface LaunchSpec {
  readonly name: string;
  readonly script: string;
  readonly env: Record<string, string>;
  /** Where stdout goes (one file per launch). */
  readonly dir: string;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

/**
 * Starts `node --expose-gc --import hook.js <script>` and waits for the `{"event":"listening",
 * "port":N}` line every server here prints (Postern's own log line; the baselines imitate it).
 */
export async function launch(spec: LaunchSpec): Promise<ServerProcess> {
  const outPath = join(spec.dir, `${spec.name}-${Date.now()}.out`);
  const out = openSync(outPath, 'w');
  const child = spawn(process.execPath, ['--expose-gc', '--import', HOOK, spec.script], {
    env: spec.env,
    cwd: spec.cwd ?? process.cwd(),
    stdio: ['ignore', out, 'pipe', 'ipc'],
  });
  closeSync(out);
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 65_536) stderr += chunk.toString('utf8');
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  const readOut = () => {
    try {
      return readFileSync(outPath, 'utf8');
    } catch {
      return '';
    }
  };

  const port = await new Promise<number>((resolve, reject) => {
    const deadline = Date.now() + (spec.timeoutMs ?? 20_000);
    const poll = setInterval(() => {
      const match =
        /"event":"listening"[^\n]*?"port":(\d+)|"port":(\d+)[^\n]*?"event":"listening"/.exec(
          readOut(),
        );
      const found = match?.[1] ?? match?.[2];
      if (found !== undefined) {
        clearInterval(poll);
        resolve(Number(found));
      } else if (child.exitCode !== null || child.signalCode !== null) {
        clearInterval(poll);
        reject(new Error(`${spec.name} exited before listening:\n${stderr}${readOut()}`));
      } else if (Date.now() > deadline) {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new Error(`${spec.name} did not listen in time:\n${stderr}`));
      }
    }, 20);
  });

  let nextId = 1;
  const pending = new Map<number, { resolve(value: unknown): void; reject(e: Error): void }>();
  child.on('message', (raw: { id: number; ok: boolean; result?: unknown; error?: string }) => {
    const waiter = pending.get(raw.id);
    if (!waiter) return;
    pending.delete(raw.id);
    if (raw.ok) waiter.resolve(raw.result);
    else waiter.reject(new Error(`${spec.name}: ${raw.error}`));
  });
  const rpc = (cmd: string, extra: object = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, cmd, ...extra });
    });

  const pid = child.pid ?? -1;
  return {
    name: spec.name,
    pid,
    port,
    stdout: readOut,
    cpuMs: () => cpuMsOf(pid),
    async memory() {
      const usage = (await rpc('memory')) as NodeJS.MemoryUsage;
      return {
        rss: rssOf(pid),
        heapUsed: usage.heapUsed,
        external: usage.external,
        arrayBuffers: usage.arrayBuffers,
      };
    },
    profileStart: async () => void (await rpc('profile-start')),
    profileStop: async (path) => void (await rpc('profile-stop', { path })),
    heapSnapshot: async (path) => void (await rpc('heap-snapshot', { path })),
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
    exited,
  };
}

/** Runs a command to completion with a time cap; resolves with its stdout, rejects on failure. */
export function runToEnd(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: options.env ?? process.env,
      cwd: options.cwd ?? process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${args.join(' ')} failed (${code ?? signal}):\n${stderr}`));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
