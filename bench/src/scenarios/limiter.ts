/**
 * Limiter memory under a flood of distinct client keys.
 *
 * 1. In-process, at full scale: `keys` distinct forwarded client addresses through Postern's
 *    real client-IP and rate-table modules (see `limiter-child.ts`), RSS and heap after forced
 *    collections at ten checkpoints; the same keys into unbounded maps for contrast, and the
 *    same loop storing nothing, whose own resident growth is subtracted.
 * 2. End to end, smaller: the built server behind a trusted loopback proxy
 *    (`POSTERN_TRUSTED_PROXIES=loopback`) with `POSTERN_LIMITER_MAX_KEYS` set low, preflights
 *    each carrying a new `X-Forwarded-For` address (from 198.18.0.0/15, the benchmarking range).
 *    Server RSS and heap once the HTTP table is full and again after five times as many keys,
 *    and the table's size as `/metrics` reports it.
 */

import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { pool } from '../clients/socket.js';
import { httpCall } from '../net.js';
import type { BenchOptions } from '../options.js';
import { SHOP_ORIGIN, startPostern } from '../postern-server.js';
import { freePort, removeScratch, runToEnd, scratchDir, sleep } from '../processes.js';
import { MB, round } from '../stats.js';

const CHILD = fileURLToPath(new URL('../limiter-child.js', import.meta.url));

interface ChildReport {
  readonly keys: number;
  readonly ms: number;
  readonly start: { readonly rss: number; readonly heapUsed: number };
  readonly checkpoints: {
    readonly keys: number;
    readonly rss: number;
    readonly heapUsed: number;
  }[];
  readonly tables: { readonly name: string; readonly size: number; readonly evictions: number }[];
}

export interface InProcessRun {
  readonly keys: number;
  readonly seconds: number;
  readonly rssGrowthMb: number;
  readonly heapGrowthMb: number;
  /** RSS growth at each tenth of the keys, MB. */
  readonly rssCurveMb: number[];
  readonly tables: ChildReport['tables'];
}

export interface LimiterResult {
  readonly bounded: InProcessRun;
  /** Plain maps, for contrast (full runs only). */
  readonly unbounded: InProcessRun | null;
  /** The same loop storing nothing: its own resident growth, subtracted below. */
  readonly control: InProcessRun;
  /** Bounded minus control: what the rate tables themselves hold on to, MB. */
  readonly boundedNetRssMb: number;
  readonly http: {
    readonly requests: number;
    readonly maxKeys: number;
    readonly rssFullMb: number;
    readonly rssEndMb: number;
    readonly growthAfterFullMb: number;
    /** V8 heap growth over the same span: per-key state would show here. */
    readonly heapGrowthAfterFullMb: number;
    readonly httpTableKeys: number | null;
    readonly refused: number;
  };
}

async function inProcess(
  keys: number,
  mode: 'bounded' | 'unbounded' | 'control',
): Promise<InProcessRun> {
  const out = await runToEnd(['--expose-gc', CHILD, String(keys), mode], { timeoutMs: 180_000 });
  const report = JSON.parse(out) as ChildReport;
  const last = report.checkpoints[report.checkpoints.length - 1] ?? report.start;
  return {
    keys: report.keys,
    seconds: round(report.ms / 1000),
    rssGrowthMb: round((last.rss - report.start.rss) / MB),
    heapGrowthMb: round((last.heapUsed - report.start.heapUsed) / MB),
    rssCurveMb: report.checkpoints.map((point) => round((point.rss - report.start.rss) / MB)),
    tables: report.tables,
  };
}

/** The n-th address of 198.18.0.0/15. */
function benchmarkingAddress(n: number): string {
  return `198.${18 + ((n >>> 16) & 1)}.${(n >>> 8) & 255}.${n & 255}`;
}

async function overHttp(options: BenchOptions['limiter']): Promise<LimiterResult['http']> {
  const dir = scratchDir('limiter');
  const metricsPort = await freePort();
  const server = await startPostern({
    dir,
    port: await freePort(),
    extraEnv: {
      POSTERN_TRUSTED_PROXIES: 'loopback',
      POSTERN_LIMITER_MAX_KEYS: String(options.httpMaxKeys),
      POSTERN_METRICS_PORT: String(metricsPort),
    },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  let refused = 0;
  const preflight = async (n: number) => {
    const answer = await httpCall({
      port: server.port,
      method: 'OPTIONS',
      path: '/v1/widget/session',
      headers: {
        origin: SHOP_ORIGIN,
        'access-control-request-method': 'POST',
        'x-forwarded-for': benchmarkingAddress(n),
      },
      localAddress: '127.0.0.1',
      agent,
    });
    if (answer.status !== 204) refused += 1;
  };
  try {
    const total = Math.min(options.httpRequests, 2 ** 17);
    await pool(options.httpMaxKeys, 32, preflight);
    await sleep(300);
    const full = await server.memory();
    await pool(total - options.httpMaxKeys, 32, (i) => preflight(options.httpMaxKeys + i));
    await sleep(300);
    const end = await server.memory();
    const metrics = await httpCall({ port: metricsPort, path: '/metrics' });
    const size = /^postern_limiter_keys\{table="http"\} (\d+)/m.exec(metrics.text)?.[1];
    return {
      requests: total,
      maxKeys: options.httpMaxKeys,
      rssFullMb: round(full.rss / MB),
      rssEndMb: round(end.rss / MB),
      growthAfterFullMb: round((end.rss - full.rss) / MB),
      heapGrowthAfterFullMb: round((end.heapUsed - full.heapUsed) / MB),
      httpTableKeys: size === undefined ? null : Number(size),
      refused,
    };
  } finally {
    agent.destroy();
    await server.stop();
    removeScratch(dir);
  }
}

export async function runLimiter(options: BenchOptions): Promise<LimiterResult> {
  const { keys } = options.limiter;
  const bounded = await inProcess(keys, 'bounded');
  const unbounded = options.limiter.contrast ? await inProcess(keys, 'unbounded') : null;
  // The loop's own growth levels off within the first hundred thousand keys.
  const control = await inProcess(Math.min(keys, 200_000), 'control');
  const http = await overHttp(options.limiter);
  const boundedNetRssMb = round(bounded.rssGrowthMb - control.rssGrowthMb);
  return { bounded, unbounded, control, boundedNetRssMb, http };
}
