/**
 * `pnpm bench`: Postern against a bare `ws` server and Socket.IO on this machine, every figure a
 * ratio against baselines run in the same invocation. This process is the load generator; each
 * server runs in a process of its own (see `processes.ts`) and is killed when this one exits.
 *
 * Writes bench/results.json and the latency chart (bench/results-latency.svg; a full run also
 * docs/benchmarks-latency.svg), and prints the tables.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { heapMarkdown } from './heap-summary.js';
import { type BenchOptions, parseOptions, type ScenarioName, USAGE } from './options.js';
import { requirePosternBuild } from './postern-server.js';
import { installCleanup } from './processes.js';
import { profileMarkdown, summariseProfile } from './profile-summary.js';
import { latencyChart } from './report/chart.js';
import { checkTargets, markdown, type Results } from './report/results.js';
import { runAdmission } from './scenarios/admission.js';
import { runChat } from './scenarios/chat.js';
import { runLimiter } from './scenarios/limiter.js';
import { runMemory } from './scenarios/memory.js';
import { runSize } from './scenarios/size.js';
import { runStorm } from './scenarios/storm.js';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const RESULTS = here('../results.json');
const CHART = here('../results-latency.svg');
const DOCS_CHART = here('../../docs/benchmarks-latency.svg');
const PROFILES = here('../profiles/');

/** Whole-run caps: a wedged scenario ends the run (and its servers) instead of hanging. */
const RUN_CAP_MS = { full: 15 * 60_000, quick: 3 * 60_000 };

function openFileLimits(): { soft: number; hard: number } {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  const value = (text: string | undefined) =>
    text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text);
  return { soft: value(match?.[1]), hard: value(match?.[2]) };
}

/**
 * Every held connection is a descriptor here and another in the server (which inherits this
 * limit). Below what the run needs, re-run under `ulimit -n <hard limit>` once.
 */
function ensureFileLimit(options: BenchOptions): void {
  const needed = Math.max(options.memory.connections, options.storm.clients) + 2000;
  const { soft, hard } = openFileLimits();
  if (soft >= needed) return;
  if (hard < needed) {
    throw new Error(`open-file limit ${hard} is below the ${needed} this run needs (ulimit -n)`);
  }
  if (process.env['POSTERN_BENCH_RELAUNCHED'] === '1') {
    throw new Error(`could not raise the open-file limit to ${needed}`);
  }
  const command = [process.execPath, ...process.execArgv, ...process.argv.slice(1)]
    .map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const child = spawnSync('bash', ['-c', `ulimit -n ${needed} && exec ${command}`], {
    stdio: 'inherit',
    env: { ...process.env, POSTERN_BENCH_RELAUNCHED: '1' },
  });
  process.exit(child.status ?? 1);
}

function machine(): Results['machine'] {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
  };
}

function progress(started: number, text: string): void {
  const s = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  console.error(`[${s} s] ${text}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return;
  }
  let options: BenchOptions;
  try {
    options = parseOptions(args);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  ensureFileLimit(options);
  requirePosternBuild();
  installCleanup();
  const cap = setTimeout(() => {
    console.error(`bench: over the ${RUN_CAP_MS[options.mode] / 60_000} min cap, stopping`);
    process.exit(1);
  }, RUN_CAP_MS[options.mode]);
  cap.unref();

  const started = performance.now();
  const results: Results = {
    mode: options.mode,
    startedAt: new Date().toISOString(),
    seconds: 0,
    command: `pnpm bench${args.length > 0 ? ` -- ${args.filter((a) => a !== '--').join(' ')}` : ''}`,
    machine: machine(),
  };
  const profilesDir = () => {
    mkdirSync(PROFILES, { recursive: true });
    return PROFILES;
  };
  const profile = (name: string) => (options.profile ? `${profilesDir()}${name}.cpuprofile` : null);
  const run = async <T>(name: ScenarioName, fn: () => Promise<T>): Promise<T | undefined> => {
    if (!options.only.has(name)) return undefined;
    progress(started, `${name}…`);
    const value = await fn();
    progress(started, `${name} done`);
    return value;
  };

  const admissionProfile = profile('admission');
  const chatProfile = profile('chat');
  results.admission = await run('admission', () => runAdmission(options, admissionProfile));
  results.chat = await run('chat', () => runChat(options, chatProfile));
  const heapTo = options.profile ? profilesDir() : null;
  results.memory = await run('memory', () => runMemory(options, heapTo));
  results.limiter = await run('limiter', () => runLimiter(options));
  results.storm = await run('storm', () => runStorm(options));
  results.size = await run('size', () => runSize(options));
  if (options.profile) {
    results.profiles = {
      ...(results.admission && admissionProfile
        ? { admission: summariseProfile(admissionProfile) }
        : {}),
      ...(results.chat && chatProfile ? { chat: summariseProfile(chatProfile) } : {}),
    };
  }
  results.targets = checkTargets(results);
  results.seconds = Math.round((performance.now() - started) / 1000);

  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  if (results.chat) {
    const chart = latencyChart(
      results.chat,
      `${results.chat.rooms} dialogs × (visitor + operator), ${results.machine.cpus} cores, ` +
        `Node ${results.machine.node}, ${results.startedAt.slice(0, 10)} (${results.mode} run)`,
    );
    writeFileSync(CHART, chart);
    if (options.mode === 'full' && options.only.has('chat')) writeFileSync(DOCS_CHART, chart);
  }
  const { machine: m } = results;
  console.log(
    `\n## Postern benchmarks (${results.mode} run, ${results.seconds} s)\n\n` +
      `${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, Node ${m.node}, Linux ${m.kernel}; ${results.startedAt}\n`,
  );
  console.log(markdown(results));
  if (results.profiles) {
    for (const [name, summary] of Object.entries(results.profiles)) {
      console.log(`### CPU profile of Postern, ${name}\n\n${profileMarkdown(summary)}\n`);
    }
    if (results.memory?.heap) {
      console.log(
        `### Heap held per Postern connection (${results.memory.heap.connections} connections)\n\n` +
          `${heapMarkdown(results.memory.heap.rows)}\n`,
      );
    }
    console.log(`Profiles and heap snapshots in ${PROFILES}.`);
  }
  console.log(`Results written to ${RESULTS}.`);
  // Clients' timers (heartbeats, retries) must not keep the process alive.
  process.exit(0);
}

await main();
