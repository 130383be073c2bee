/**
 * Preloaded into every server the bench starts (`node --expose-gc --import hook.js …`), Postern
 * and the baselines alike, so all three are measured the same way without touching their code:
 *
 * - `memory`: two full collections, then `process.memoryUsage()` — memory that is merely garbage
 *   does not count against a server.
 * - `profile-start` / `profile-stop`: the V8 CPU profiler (the one behind `--cpu-prof`, same
 *   1 ms sampling, same `.cpuprofile` format) over exactly the measured window, not start-up and
 *   set-up.
 * - `heap-snapshot`: a V8 heap snapshot written to `path`, after two full collections.
 *
 * Requests come over the IPC channel; when the channel goes away (the bench died or was killed)
 * the server exits, so no server ever outlives its bench.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { writeHeapSnapshot } from 'node:v8';

interface Request {
  readonly id: number;
  readonly cmd: 'memory' | 'profile-start' | 'profile-stop' | 'heap-snapshot';
  readonly path?: string;
}

const collect = (globalThis as { gc?: () => void }).gc;
let profiler: Session | null = null;

/** One inspector call as a promise. */
function post(session: Session, method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

async function handle(request: Request): Promise<unknown> {
  switch (request.cmd) {
    case 'memory': {
      // Twice: the first pass may only finalise what the second frees.
      collect?.();
      collect?.();
      return process.memoryUsage();
    }
    case 'profile-start': {
      profiler = new Session();
      profiler.connect();
      await post(profiler, 'Profiler.enable');
      await post(profiler, 'Profiler.setSamplingInterval', { interval: 1000 });
      await post(profiler, 'Profiler.start');
      return null;
    }
    case 'profile-stop': {
      if (profiler === null || request.path === undefined) throw new Error('no profile running');
      const { profile } = (await post(profiler, 'Profiler.stop')) as { profile: unknown };
      profiler.disconnect();
      profiler = null;
      writeFileSync(request.path, JSON.stringify(profile));
      return null;
    }
    case 'heap-snapshot': {
      if (request.path === undefined) throw new Error('no path');
      collect?.();
      collect?.();
      writeHeapSnapshot(request.path);
      return null;
    }
  }
}

if (process.send) {
  process.on('message', (message: Request) => {
    handle(message).then(
      (result) => process.send?.({ id: message.id, ok: true, result }),
      (error: unknown) => process.send?.({ id: message.id, ok: false, error: String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(1));
}
