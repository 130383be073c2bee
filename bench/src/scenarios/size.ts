/**
 * SDK size: the widget SDK's own measurement (`packages/widget-sdk/scripts/size.mjs`, the one its
 * README and budget test use), run as is and read back — every bundle built and compressed the
 * same way there, nothing measured twice here. The full run takes its comparison table; `--quick`
 * takes Postern's two figures only (`--json`).
 */
import { fileURLToPath } from 'node:url';
import type { BenchOptions } from '../options.js';
import { runToEnd } from '../processes.js';

const SDK = fileURLToPath(new URL('../../../packages/widget-sdk/', import.meta.url));

export interface SizeRow {
  readonly bundle: string;
  readonly minBytes: number;
  readonly gzipBytes: number;
}

export interface SizeResult {
  readonly rows: SizeRow[];
}

const bytes = (cell: string) => Number(/([\d,]+) B/.exec(cell)?.[1]?.replace(/,/g, '') ?? 'NaN');

export async function runSize(options: BenchOptions): Promise<SizeResult> {
  if (!options.size.compare) {
    const out = await runToEnd(['scripts/size.mjs', '--json'], { cwd: SDK, timeoutMs: 120_000 });
    const json = JSON.parse(out) as Record<'core' | 'widget', { min: number; gzip: number }>;
    return {
      rows: [
        { bundle: 'Postern headless core', minBytes: json.core.min, gzipBytes: json.core.gzip },
        { bundle: 'Postern widget.js', minBytes: json.widget.min, gzipBytes: json.widget.gzip },
      ],
    };
  }
  const out = await runToEnd(['scripts/size.mjs'], { cwd: SDK, timeoutMs: 180_000 });
  const rows: SizeRow[] = [];
  for (const line of out.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    // | bundle | minified | gzip -9 |  →  ['', bundle, min, gzip, '']
    if (cells.length !== 5 || !/\d B/.test(cells[3] ?? '')) continue;
    rows.push({
      bundle: (cells[1] ?? '').replace(/`/g, ''),
      minBytes: bytes(cells[2] ?? ''),
      gzipBytes: bytes(cells[3] ?? ''),
    });
  }
  if (rows.length === 0) throw new Error(`size.mjs printed no table:\n${out}`);
  return { rows };
}
