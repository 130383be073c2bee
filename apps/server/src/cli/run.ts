/**
 * The `postern` command line: finds the command, prints help, and turns every failure into one
 * line on stderr with an exit code — 2 for bad arguments, 1 for anything that went wrong after.
 */
import { CliError, UsageError } from './args.js';
import type { Command } from './command.js';
import { COMMANDS } from './commands.js';
import type { CliContext } from './context.js';

export const VERSION = '0.1.0';

/** Commands spelled as two words: `site create`, `visitor erase`. */
const GROUPS: ReadonlySet<string> = new Set(['site', 'visitor']);

function commandTable(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length)) + 2;
  return commands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`).join('\n');
}

export const USAGE = `Usage: postern <command> [options]

Commands:
${commandTable(COMMANDS)}

Every command reads the same POSTERN_* environment as the server (POSTERN_DB, the secrets…).
While a server runs, commands that touch the database go through its control socket.

Options:
  -h, --help     Show help for postern or a command ('postern revoke --help')
  -v, --version  Print the version
`;

function groupUsage(group: string): string {
  const commands = COMMANDS.filter((command) => command.name.startsWith(`${group} `));
  return `Usage: postern ${group} <command> [options]\n\nCommands:\n${commandTable(commands)}\n`;
}

const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h';

/** The command `argv` names, and the arguments that follow its name. */
function findCommand(argv: readonly string[]): { command: Command; args: readonly string[] } {
  const [first = '', second, ...rest] = argv;
  if (first.startsWith('-')) throw new UsageError(`unknown option '${first}'`);
  if (!GROUPS.has(first)) {
    const command = COMMANDS.find((candidate) => candidate.name === first);
    if (command === undefined) throw new UsageError(`unknown command '${first}'`);
    return { command, args: argv.slice(1) };
  }
  const subcommands = COMMANDS.filter((candidate) => candidate.name.startsWith(`${first} `));
  const names = subcommands.map((candidate) => candidate.name.slice(first.length + 1));
  if (second === undefined || second.startsWith('-')) {
    throw new UsageError(`${first} needs a command: ${names.join(' or ')}`, first);
  }
  const command = subcommands.find((candidate) => candidate.name === `${first} ${second}`);
  if (command === undefined) throw new UsageError(`unknown command '${first} ${second}'`, first);
  return { command, args: rest };
}

/** Runs the command line `argv` (without `node` and the script); resolves the exit code. */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const [first, second] = argv;
  if (first === undefined || isHelp(first) || first === 'help') {
    context.out(USAGE);
    return 0;
  }
  if (first === '--version' || first === '-v') {
    context.out(`${VERSION}\n`);
    return 0;
  }
  if (GROUPS.has(first) && isHelp(second)) {
    context.out(groupUsage(first));
    return 0;
  }
  let command: Command | undefined;
  try {
    const found = findCommand(argv);
    command = found.command;
    if (found.args.some(isHelp)) {
      context.out(command.usage);
      return 0;
    }
    await command.execute(found.args, context);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      const where = command === undefined ? '' : `${command.name}: `;
      const helpFor = error.helpFor ?? command?.name;
      const help = helpFor === undefined ? 'postern --help' : `postern ${helpFor} --help`;
      context.err(`postern: ${where}${error.message} (see '${help}')\n`);
      return 2;
    }
    // A CliError is an expected failure with its own message; anything else is shown the same
    // way (message only: a stack trace helps nobody running an operations command).
    const message = error instanceof CliError ? error.message : (error as Error).message;
    context.err(`postern: ${message}\n`);
    return 1;
  }
}
