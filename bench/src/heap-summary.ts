/**
 * What a set of connections holds in the V8 heap: two `.heapsnapshot` files (before and after
 * opening `count` connections), live bytes grouped by what V8 calls each object (constructor
 * name for objects, function name for closures, the node type otherwise), the difference divided
 * by `count`.
 *
 *   node bench/dist/heap-summary.js before.heapsnapshot after.heapsnapshot 2000
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
    };
  };
  readonly nodes: readonly number[];
  readonly strings: readonly string[];
}

export interface HeapRow {
  readonly name: string;
  /** Bytes per connection. */
  readonly bytes: number;
  /** Objects per connection. */
  readonly count: number;
}

/** Live bytes and object counts by kind. */
function totals(path: string): Map<string, { bytes: number; count: number }> {
  const data = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = data.snapshot.meta.node_fields;
  const types = data.snapshot.meta.node_types[0];
  const width = fields.length;
  const at = (field: string) => fields.indexOf(field);
  const [typeAt, nameAt, sizeAt] = [at('type'), at('name'), at('self_size')];
  const result = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < data.nodes.length; i += width) {
    const type = types[data.nodes[i + typeAt] as number] ?? '?';
    const name = data.strings[data.nodes[i + nameAt] as number] ?? '?';
    const key =
      type === 'object' || type === 'closure'
        ? `${name} (${type})`
        : type === 'string' || type === 'concatenated string' || type === 'sliced string'
          ? '(strings)'
          : `(${type}) ${type === 'hidden' || type === 'array' || type === 'code' ? name.slice(0, 40) : ''}`.trim();
    const entry = result.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += data.nodes[i + sizeAt] as number;
    entry.count += 1;
    result.set(key, entry);
  }
  return result;
}

/** Per-connection growth by kind, largest first. */
export function heapGrowth(before: string, after: string, count: number, top = 15): HeapRow[] {
  const a = totals(before);
  const b = totals(after);
  const rows: HeapRow[] = [];
  for (const [name, grown] of b) {
    const was = a.get(name) ?? { bytes: 0, count: 0 };
    rows.push({
      name,
      bytes: Math.round((grown.bytes - was.bytes) / count),
      count: Math.round(((grown.count - was.count) / count) * 10) / 10,
    });
  }
  return rows.sort((x, y) => y.bytes - x.bytes).slice(0, top);
}

export function heapMarkdown(rows: readonly HeapRow[]): string {
  const total = rows.reduce((sum, row) => sum + row.bytes, 0);
  return [
    '| held per connection | bytes | objects |',
    '| --- | ---: | ---: |',
    ...rows.map((row) => `| \`${row.name}\` | ${row.bytes} | ${row.count} |`),
    `| (these rows together) | ${total} | |`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [before, after, count] = process.argv.slice(2);
  if (!before || !after || !count) {
    console.error('usage: node heap-summary.js <before.heapsnapshot> <after.heapsnapshot> <count>');
    process.exit(2);
  }
  console.log(heapMarkdown(heapGrowth(before, after, Number(count), 25)));
}
