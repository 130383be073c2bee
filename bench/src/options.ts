/**
 * Command line of `pnpm bench`: every count and duration of a run, capped, in two sizes.
 *
 *   pnpm bench                  the full run (a few minutes)
 *   pnpm bench -- --quick       the same scenarios with small counts (under a minute)
 *   pnpm bench -- --profile     also CPU-profile Postern under the admission and chat loads
 *   pnpm bench -- --only=chat,memory
 */

export const SCENARIOS = ['admission', 'chat', 'memory', 'limiter', 'storm', 'size'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchOptions {
  readonly mode: 'full' | 'quick';
  readonly profile: boolean;
  readonly only: ReadonlySet<ScenarioName>;
  readonly admission: {
    readonly connections: number;
    readonly concurrency: number;
    /** Rounds per server, interleaved; the best round counts (noise only ever slows a run). */
    readonly rounds: number;
    readonly warmup: number;
  };
  readonly chat: {
    readonly rooms: number;
    /** Messages each socket keeps in flight in the saturation run. */
    readonly window: number;
    readonly saturateMs: number;
    /** Offered loads for the latency curve, as fractions of Postern's saturated rate. */
    readonly loads: readonly number[];
    readonly stepMs: number;
    /** After a run, how long its last messages may take to arrive (a cap, rarely reached). */
    readonly drainMs: number;
  };
  readonly memory: {
    readonly connections: number;
    readonly concurrency: number;
    readonly warmup: number;
    /** Wait after the last connection before sampling. */
    readonly settleMs: number;
    /** Samples 500 ms apart; the smallest RSS counts. */
    readonly samples: number;
  };
  readonly limiter: {
    readonly keys: number;
    readonly httpRequests: number;
    /** `POSTERN_LIMITER_MAX_KEYS` of the end-to-end check, well under `httpRequests`. */
    readonly httpMaxKeys: number;
    /** Also run the unbounded-map contrast. */
    readonly contrast: boolean;
  };
  readonly storm: { readonly clients: number; readonly capMs: number };
  readonly size: { readonly compare: boolean };
}

const FULL: Omit<BenchOptions, 'mode' | 'profile' | 'only'> = {
  admission: { connections: 2000, concurrency: 64, rounds: 2, warmup: 200 },
  chat: {
    rooms: 100,
    window: 4,
    saturateMs: 5000,
    loads: [0.1, 0.25, 0.5, 0.75, 1],
    stepMs: 4000,
    drainMs: 15_000,
  },
  memory: { connections: 10_000, concurrency: 128, warmup: 200, settleMs: 2000, samples: 3 },
  limiter: { keys: 1_000_000, httpRequests: 50_000, httpMaxKeys: 10_000, contrast: true },
  storm: { clients: 5000, capMs: 120_000 },
  size: { compare: true },
};

const QUICK: typeof FULL = {
  admission: { connections: 400, concurrency: 32, rounds: 1, warmup: 50 },
  chat: {
    rooms: 20,
    window: 4,
    saturateMs: 1000,
    loads: [0.25, 0.75],
    stepMs: 1000,
    drainMs: 5000,
  },
  memory: { connections: 600, concurrency: 64, warmup: 50, settleMs: 400, samples: 1 },
  limiter: { keys: 110_000, httpRequests: 3000, httpMaxKeys: 600, contrast: false },
  storm: { clients: 300, capMs: 30_000 },
  size: { compare: false },
};

export const USAGE = `Usage: pnpm bench [-- --quick] [--profile] [--only=${SCENARIOS.join(',')}]

  --quick      small counts, under a minute (no library comparison in the size table, no
               unbounded-map contrast in the limiter table)
  --profile    CPU-profile Postern under the admission and chat loads (bench/profiles/)
  --only=LIST  run only these scenarios`;

/** Parses the arguments; throws with a one-line message on anything unknown. */
export function parseOptions(args: readonly string[]): BenchOptions {
  let quick = false;
  let profile = false;
  let only: Set<ScenarioName> = new Set(SCENARIOS);
  for (const arg of args) {
    if (arg === '--') continue;
    if (arg === '--quick') quick = true;
    else if (arg === '--profile') profile = true;
    else if (arg.startsWith('--only=')) {
      const names = arg.slice('--only='.length).split(',');
      for (const name of names) {
        if (!(SCENARIOS as readonly string[]).includes(name)) {
          throw new Error(`unknown scenario "${name}"`);
        }
      }
      only = new Set(names as ScenarioName[]);
    } else {
      throw new Error(`unknown argument "${arg}"`);
    }
  }
  return { mode: quick ? 'quick' : 'full', profile, only, ...(quick ? QUICK : FULL) };
}
