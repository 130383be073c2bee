/** Small numeric helpers for the results. */

/** The `p`-th percentile (0–100) of `values` by nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** Rounds to `digits` decimals (keeps results.json readable). */
export function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

export const MB = 1024 * 1024;

/** A stopwatch over wall time and a server's CPU time. */
export interface Window {
  readonly wallMs: number;
  readonly serverCpuMs: number;
  readonly generatorCpuMs: number;
}

export function startWindow(serverCpuMs: () => number): () => Window {
  const wall = performance.now();
  const cpu = serverCpuMs();
  const generator = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(generator);
    return {
      wallMs: performance.now() - wall,
      serverCpuMs: serverCpuMs() - cpu,
      generatorCpuMs: (used.user + used.system) / 1000,
    };
  };
}
