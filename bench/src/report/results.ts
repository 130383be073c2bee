/**
 * The run's results: what `bench/results.json` holds, the targets of the issue checked against
 * them, and the markdown tables printed at the end (and pasted into docs/benchmarks.md).
 */
import { LABEL } from '../contenders.js';
import type { ProfileSummary } from '../profile-summary.js';
import type { AdmissionResult } from '../scenarios/admission.js';
import type { ChatResult } from '../scenarios/chat.js';
import type { LimiterResult } from '../scenarios/limiter.js';
import type { MemoryResult } from '../scenarios/memory.js';
import type { SizeResult } from '../scenarios/size.js';
import type { StormResult } from '../scenarios/storm.js';

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly memoryGb: number;
  readonly kernel: string;
}

export interface Results {
  readonly mode: 'full' | 'quick';
  readonly startedAt: string;
  seconds: number;
  readonly command: string;
  readonly machine: Machine;
  admission?: AdmissionResult | undefined;
  chat?: ChatResult | undefined;
  memory?: MemoryResult | undefined;
  limiter?: LimiterResult | undefined;
  storm?: StormResult | undefined;
  size?: SizeResult | undefined;
  profiles?: { admission?: ProfileSummary; chat?: ProfileSummary };
  targets?: Target[];
}

export interface Target {
  readonly what: string;
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

const x = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : 'n/a');
const n = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : 'n/a';

export function checkTargets(results: Results): Target[] {
  const targets: Target[] = [];
  const { admission, memory, chat, limiter, storm } = results;
  if (admission) {
    const { postern, ws, socketio } = admission.best;
    targets.push(
      {
        what: 'admission vs bare ws',
        goal: '≥ 0.8×',
        measured: x(postern.perSec / ws.perSec),
        met: postern.perSec / ws.perSec >= 0.8,
      },
      {
        what: 'admission vs Socket.IO',
        goal: '≥ 1.5×',
        measured: x(postern.perSec / socketio.perSec),
        met: postern.perSec / socketio.perSec >= 1.5,
      },
    );
  }
  if (memory) {
    const { postern, ws } = memory.servers;
    targets.push({
      what: 'memory per idle connection vs bare ws',
      goal: '≤ 1.5×',
      measured: x(postern.rssKbPerConn / ws.rssKbPerConn),
      met: postern.rssKbPerConn / ws.rssKbPerConn <= 1.5,
    });
  }
  if (chat) {
    const ratio = chat.saturated.postern.perSec / chat.saturated.ws.perSec;
    targets.push({
      what: 'chat throughput vs bare relay, every message committed',
      goal: '≥ 0.5×, all acked',
      measured: `${x(ratio)}, ${chat.allAcked.postern ? 'all acked' : 'NOT all acked'}`,
      met: ratio >= 0.5 && chat.allAcked.postern,
    });
  }
  if (limiter) {
    const { bounded, boundedNetRssMb } = limiter;
    targets.push({
      what: `limiter growth, ${n(bounded.keys)} distinct client keys`,
      goal: '< 64 MB',
      measured: `RSS +${boundedNetRssMb} MB net of the loop's own (+${bounded.rssGrowthMb} MB raw), heap +${bounded.heapGrowthMb} MB`,
      met: boundedNetRssMb < 64 && bounded.heapGrowthMb < 64,
    });
  }
  if (storm) {
    targets.push({
      what: `reconnect storm, ${n(storm.clients)} clients`,
      goal: '0 gave up, all back',
      measured: `${storm.gaveUp} gave up, ${storm.back} back`,
      met: storm.gaveUp === 0 && storm.back === storm.clients,
    });
  }
  return targets;
}

/** Markdown: the comparison table, then one small table per scenario that has no baselines. */
export function markdown(results: Results): string {
  const out: string[] = [];
  const head = `| measure | ${LABEL.postern} | ${LABEL.ws} | ${LABEL.socketio} | Postern ÷ ws | Postern ÷ Socket.IO |`;
  const rows: string[] = [];
  const row = (measure: string, p: number, w: number, s: number, digits = 0, ratios = true) =>
    rows.push(
      `| ${measure} | ${n(p, digits)} | ${n(w, digits)} | ${n(s, digits)} | ${ratios ? x(p / w) : ''} | ${ratios ? x(p / s) : ''} |`,
    );
  const { admission, chat, memory, limiter, storm, size } = results;
  if (admission) {
    const { postern, ws, socketio } = admission.best;
    row(
      `Admission: authenticated connections/s (${n(admission.connections)}, ${admission.concurrency} in flight)`,
      postern.perSec,
      ws.perSec,
      socketio.perSec,
    );
    row(
      'Admission: server CPU ms per connection',
      postern.cpuMsPerConn,
      ws.cpuMsPerConn,
      socketio.cpuMsPerConn,
      3,
    );
  }
  if (chat) {
    const { postern, ws, socketio } = chat.saturated;
    row(
      `Chat: acked messages/s, saturated (${chat.rooms} dialogs × 2 sockets, ${chat.window} in flight each)`,
      postern.perSec,
      ws.perSec,
      socketio.perSec,
    );
    row('Chat: latency p50 ms, saturated', postern.p50Ms, ws.p50Ms, socketio.p50Ms, 2);
    row('Chat: latency p99 ms, saturated', postern.p99Ms, ws.p99Ms, socketio.p99Ms, 2);
    row(
      'Chat: server CPU ms per message',
      postern.cpuMsPerMsg,
      ws.cpuMsPerMsg,
      socketio.cpuMsPerMsg,
      3,
    );
  }
  if (memory) {
    const { postern, ws, socketio } = memory.servers;
    row(
      `Memory: RSS KiB per idle connection (${n(memory.connections)} held)`,
      postern.rssKbPerConn,
      ws.rssKbPerConn,
      socketio.rssKbPerConn,
      1,
    );
    row(
      'Memory: V8 heap KiB per idle connection',
      postern.heapKbPerConn,
      ws.heapKbPerConn,
      socketio.heapKbPerConn,
      1,
    );
  }
  if (rows.length > 0) out.push(head, '| --- | ---: | ---: | ---: | ---: | ---: |', ...rows, '');

  if (chat && chat.steps.length > 0) {
    out.push(
      '| offered msg/s | Postern p50 / p99 ms | bare ws p50 / p99 ms | Socket.IO p50 / p99 ms | Postern acked/s |',
      '| ---: | ---: | ---: | ---: | ---: |',
      ...chat.steps.map(({ offered, runs }) => {
        const cell = (run: (typeof runs)['postern']) => `${n(run.p50Ms, 2)} / ${n(run.p99Ms, 2)}`;
        return `| ${n(offered)} | ${cell(runs.postern)} | ${cell(runs.ws)} | ${cell(runs.socketio)} | ${n(runs.postern.perSec)} |`;
      }),
      '',
    );
  }
  if (admission) {
    out.push(
      `Postern visitor sessions created over HTTP while preparing: ${n(admission.sessionsPerSec)}/s.`,
      '',
    );
  }
  if (limiter) {
    const { bounded, unbounded, control, http } = limiter;
    out.push(
      '| limiter flood | keys | RSS growth | heap growth | table sizes |',
      '| --- | ---: | ---: | ---: | --- |',
      `| Postern rate tables, in process (3 per-IP limits over one store of client keys, max ${n(100_000)} keys) | ${n(bounded.keys)} | ${bounded.rssGrowthMb} MB | ${bounded.heapGrowthMb} MB | ${bounded.tables.map((t) => `${t.name} ${n(t.size)}`).join(', ')} |`,
      `| the same loop storing nothing (its own churn) | ${n(control.keys)} | ${control.rssGrowthMb} MB | ${control.heapGrowthMb} MB | |`,
      ...(unbounded
        ? [
            `| unbounded maps, same keys (for contrast) | ${n(unbounded.keys)} | ${unbounded.rssGrowthMb} MB | ${unbounded.heapGrowthMb} MB | ${unbounded.tables.map((t) => `${t.name} ${n(t.size)}`).join(', ')} |`,
          ]
        : []),
      `| built server, X-Forwarded-For via trusted proxy, \`POSTERN_LIMITER_MAX_KEYS=${n(http.maxKeys)}\`: growth once the table was full | ${n(http.requests)} | ${http.growthAfterFullMb} MB (${http.rssFullMb} → ${http.rssEndMb} MB) | ${http.heapGrowthAfterFullMb} MB | http ${http.httpTableKeys === null ? 'n/a' : n(http.httpTableKeys)} |`,
      '',
      `RSS growth (MB) at each tenth of the in-process flood: ${bounded.rssCurveMb.join(', ')}.`,
      '',
    );
  }
  if (storm) {
    out.push(
      '| reconnect storm | value |',
      '| --- | ---: |',
      `| clients (real \`PosternClient\`s) | ${n(storm.clients)} |`,
      `| ready before the restart | ${n(storm.connected)} (${n(storm.initialPerSec)}/s) |`,
      `| SIGTERM → new server listening | ${n(storm.restartMs)} ms |`,
      `| SIGTERM → all ready again | ${storm.allBackMs === null ? `not all (${storm.back} back)` : `${n(storm.allBackMs)} ms`} |`,
      `| peak re-admissions, best 1 s (server log; as the clients saw it) | ${n(storm.peakPerSec)}/s (${n(storm.peakPerSecClients)}/s) |`,
      `| gave up | ${storm.gaveUp} |`,
      '',
    );
  }
  if (size) {
    out.push(
      '| bundle (minified, all dependencies) | minified | gzip -9 |',
      '| --- | ---: | ---: |',
      ...size.rows.map((r) => `| ${r.bundle} | ${n(r.minBytes)} B | ${n(r.gzipBytes)} B |`),
      '',
    );
  }
  if (results.targets && results.targets.length > 0) {
    out.push(
      '| target | goal | measured | met |',
      '| --- | --- | --- | --- |',
      ...results.targets.map(
        (t) => `| ${t.what} | ${t.goal} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`,
      ),
      '',
    );
  }
  return out.join('\n');
}
