/**
 * Chat throughput: `rooms` dialogs, each with one visitor and one operator socket, both writing.
 *
 * Postern: every `send` is validated, authorised, committed to SQLite (group commit), acked to
 * the sender, then delivered to every socket of the dialog (the sender's own included) and
 * announced to the operator's feed. The baselines relay to the room's other socket and ack the
 * sender, keeping nothing. Latency is send → arrival at the peer, in the generator's clock.
 *
 * 1. Saturation: every socket keeps `window` messages in flight (a new one per ack) for
 *    `saturateMs`; the rate of acknowledged messages is the server's throughput.
 * 2. Latency against offered load: an open-loop sender at fixed rates (fractions of Postern's
 *    saturated rate, the same absolute rates for all three servers), spread over every socket.
 *
 * With `--profile`, one more Postern saturation run under the CPU profiler, not counted.
 */
import { randomUUID } from 'node:crypto';
import { bareRoom, fakeToken, socketIoRoom } from '../clients/baselines.js';
import { posternRoom } from '../clients/postern.js';
import { type ChatEndpoint, closeAll, pool } from '../clients/socket.js';
import { CONTENDERS, type PerContender, startBaseline } from '../contenders.js';
import type { BenchOptions } from '../options.js';
import { startPostern } from '../postern-server.js';
import { freePort, removeScratch, type ServerProcess, scratchDir, sleep } from '../processes.js';
import { percentile, round, startWindow } from '../stats.js';

export interface ChatRun {
  /** Offered messages per second (open loop), or `null` for the saturation run. */
  readonly offered: number | null;
  /** Acknowledged messages per second over the run. */
  readonly perSec: number;
  /** Messages that reached the peer per second. */
  readonly deliveredPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly sent: number;
  readonly acked: number;
  readonly delivered: number;
  readonly refused: number;
  readonly cpuMsPerMsg: number;
  readonly serverCpuPct: number;
  readonly generatorCpuPct: number;
}

export interface ChatResult {
  readonly rooms: number;
  readonly window: number;
  readonly saturated: PerContender<ChatRun>;
  readonly steps: { readonly offered: number; readonly runs: PerContender<ChatRun> }[];
  /** Every message sent in every run was acknowledged (committed, for Postern) and delivered. */
  readonly allAcked: PerContender<boolean>;
}

const BLOCK: PerContender<number> = { postern: 20, ws: 21, socketio: 22 };
/** A short chat line; the same bytes for every server. */
const TEXT = 'Is the blue one still in stock in size 42?';

interface Tally {
  sent: number;
  acked: number;
  delivered: number;
  refused: number;
  readonly latencies: number[];
  /** Tags sent and not yet acknowledged or refused. */
  readonly unanswered: Set<string>;
  /** Tags sent and not yet arrived at the peer, with their send time. */
  readonly sentAt: Map<string, number>;
}

/**
 * Wires every endpoint to a fresh tally; `next` is called after each answer (closed loop).
 * Answers to messages of an earlier run are not this run's and are ignored.
 */
function wire(endpoints: readonly ChatEndpoint[], next?: (e: ChatEndpoint) => void): Tally {
  const tally: Tally = {
    sent: 0,
    acked: 0,
    delivered: 0,
    refused: 0,
    latencies: [],
    unanswered: new Set(),
    sentAt: new Map(),
  };
  for (const endpoint of endpoints) {
    endpoint.onAck = (tag) => {
      if (!tally.unanswered.delete(tag)) return;
      tally.acked += 1;
      next?.(endpoint);
    };
    endpoint.onRefused = (tag) => {
      if (!tally.unanswered.delete(tag)) return;
      tally.refused += 1;
      next?.(endpoint);
    };
    endpoint.onPeer = (tag) => {
      const at = tally.sentAt.get(tag);
      if (at === undefined) return;
      tally.sentAt.delete(tag);
      tally.delivered += 1;
      tally.latencies.push(performance.now() - at);
    };
  }
  return tally;
}

function sendOne(tally: Tally, endpoint: ChatEndpoint): void {
  const tag = randomUUID();
  tally.sentAt.set(tag, performance.now());
  tally.unanswered.add(tag);
  tally.sent += 1;
  endpoint.send(tag, TEXT);
}

/**
 * Waits until every message was answered and delivered (or `ms` passed), so that no backlog of
 * one server runs on while the next is measured, and late messages count in the latencies.
 */
async function drain(tally: Tally, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (tally.unanswered.size === 0 && tally.sentAt.size === 0) return;
    await sleep(20);
  }
}

function summarise(
  tally: Tally,
  offered: number | null,
  counted: { acked: number; delivered: number; overMs: number },
  window: ReturnType<ReturnType<typeof startWindow>>,
): ChatRun {
  const seconds = counted.overMs / 1000;
  return {
    offered,
    perSec: round(counted.acked / seconds),
    deliveredPerSec: round(counted.delivered / seconds),
    p50Ms: round(percentile(tally.latencies, 50), 2),
    p99Ms: round(percentile(tally.latencies, 99), 2),
    sent: tally.sent,
    acked: tally.acked,
    delivered: tally.delivered,
    refused: tally.refused,
    cpuMsPerMsg: round(window.serverCpuMs / Math.max(1, tally.acked), 4),
    serverCpuPct: round((100 * window.serverCpuMs) / window.wallMs),
    generatorCpuPct: round((100 * window.generatorCpuMs) / window.wallMs),
  };
}

async function saturate(
  endpoints: readonly ChatEndpoint[],
  server: ServerProcess,
  options: BenchOptions['chat'],
): Promise<ChatRun> {
  let running = true;
  const tally = wire(endpoints, (endpoint) => {
    if (running) sendOne(tally, endpoint);
  });
  const stop = startWindow(server.cpuMs);
  for (const endpoint of endpoints)
    for (let i = 0; i < options.window; i++) sendOne(tally, endpoint);
  await sleep(options.saturateMs);
  running = false;
  const window = stop();
  const counted = { acked: tally.acked, delivered: tally.delivered, overMs: window.wallMs };
  await drain(tally, options.drainMs);
  return summarise(tally, null, counted, window);
}

async function offer(
  endpoints: readonly ChatEndpoint[],
  server: ServerProcess,
  rate: number,
  options: BenchOptions['chat'],
): Promise<ChatRun> {
  const tally = wire(endpoints);
  const stop = startWindow(server.cpuMs);
  const started = performance.now();
  let turn = 0;
  // Sends what is due every couple of milliseconds: the offered rate holds on average even when
  // a tick comes late, and each message's clock starts when it is really sent.
  while (performance.now() - started < options.stepMs) {
    const due = Math.floor((rate * (performance.now() - started)) / 1000) - tally.sent;
    for (let i = 0; i < due; i++) {
      sendOne(tally, endpoints[turn % endpoints.length] as ChatEndpoint);
      turn += 1;
    }
    await sleep(2);
  }
  // Throughput is what was acknowledged while sending; a server behind its offered load shows
  // it here, and its backlog in the latencies once drained.
  const counted = { acked: tally.acked, delivered: tally.delivered, overMs: options.stepMs };
  await drain(tally, options.drainMs);
  return summarise(tally, rate, counted, stop());
}

export async function runChat(
  options: BenchOptions,
  profileTo: string | null,
): Promise<ChatResult> {
  const chat = options.chat;
  const dir = scratchDir('chat');
  const setup = { dir, port: await freePort() };
  const [postern, ws, socketio] = await Promise.all([
    startPostern(setup),
    startBaseline('ws', dir),
    startBaseline('socketio', dir),
  ]);
  const servers: PerContender<ServerProcess> = { postern, ws, socketio };
  const token = fakeToken(400);
  const rooms: PerContender<ChatEndpoint[]> = { postern: [], ws: [], socketio: [] };
  try {
    const makers = {
      postern: (i: number) => posternRoom(postern.port, i, BLOCK.postern),
      ws: (i: number) => bareRoom(ws.port, i, BLOCK.ws, token),
      socketio: (i: number) => socketIoRoom(socketio.port, i, BLOCK.socketio, token),
    };
    await Promise.all(
      CONTENDERS.map(async (name) => {
        const made = await pool(chat.rooms, 8, makers[name]);
        if (made.errors.length > 0) throw new Error(`${name} rooms failed: ${made.errors[0]}`);
        rooms[name] = made.results.flat();
      }),
    );

    const complete: PerContender<boolean> = { postern: true, ws: true, socketio: true };
    const check = (name: keyof typeof complete, run: ChatRun) => {
      if (run.acked !== run.sent || run.delivered !== run.sent || run.refused > 0) {
        complete[name] = false;
      }
    };

    const saturated = {} as PerContender<ChatRun>;
    for (const name of CONTENDERS) {
      saturated[name] = await saturate(rooms[name], servers[name], chat);
      check(name, saturated[name]);
      await sleep(200);
    }

    const steps: ChatResult['steps'] = [];
    const reference = saturated.postern.perSec;
    for (const fraction of chat.loads) {
      // Round numbers, the same absolute offered load for every server.
      const rate = Math.max(10, Math.round((fraction * reference) / 10) * 10);
      const runs = {} as PerContender<ChatRun>;
      for (const name of CONTENDERS) {
        runs[name] = await offer(rooms[name], servers[name], rate, chat);
        check(name, runs[name]);
        await sleep(200);
      }
      steps.push({ offered: rate, runs });
    }
    if (profileTo !== null) {
      // One more saturation run of Postern under the profiler, not counted.
      await postern.profileStart();
      await saturate(rooms.postern, postern, chat);
      await postern.profileStop(profileTo);
    }
    return { rooms: chat.rooms, window: chat.window, saturated, steps, allAcked: complete };
  } finally {
    for (const name of CONTENDERS)
      await closeAll(
        rooms[name].map((endpoint) => endpoint.ws),
        3000,
      );
    await Promise.all(Object.values(servers).map((server) => server.stop()));
    removeScratch(dir);
  }
}
