/**
 * Command-line options: `--name value` or `--name=value`, each at most once, nothing positional.
 * Every mistake is a `UsageError` (exit code 2) naming the option, never a guess.
 */

/** Bad arguments: exit code 2. */
export class UsageError extends Error {
  /** The command whose help to point at, when not the one being run (`site` for `site foo`). */
  readonly helpFor: string | undefined;

  constructor(message: string, helpFor?: string) {
    super(message);
    this.name = 'UsageError';
    this.helpFor = helpFor;
  }
}

/** A failure while doing what was asked (configuration, database, server): exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  /** A string option that must be given. */
  readonly required?: boolean;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export type ParsedOptions<S extends OptionSpecs> = {
  readonly [K in keyof S]: S[K]['type'] extends 'boolean'
    ? boolean
    : S[K]['required'] extends true
      ? string
      : string | undefined;
};

/** Parses `argv` against `specs` (keys are the option names without `--`). */
export function parseOptions<S extends OptionSpecs>(
  argv: readonly string[],
  specs: S,
): ParsedOptions<S> {
  const values: Record<string, string | boolean> = {};
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] as string;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument '${arg}'`);
    const equals = arg.indexOf('=');
    const name = arg.slice(2, equals === -1 ? undefined : equals);
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (spec === undefined) throw new UsageError(`unknown option '--${name}'`);
    if (Object.hasOwn(values, name)) throw new UsageError(`--${name} is given twice`);
    if (spec.type === 'boolean') {
      if (equals !== -1) throw new UsageError(`--${name} takes no value`);
      values[name] = true;
      continue;
    }
    let value: string | undefined;
    if (equals !== -1) value = arg.slice(equals + 1);
    else {
      value = argv[index + 1];
      // `--domains --json` is a forgotten value, not a domain called "--json".
      if (value === undefined || value.startsWith('--')) {
        throw new UsageError(`--${name} needs a value`);
      }
      index += 1;
    }
    if (value.length === 0) throw new UsageError(`--${name} needs a value`);
    values[name] = value;
  }
  const parsed: Record<string, string | boolean | undefined> = {};
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && values[name] === undefined) throw new UsageError(`--${name} is required`);
    parsed[name] = values[name] ?? (spec.type === 'boolean' ? false : undefined);
  }
  return parsed as ParsedOptions<S>;
}

/** A comma list, entries trimmed; an empty entry stays, so that it is refused by its rule. */
export function commaList(value: string): string[] {
  return value.split(',').map((entry) => entry.trim());
}

const DURATION = /^(\d{1,9})([smhd]?)$/;
const UNIT_SECONDS: Readonly<Record<string, number>> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/**
 * A duration in whole seconds: `90d`, `12h`, `30m`, `45s` or plain seconds; from 1 to `maxS`.
 * `describeMax` says the bound in the error message.
 */
export function parseDuration(value: string, name: string, maxS: number, describeMax: string) {
  const match = DURATION.exec(value);
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] ?? ''] ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    throw new UsageError(`--${name} must be a duration like 90d, 12h, 30m or 3600 (seconds)`);
  }
  if (seconds > maxS) throw new UsageError(`--${name} must be at most ${describeMax}`);
  return seconds;
}
