/**
 * Run by the limiter scenario as `node --expose-gc limiter-child.js <keys> <mode>`,
 * in a process of its own so that nothing else lives in the heap it measures.
 *
 * `bounded`: Postern's real limiter modules from the built server — client-IP resolution behind
 * a trusted proxy (`compileTrust`, `resolveClientIp`, `clientKey`) and the three per-IP rate
 * limits a client touches, built as the server builds them (`createRateTables` for HTTP requests,
 * WebSocket attempts and new sessions over one store of client keys, with the default
 * `POSTERN_LIMITER_MAX_KEYS` and limits). Each key is a distinct
 * client address forwarded by a loopback proxy, as `X-Forwarded-For` would carry it.
 *
 * `unbounded`: the same keys into plain `Map`s of the same per-key counts, the way the audited
 * original kept them — for contrast only.
 *
 * `control`: the same keys resolved and derived, stored nowhere: what the loop itself costs (a
 * young generation grown by the churn of a million short-lived strings is resident memory too),
 * to subtract from the others.
 *
 * Prints one JSON object: memory after forced collections at ten checkpoints, table sizes and
 * evictions.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';

interface RateTable {
  hit(key: string): { readonly allowed: boolean };
  readonly size: number;
  readonly evictions: number;
}
interface RateTableModule {
  createRateTables(
    limits: Record<string, number>,
    options: { windowMs: number; maxKeys: number; now: () => number },
  ): Record<string, RateTable>;
}
interface ClientIpModule {
  compileTrust(entries: readonly string[]): (address: string) => boolean;
  resolveClientIp(
    socketAddress: string,
    forwardedFor: string,
    trust: (address: string) => boolean,
  ): { readonly ip: string };
  clientKey(ip: string, ipv6Prefix?: number): string;
}

const serverModule = (path: string) =>
  pathToFileURL(fileURLToPath(new URL(`../../apps/server/dist/${path}`, import.meta.url))).href;

/** The server's defaults (SPEC §5): 100,000 keys per table; 120, 60 and 10 per minute. */
const MAX_KEYS = 100_000;
const TABLES = [
  ['http', 120],
  ['conn', 60],
  ['session_ip', 10],
] as const;

/**
 * Distinct client addresses, one per /56 (the key Postern derives from an IPv6 address), in the
 * documentation prefix 2001:db8::/32: 2^24 of them before any repeats.
 */
function clientAddress(i: number): string {
  return `2001:db8:${((i >>> 8) & 0xffff).toString(16)}:${((i & 0xff) << 8).toString(16)}::1`;
}

const gc = (globalThis as { gc?: () => void }).gc;
function heap() {
  gc?.();
  gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

async function main(): Promise<void> {
  const keys = Number(process.argv[2]);
  const mode = process.argv[3];
  if (mode !== 'bounded' && mode !== 'unbounded' && mode !== 'control') throw new Error('bad mode');
  if (!Number.isInteger(keys) || keys <= 0 || keys > 2 ** 24) throw new Error('bad key count');
  const rate = (await import(serverModule('security/rate-table.js'))) as RateTableModule;
  const ip = (await import(serverModule('security/client-ip.js'))) as ClientIpModule;
  const trust = ip.compileTrust(['loopback']);
  const now = Date.now;
  const shared =
    mode === 'bounded'
      ? rate.createRateTables(Object.fromEntries(TABLES), {
          windowMs: 60_000,
          maxKeys: MAX_KEYS,
          now,
        })
      : null;
  const tables = shared ? TABLES.map(([name]) => shared[name] as RateTable) : null;
  const maps = mode === 'unbounded' ? TABLES.map(() => new Map<string, object>()) : null;

  const start = heap();
  const checkpoints: { keys: number; rss: number; heapUsed: number }[] = [];
  const every = Math.ceil(keys / 10);
  const began = performance.now();
  let checksum = 0;
  for (let i = 0; i < keys; i++) {
    const client = ip.resolveClientIp('127.0.0.1', clientAddress(i), trust);
    const key = ip.clientKey(client.ip);
    checksum += key.length;
    if (tables) for (const table of tables) table.hit(key);
    if (maps) {
      const t = now();
      for (const map of maps) map.set(key, { start: t, current: 1, previous: 0 });
    }
    if ((i + 1) % every === 0 || i + 1 === keys) checkpoints.push({ keys: i + 1, ...heap() });
  }
  const ms = performance.now() - began;
  process.stdout.write(
    `${JSON.stringify({
      mode,
      keys,
      checksum,
      ms,
      start,
      checkpoints,
      tables: TABLES.map(([name], i) => ({
        name,
        size: tables?.[i]?.size ?? maps?.[i]?.size ?? 0,
        evictions: tables?.[i]?.evictions ?? 0,
        maxKeys: tables ? MAX_KEYS : null,
      })),
    })}\n`,
  );
}

await main();
