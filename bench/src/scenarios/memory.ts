/**
 * Memory per idle authenticated connection: one server at a time holds `connections` sockets
 * that did their `auth` and got `ready` (answering heartbeats, sending nothing else).
 *
 * Method, the same for all three: warm the server up (a couple of hundred connections opened
 * and closed), force two full collections and read VmRSS (`before`); open the connections, let
 * the server settle (2 s), then three times 500 ms apart force two full collections and read
 * VmRSS, keeping the smallest (`after`). Per connection: (after − before) / connections, for RSS
 * and for the V8 heap. Postern's visitor sessions are created before `before`, so the figure is
 * the connections' alone.
 */
import type WebSocket from 'ws';
import { admitBare, admitSocketIo, fakeToken } from '../clients/baselines.js';
import { admitVisitor, newVisitor, type Visitor } from '../clients/postern.js';
import { closeAll, pool } from '../clients/socket.js';
import { CONTENDERS, type Contender, type PerContender, startBaseline } from '../contenders.js';
import { type HeapRow, heapGrowth } from '../heap-summary.js';
import { sourceAddress } from '../net.js';
import type { BenchOptions } from '../options.js';
import { createSite, startPostern } from '../postern-server.js';
import {
  freePort,
  type MemorySample,
  removeScratch,
  type ServerProcess,
  scratchDir,
  sleep,
} from '../processes.js';
import { round } from '../stats.js';

export interface MemoryRun {
  readonly connections: number;
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
  /** RSS growth per connection, KiB. */
  readonly rssKbPerConn: number;
  /** V8 heap growth per connection, KiB. */
  readonly heapKbPerConn: number;
  readonly errors: number;
}

export interface MemoryResult {
  readonly connections: number;
  readonly servers: PerContender<MemoryRun>;
  readonly firstErrors: string[];
  /** With `--profile`: what one Postern connection holds in the heap, by kind. */
  heap?: { readonly connections: number; readonly rows: HeapRow[] } | undefined;
}

/** Connections opened between the two heap snapshots (snapshots of 10,000 are unwieldy). */
const HEAP_CONNECTIONS = 2000;

/**
 * Two heap snapshots of the prepared Postern around `HEAP_CONNECTIONS` more connections, and
 * their difference per connection. Runs after the measurement, which it does not affect.
 */
async function heapPass(
  prepared: Prepared,
  dir: string,
  available: number,
): Promise<MemoryResult['heap']> {
  // Visitors whose measured sockets are closed by now; each may take one socket again.
  const count = Math.min(HEAP_CONNECTIONS, available);
  const before = `${dir}postern-before.heapsnapshot`;
  const after = `${dir}postern-after.heapsnapshot`;
  await prepared.server.heapSnapshot(before);
  const opened = await pool(count, 64, prepared.admit);
  await sleep(500);
  await prepared.server.heapSnapshot(after);
  await closeAll(opened.results);
  return {
    connections: opened.results.length,
    rows: heapGrowth(before, after, opened.results.length),
  };
}

const BLOCK: PerContender<number> = { postern: 30, ws: 31, socketio: 32 };
async function settledMemory(server: ServerProcess, samples: number): Promise<MemorySample> {
  let best: MemorySample | null = null;
  for (let i = 0; i < samples; i++) {
    const sample = await server.memory();
    if (best === null || sample.rss < best.rss) best = sample;
    await sleep(500);
  }
  return best as MemorySample;
}

interface Prepared {
  readonly name: Contender;
  readonly dir: string;
  readonly server: ServerProcess;
  readonly admit: (i: number) => Promise<WebSocket>;
}

/** Starts a server (Postern: with its visitors' sessions created), not yet measured. */
async function prepare(name: Contender, options: BenchOptions['memory']): Promise<Prepared> {
  const dir = scratchDir(`memory-${name}`);
  const count = options.connections;
  if (name === 'postern') {
    const setup = { dir, port: await freePort() };
    const site = await createSite(setup);
    const server = await startPostern(setup);
    const made = await pool(count + options.warmup, 64, (i) =>
      newVisitor(server.port, site, sourceAddress(BLOCK.postern, i)),
    );
    if (made.errors.length > 0) throw new Error(`sessions failed: ${made.errors[0]}`);
    const visitors: Visitor[] = made.results;
    return { name, dir, server, admit: (i) => admitVisitor(server.port, visitors[i] as Visitor) };
  }
  const server = await startBaseline(name, dir);
  const token = fakeToken(400);
  const admit =
    name === 'ws'
      ? (i: number) => admitBare(server.port, sourceAddress(BLOCK.ws, i), token)
      : (i: number) => admitSocketIo(server.port, sourceAddress(BLOCK.socketio, i), token);
  return { name, dir, server, admit };
}

async function measure(
  { name, server, admit }: Prepared,
  options: BenchOptions['memory'],
  firstErrors: string[],
): Promise<MemoryRun> {
  const count = options.connections;
  let sockets: WebSocket[] = [];
  try {
    // Warm-up connections use indices past the measured ones (Postern: visitors of their own).
    const warm = await pool(options.warmup, options.concurrency, (i) => admit(count + i));
    await closeAll(warm.results);
    await sleep(options.settleMs / 2);
    const before = await server.memory();
    const opened = await pool(count, options.concurrency, admit);
    sockets = opened.results;
    firstErrors.push(...opened.errors.slice(0, 2).map((e) => `${name}: ${e}`));
    await sleep(options.settleMs);
    const after = await settledMemory(server, options.samples);
    const held = sockets.length;
    return {
      connections: held,
      rssBeforeMb: round(before.rss / 2 ** 20),
      rssAfterMb: round(after.rss / 2 ** 20),
      rssKbPerConn: round((after.rss - before.rss) / 1024 / Math.max(1, held), 2),
      heapKbPerConn: round((after.heapUsed - before.heapUsed) / 1024 / Math.max(1, held), 2),
      errors: opened.errors.length,
    };
  } finally {
    await closeAll(sockets);
  }
}

export async function runMemory(
  options: BenchOptions,
  heapTo: string | null,
): Promise<MemoryResult> {
  const firstErrors: string[] = [];
  const servers = {} as PerContender<MemoryRun>;
  // Started together (start-up and sessions are not measured), measured one at a time.
  const prepared = await Promise.allSettled(
    CONTENDERS.map((name) => prepare(name, options.memory)),
  );
  try {
    for (const outcome of prepared) if (outcome.status === 'rejected') throw outcome.reason;
    for (const outcome of prepared) {
      if (outcome.status !== 'fulfilled') continue;
      servers[outcome.value.name] = await measure(outcome.value, options.memory, firstErrors);
    }
    const result: MemoryResult = { connections: options.memory.connections, servers, firstErrors };
    const postern = prepared.find(
      (outcome) => outcome.status === 'fulfilled' && outcome.value.name === 'postern',
    );
    if (heapTo !== null && postern?.status === 'fulfilled') {
      result.heap = await heapPass(postern.value, heapTo, options.memory.connections);
    }
    return result;
  } finally {
    for (const outcome of prepared) {
      if (outcome.status !== 'fulfilled') continue;
      await outcome.value.server.stop();
      removeScratch(outcome.value.dir);
    }
  }
}
