/** `postern backup` and `postern restore`. */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  realpathSync,
  rmSync,
  statSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { requestControl } from '../control/client.js';
import { controlSocketPath } from '../control/protocol.js';
import { StoreLockedError } from '../store/sqlite.js';
import { RestoreSourceError, restoreDatabase } from '../store/sqlite-restore.js';
import { CliError } from './args.js';
import type { CommandRun } from './command.js';
import type { backupOptions, restoreOptions } from './commands.js';
import { loadCliConfig, perform } from './context.js';

export const runBackup: CommandRun<typeof backupOptions> = async (options, context) => {
  const out = resolve(context.cwd, options.out);
  const config = loadCliConfig(context);
  if (existsSync(out)) throw new CliError(`--out: ${out} exists; choose a new file`);
  if (!existsSync(dirname(out))) throw new CliError(`--out: ${dirname(out)} does not exist`);
  const { via } = await perform(
    config,
    context,
    { op: 'backup', path: out },
    // A large database takes as long as it takes; the server answers when the copy is whole.
    { create: false, timeoutMs: 0 },
  );
  const by = via === 'server' ? 'by the running server' : 'with no server running';
  context.out(`Backed up ${config.db} to ${out} (${statSync(out).size} bytes, ${by}).\n`);
};

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

export const runRestore: CommandRun<typeof restoreOptions> = async (options, context) => {
  const from = resolve(context.cwd, options.from);
  const config = loadCliConfig(context);
  const socket = controlSocketPath(config.db);
  if (socket === null)
    throw new CliError('POSTERN_DB is :memory:; there is nothing to restore into');
  const running = await requestControl(socket, { op: 'ping' }, 5_000).catch(() => ({}));
  if (running !== null) {
    throw new CliError('a server is running on POSTERN_DB; stop it before restoring');
  }
  if (!existsSync(from)) throw new CliError(`--from: ${from} does not exist`);
  if (sameFile(from, config.db)) throw new CliError('--from is POSTERN_DB itself');
  if (existsSync(config.db) && !options.force) {
    throw new CliError(
      `POSTERN_DB: ${config.db} exists; add --force to replace it (back it up first)`,
    );
  }
  // A new database holds every message: private from the start, like a backup.
  const created = !existsSync(config.db);
  if (created) {
    mkdirSync(dirname(config.db), { recursive: true });
    closeSync(openSync(config.db, 'wx', 0o600));
  }
  try {
    restoreDatabase(config.db, from);
  } catch (error) {
    if (created) rmSync(config.db, { force: true });
    if (error instanceof StoreLockedError) {
      throw new CliError('a server is running on POSTERN_DB; stop it before restoring');
    }
    if (error instanceof RestoreSourceError) throw new CliError(`--from: ${error.message}`);
    throw new CliError(`restore failed: ${(error as Error).message}`);
  }
  context.out(`Restored ${config.db} from ${from}.\n`);
};
