// Long-running child processes for the root scripts (the demo). Node built-ins only.
import { spawn } from 'node:child_process';
import { get } from 'node:http';

/**
 * Starts a long-running child with the terminal's output. `detached` gives it its own process
 * group, so a Ctrl-C in the terminal reaches only the parent, which stops children in order
 * (a server that got SIGINT twice would die mid-shutdown).
 */
export function startChild(command, args, options = {}) {
  return spawn(command, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
    ...options,
  });
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves with the child's exit once it has exited (at once if it already has). */
function exitOf(child) {
  if (exited(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/**
 * Sends SIGTERM to every child still running and waits; a child still running after `graceMs`
 * is killed. Resolves `true` when every child exited 0 by itself.
 */
export async function stopChildren(children, graceMs = 10_000) {
  const exits = children.map(async (child) => {
    if (!exited(child)) child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!exited(child)) child.kill('SIGKILL');
    }, graceMs);
    const exit = await exitOf(child);
    clearTimeout(timer);
    return exit.code === 0;
  });
  return (await Promise.all(exits)).every(Boolean);
}

function status(url) {
  return new Promise((resolve) => {
    const req = get(url, { timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Polls `url` until it answers 200; `false` when `child` exits first or `timeoutMs` passes. */
export async function waitForHttp(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !exited(child)) {
    if ((await status(url)) === 200) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}
