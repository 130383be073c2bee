/**
 * Server configuration: parsed once from the environment into a frozen, typed object. Every
 * problem is collected, named by its variable and rule (never its value), and start-up stops.
 */
import { DEFAULTS } from '@postern/protocol';

export interface Config {
  readonly production: boolean;
  readonly port: number;
  readonly host: string | undefined;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly errors: readonly string[] };

type Env = Readonly<Record<string, string | undefined>>;

function readPort(env: Env, name: string, fallback: number, errors: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65_535) {
    errors.push(`${name}: must be an integer from 0 to 65535`);
    return fallback;
  }
  return Number(raw);
}

/** Parses the environment; never throws and never reads `process.env` itself. */
export function loadConfig(env: Env): ConfigResult {
  const errors: string[] = [];
  const config: Config = Object.freeze({
    production: env['NODE_ENV'] === 'production',
    port: readPort(env, 'POSTERN_PORT', DEFAULTS.POSTERN_PORT, errors),
    host: env['POSTERN_HOST'] || undefined,
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, config };
}
