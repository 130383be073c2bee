/**
 * Reconnect storm: `clients` real `PosternClient`s (the SDK as built, run under Node), each from
 * its own loopback address, connected and `ready`; then the server is stopped with SIGTERM (it
 * closes every socket with 1001 and a `retry=` hint) and started again on the same port and
 * database. The clients follow the SDK's own policy — the first attempt spread over the hinted
 * window, then full-jitter backoff from 500 ms to 30 s — with nothing driven by the bench.
 *
 * Measured: time from SIGTERM until every client is `ready` again, the server's own restart time,
 * the peak rate of re-admissions (best 1 s window, from the new server's `ws_ready` log lines),
 * and clients that gave up (`stopped`).
 */
import {
  type ConnectionState,
  PosternClient,
  type WebSocketConstructor,
} from '@postern/widget-sdk';
import WebSocket from 'ws';
import { fetchFrom, sourceAddress } from '../net.js';
import type { BenchOptions } from '../options.js';
import { createSite, SHOP_ORIGIN, startPostern } from '../postern-server.js';
import { freePort, removeScratch, type ServerProcess, scratchDir, sleep } from '../processes.js';
import { round } from '../stats.js';

export interface StormResult {
  readonly clients: number;
  /** Clients ready before the restart. */
  readonly connected: number;
  /** Initial connections per second (session + socket + auth, through the SDK). */
  readonly initialPerSec: number;
  /** SIGTERM → the new server listening. */
  readonly restartMs: number;
  /** SIGTERM → the last client `ready` again (`null`: not all came back within the cap). */
  readonly allBackMs: number | null;
  /** The new server listening → the last client `ready`. */
  readonly backAfterListeningMs: number | null;
  /** Best 1 s of re-admissions by the server's own `ws_ready` log times. */
  readonly peakPerSec: number;
  /** The same seen by the clients (their event loop may bunch the `ready` events up). */
  readonly peakPerSecClients: number;
  readonly back: number;
  /** Clients whose policy stopped them for good or until a user action: must be 0. */
  readonly gaveUp: number;
  readonly stoppedCodes: Record<string, number>;
}

const BLOCK = 40;
/** Clients connecting at once while the storm is being set up. */
const CONNECTING = 100;

/** The `ws` client as a browser-style WebSocket, leaving from `address` with the page's Origin. */
function socketFrom(address: string): WebSocketConstructor {
  class PageSocket extends WebSocket {
    constructor(url: string) {
      super(url, { origin: SHOP_ORIGIN, localAddress: address, perMessageDeflate: false });
      // A browser's close() of a socket still connecting just closes it; ws also emits 'error',
      // which throws when the SDK has already removed its listeners (its connect timeout does).
      // Listeners the SDK adds with addEventListener still get every error.
      this.on('error', () => undefined);
    }
  }
  return PageSocket;
}

interface Tracked {
  readonly client: PosternClient;
  state: ConnectionState;
  readyAt: number;
  stopCode: number | null;
}

/** Best count of events within any 1 s window. */
function peakPerSecond(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let from = 0;
  for (let to = 0; to < sorted.length; to++) {
    while ((sorted[to] as number) - (sorted[from] as number) > 1000) from += 1;
    best = Math.max(best, to - from + 1);
  }
  return best;
}

/** `time` of every `ws_ready` line of a Postern log. */
function readyTimes(log: string): number[] {
  const times: number[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes('"event":"ws_ready"')) continue;
    const time = /"time":(\d+)/.exec(line)?.[1];
    if (time !== undefined) times.push(Number(time));
  }
  return times;
}

export async function runStorm(options: BenchOptions): Promise<StormResult> {
  const { clients: count, capMs } = options.storm;
  const dir = scratchDir('storm');
  const setup = { dir, port: await freePort() };
  const site = await createSite(setup);
  let server: ServerProcess = await startPostern(setup);
  const tracked: Tracked[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const address = sourceAddress(BLOCK, i);
      const client = new PosternClient({
        serverUrl: `http://127.0.0.1:${setup.port}`,
        siteToken: site,
        storage: 'memory',
        WebSocket: socketFrom(address),
        fetch: fetchFrom(address, SHOP_ORIGIN),
        locks: null,
        page: null,
      });
      const entry: Tracked = { client, state: 'disconnected', readyAt: 0, stopCode: null };
      client.on('ready', () => {
        entry.readyAt = performance.now();
      });
      client.on('state', (change) => {
        entry.state = change.state;
        if (change.state === 'stopped') entry.stopCode = change.disconnect?.code ?? null;
      });
      // Reported refusals and passing failures are expected during a restart; counted by state.
      client.on('error', () => undefined);
      tracked.push(entry);
    }

    // The first connections are set-up, not the storm: at most CONNECTING at a time, so that
    // none of them times out and backs off before the measurement starts.
    const initialStart = performance.now();
    const initialDeadline = initialStart + capMs;
    let next = 0;
    while (performance.now() < initialDeadline) {
      const waiting = tracked.filter((entry) => entry.readyAt === 0);
      if (waiting.length === 0) break;
      const connecting = next - (count - waiting.length);
      for (; next < count && next - (count - waiting.length) < CONNECTING; next++) {
        (tracked[next] as Tracked).client.connect();
      }
      if (connecting >= CONNECTING || next >= count) await sleep(20);
    }
    const connected = tracked.filter((entry) => entry.readyAt > 0).length;
    const initialLast = Math.max(...tracked.map((entry) => entry.readyAt));
    const initialPerSec = connected / ((initialLast - initialStart) / 1000);
    await sleep(1000);

    const restartAt = performance.now();
    await server.stop('SIGTERM', 15_000);
    server = await startPostern(setup);
    const listeningAt = performance.now();
    const deadline = restartAt + capMs;
    const backNow = () => tracked.filter((entry) => entry.readyAt > restartAt).length;
    while (backNow() < count && performance.now() < deadline) {
      if (tracked.every((entry) => entry.readyAt > restartAt || entry.state === 'stopped')) break;
      await sleep(100);
    }
    const back = tracked.filter((entry) => entry.readyAt > restartAt);
    const last = Math.max(...back.map((entry) => entry.readyAt));
    const stopped = tracked.filter((entry) => entry.state === 'stopped');
    const stoppedCodes: Record<string, number> = {};
    for (const entry of stopped) {
      const code = String(entry.stopCode);
      stoppedCodes[code] = (stoppedCodes[code] ?? 0) + 1;
    }
    const allBack = back.length === count;
    return {
      clients: count,
      connected,
      initialPerSec: round(initialPerSec),
      restartMs: round(listeningAt - restartAt, 0),
      allBackMs: allBack ? round(last - restartAt, 0) : null,
      backAfterListeningMs: allBack ? round(last - listeningAt, 0) : null,
      peakPerSec: peakPerSecond(readyTimes(server.stdout())),
      peakPerSecClients: peakPerSecond(back.map((entry) => entry.readyAt)),
      back: back.length,
      gaveUp: stopped.length,
      stoppedCodes,
    };
  } finally {
    for (const entry of tracked) entry.client.disconnect();
    await sleep(200);
    await server.stop();
    removeScratch(dir);
  }
}
