/** A `postern` command: its help text, its options, and (loaded on demand) what it does. */
import { type OptionSpecs, type ParsedOptions, parseOptions } from './args.js';
import type { CliContext } from './context.js';

export interface Command {
  /** As typed: `revoke`, `site create`. */
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** The whole `--help` text. */
  readonly usage: string;
  /** Parses `argv` (after the command name), then loads the command and runs it. */
  execute(argv: readonly string[], context: CliContext): Promise<void>;
}

export type CommandRun<S extends OptionSpecs> = (
  options: ParsedOptions<S>,
  context: CliContext,
) => Promise<void>;

export interface CommandDefinition<S extends OptionSpecs> {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: S;
  /** Imports the implementation: only the command that runs pays for its modules. */
  readonly load: () => Promise<CommandRun<S>>;
}

export function defineCommand<S extends OptionSpecs>(definition: CommandDefinition<S>): Command {
  const { name, summary, usage } = definition;
  return {
    name,
    summary,
    usage,
    async execute(argv, context) {
      // Arguments first: a typo is reported before anything is loaded or touched.
      const options = parseOptions(argv, definition.options);
      const run = await definition.load();
      await run(options, context);
    },
  };
}
