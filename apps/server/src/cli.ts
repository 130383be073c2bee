#!/usr/bin/env node
/**
 * `postern` command line. Each command has `--help`; unknown commands and options are refused
 * with a clear message and exit code 2.
 */
import { main } from './main.js';

const USAGE = `Usage: postern <command> [options]

Commands:
  serve        Run the server (configured by POSTERN_* environment variables)

Options:
  -h, --help     Show help for postern or a command
  -v, --version  Print the version
`;

const SERVE_USAGE = `Usage: postern serve

Runs the Postern server in the foreground. Configuration comes only from POSTERN_* environment
variables (see the server configuration table in the documentation). SIGTERM or Ctrl-C shuts it
down cleanly.
`;

const VERSION = '0.1.0';

function fail(message: string): never {
  process.stderr.write(`postern: ${message}\nRun 'postern --help' for usage.\n`);
  process.exit(2);
}

async function run(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  const wantsHelp = (args: readonly string[]) => args.includes('--help') || args.includes('-h');
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (command === 'serve') {
    if (wantsHelp(rest)) return void process.stdout.write(SERVE_USAGE);
    if (rest.length > 0) fail(`serve takes no arguments, got '${rest[0]}'`);
    return main();
  }
  fail(`unknown command '${command}'`);
}

await run(process.argv.slice(2));
