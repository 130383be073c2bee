/**
 * Reading the metrics listener like Prometheus does: one scrape, parsed into families and the
 * label sets of their series.
 */
import type { Harness } from '../support/harness.js';

export interface Series {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Scrape {
  readonly text: string;
  /** Family name (as in `# TYPE`) → its series. */
  readonly families: ReadonlyMap<string, readonly Series[]>;
  /** Family name → its type (`counter`, `gauge`, `histogram` …). */
  readonly types: ReadonlyMap<string, string>;
}

const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const SUFFIXES = ['_bucket', '_sum', '_count'];

/** Parses the Prometheus text format (what prom-client writes; no timestamps). */
export function parseExposition(text: string): Scrape {
  const types = new Map<string, string>();
  const families = new Map<string, Series[]>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type?.[1] && type[2]) {
      types.set(type[1], type[2]);
      families.set(type[1], []);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match?.[1] || match[3] === undefined) throw new Error(`unparsable line: ${line}`);
    const name = match[1];
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) {
      if (key !== undefined && value !== undefined) labels[key] = value;
    }
    const family = types.has(name)
      ? name
      : SUFFIXES.map((suffix) => name.slice(0, -suffix.length)).find(
          (base, i) => name.endsWith(SUFFIXES[i] ?? '') && types.has(base),
        );
    if (family === undefined) throw new Error(`series without a family: ${line}`);
    families.get(family)?.push({ name, labels, value: Number(match[3]) });
  }
  return { text, families, types };
}

/** The metrics listener's address; throws when metrics are off. */
export function metricsUrl(harness: Harness): string {
  const address = harness.server.metricsAddress();
  if (address === null) throw new Error('metrics are off');
  return `http://${address.address}:${address.port}/metrics`;
}

export async function scrape(harness: Harness): Promise<Scrape> {
  const res = await fetch(metricsUrl(harness));
  if (res.status !== 200) throw new Error(`scrape answered ${res.status}`);
  return parseExposition(await res.text());
}

/** A family's label sets, each as a canonical string (`le` left out: buckets are fixed). */
export function labelSets(scraped: Scrape, family: string): Set<string> {
  const sets = new Set<string>();
  for (const series of scraped.families.get(family) ?? []) {
    const { le: _le, ...labels } = series.labels;
    sets.add(JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))));
  }
  return sets;
}

/** The sum of a family's series matching `labels` (counters and gauges). */
export function total(
  scraped: Scrape,
  family: string,
  labels: Record<string, string> = {},
): number {
  return (scraped.families.get(family) ?? [])
    .filter((series) => series.name === family)
    .filter((series) =>
      Object.entries(labels).every(([key, value]) => series.labels[key] === value),
    )
    .reduce((sum, series) => sum + series.value, 0);
}
