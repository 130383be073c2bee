/**
 * What a `.cpuprofile` says, in three short tables: self time by function, time by area (a
 * server module folder, an npm package, Node internals, GC), and inclusive time by function (a
 * function and everything it calls, counted once per sample however deep the recursion).
 *
 *   node bench/dist/profile-summary.js bench/profiles/chat.cpuprofile [--top 20]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Row {
  readonly name: string;
  readonly ms: number;
  /** Share of the busy (non-idle) time, percent. */
  readonly pct: number;
}

export interface ProfileSummary {
  readonly busyMs: number;
  readonly idleMs: number;
  readonly self: Row[];
  readonly areas: Row[];
  readonly inclusive: Row[];
}

/** A short location: path inside the repository or inside its npm package. */
function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(
    path,
  );
  if (pkg) return `${pkg[1]}/${pkg[2]}`;
  const repo = /\/(apps|packages|bench)\/(.*)$/.exec(path);
  return repo ? `${repo[1]}/${repo[2]}` : path;
}

/** Where a frame's code lives, coarsely: what an optimisation would have to touch. */
function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return `npm: ${pkg[1]}`;
  const server = /apps\/server\/dist\/(?:([^/]+)\/)?[^/]+$/.exec(url);
  if (server) return `server: ${server[1] ?? '(top)'}`;
  const workspace = /packages\/([^/]+)\//.exec(url);
  if (workspace) return `@postern/${workspace[1]}`;
  return shortUrl(url);
}

function keyOf(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  return frame.url === '' ? name : `${name} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

const IDLE = new Set(['(idle)', '(program)', '(root)']);

function top(totals: Map<string, number>, busyMs: number, count: number): Row[] {
  return [...totals]
    .filter(([name]) => !IDLE.has(name))
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({
      name,
      ms: Math.round(us / 100) / 10,
      pct: Math.round(us / busyMs) / 10,
    }));
}

export function summariseProfile(path: string, count = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  const add = (map: Map<string, number>, key: string, us: number) =>
    map.set(key, (map.get(key) ?? 0) + us);

  profile.samples.forEach((id, i) => {
    // A sample lasts until the next one.
    const us = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(id);
    if (!node) return;
    if (IDLE.has(node.callFrame.functionName) && node.callFrame.url === '') {
      idleUs += us;
      return;
    }
    busyUs += us;
    add(self, keyOf(node.callFrame), us);
    add(areas, areaOf(node.callFrame), us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame || (frame.url === '' && IDLE.has(frame.functionName))) continue;
      const key = keyOf(frame);
      if (!seen.has(key)) {
        seen.add(key);
        add(inclusive, key, us);
      }
    }
  });
  const busyMs = busyUs / 1000;
  return {
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idleUs / 1000),
    self: top(self, busyMs, count),
    areas: top(areas, busyMs, count),
    inclusive: top(inclusive, busyMs, count),
  };
}

/** The summary as markdown tables. */
export function profileMarkdown(summary: ProfileSummary): string {
  const table = (title: string, rows: Row[]) =>
    [
      `| ${title} | ms | % of busy |`,
      '| --- | ---: | ---: |',
      ...rows.map((row) => `| \`${row.name}\` | ${row.ms} | ${row.pct} |`),
    ].join('\n');
  return [
    `busy ${summary.busyMs} ms, idle ${summary.idleMs} ms`,
    '',
    table('self time, by area', summary.areas),
    '',
    table('self time, by function', summary.self),
    '',
    table('inclusive time, by function', summary.inclusive),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, flag, value] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node profile-summary.js <file.cpuprofile> [--top N]');
    process.exit(2);
  }
  const count = flag === '--top' ? Number(value) : 15;
  console.log(profileMarkdown(summariseProfile(file, count)));
}
