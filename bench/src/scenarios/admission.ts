/**
 * Admission: how many fully authenticated connections each server takes per second.
 *
 * Postern's is the whole widget path — upgrade, per-IP and capacity guards, `auth` with the
 * visitor token, JWT verification, the origin bound to the token and to the site's domains,
 * revocation checks, the dialog lookup, `ready`. The baselines do the plain equivalent (see
 * `servers/`). Visitor sessions are created over HTTP beforehand, outside the timed window (their
 * rate is reported too, for information). Each round opens `connections` sockets with
 * `concurrency` handshakes in flight and keeps them open until the round ends; rounds alternate
 * between the servers and the best round of each counts. With `--profile`, one more Postern
 * round runs under the CPU profiler and is not counted.
 */
import type WebSocket from 'ws';
import { admitBare, admitSocketIo, fakeToken } from '../clients/baselines.js';
import { admitVisitor, newVisitor, type Visitor } from '../clients/postern.js';
import { closeAll, pool } from '../clients/socket.js';
import { CONTENDERS, type Contender, type PerContender, startBaseline } from '../contenders.js';
import { sourceAddress } from '../net.js';
import type { BenchOptions } from '../options.js';
import { createSite, startPostern } from '../postern-server.js';
import { freePort, removeScratch, type ServerProcess, scratchDir, sleep } from '../processes.js';
import { round, startWindow } from '../stats.js';

export interface AdmissionRound {
  readonly perSec: number;
  readonly cpuMsPerConn: number;
  readonly serverCpuPct: number;
  readonly generatorCpuPct: number;
  readonly errors: number;
}

export interface AdmissionResult {
  readonly connections: number;
  readonly concurrency: number;
  /** Postern visitor sessions (`POST /v1/widget/session`) per second, while preparing. */
  readonly sessionsPerSec: number;
  /** The best round of each server. */
  readonly best: PerContender<AdmissionRound>;
  readonly rounds: PerContender<AdmissionRound[]>;
  readonly firstErrors: string[];
}

const BLOCK: PerContender<number> = { postern: 10, ws: 11, socketio: 12 };

export async function runAdmission(
  options: BenchOptions,
  profileTo: string | null,
): Promise<AdmissionResult> {
  const { connections, concurrency, rounds, warmup } = options.admission;
  const dir = scratchDir('admission');
  const setup = { dir, port: await freePort() };
  const site = await createSite(setup);
  const [postern, ws, socketio] = await Promise.all([
    startPostern(setup),
    startBaseline('ws', dir),
    startBaseline('socketio', dir),
  ]);
  const servers: PerContender<ServerProcess> = { postern, ws, socketio };
  try {
    const started = performance.now();
    const made = await pool(connections, 32, (i) =>
      newVisitor(postern.port, site, sourceAddress(BLOCK.postern, i)),
    );
    if (made.errors.length > 0) throw new Error(`sessions failed: ${made.errors[0]}`);
    const sessionsPerSec = connections / ((performance.now() - started) / 1000);
    const visitors: Visitor[] = made.results;
    const token = fakeToken(visitors[0]?.token.length ?? 400);

    const admit: PerContender<(i: number) => Promise<WebSocket>> = {
      postern: (i) => admitVisitor(postern.port, visitors[i] as Visitor),
      ws: (i) => admitBare(ws.port, sourceAddress(BLOCK.ws, i), token),
      socketio: (i) => admitSocketIo(socketio.port, sourceAddress(BLOCK.socketio, i), token),
    };

    for (const name of CONTENDERS) {
      const { results } = await pool(warmup, concurrency, admit[name]);
      await closeAll(results);
    }
    await sleep(500);

    const all: PerContender<AdmissionRound[]> = { postern: [], ws: [], socketio: [] };
    const firstErrors: string[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const name of CONTENDERS) {
        const stop = startWindow(servers[name].cpuMs);
        const { results, errors } = await pool(connections, concurrency, admit[name]);
        const window = stop();
        firstErrors.push(...errors.slice(0, 2).map((e) => `${name}: ${e}`));
        all[name].push({
          perSec: round(results.length / (window.wallMs / 1000)),
          cpuMsPerConn: round(window.serverCpuMs / Math.max(1, results.length), 3),
          serverCpuPct: round((100 * window.serverCpuMs) / window.wallMs),
          generatorCpuPct: round((100 * window.generatorCpuMs) / window.wallMs),
          errors: errors.length,
        });
        await closeAll(results);
        await sleep(500);
      }
    }
    if (profileTo !== null) {
      // One more Postern round under the profiler, not counted (profiling slows it down).
      await postern.profileStart();
      const { results } = await pool(connections, concurrency, admit.postern);
      await postern.profileStop(profileTo);
      await closeAll(results);
    }
    const bestOf = (name: Contender) =>
      all[name].reduce((a, b) => (b.perSec > a.perSec ? b : a)) as AdmissionRound;
    return {
      connections,
      concurrency,
      sessionsPerSec: round(sessionsPerSec),
      best: { postern: bestOf('postern'), ws: bestOf('ws'), socketio: bestOf('socketio') },
      rounds: all,
      firstErrors,
    };
  } finally {
    await Promise.all(Object.values(servers).map((server) => server.stop()));
    removeScratch(dir);
  }
}
