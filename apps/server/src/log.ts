/**
 * Structured logs: one JSON object per line, written by `pino` behind the small {@link Logger}
 * interface the rest of the server uses (`log.info(event, fields)`).
 *
 * A line looks like
 * `{"level":"info","time":1700000000000,"session_id":"…","code":1000,"event":"ws_close"}`.
 *
 * Secrets are kept out in two layers: call sites never pass tokens, refresh tokens, URLs or query
 * strings (a test scans captured logs for them), and `redact` removes the fields that would hold
 * one, at the top level and one level down, should a future call site pass them anyway.
 */
import { pino } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, unknown>>;

/** The levels `POSTERN_LOG_LEVEL` accepts, most verbose first. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(['debug', 'info', 'warn', 'error']);

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/**
 * Field names that carry a credential or a raw request target. `url` and `query` are here because
 * the site token rides in the session request's query string (SPEC §3: logs record only its
 * `site_id`); `headers` because it holds `Authorization`.
 */
const SECRET_FIELDS = [
  'token',
  'refresh_token',
  'visitor_token',
  'site_token',
  'operator_token',
  'authorization',
  'cookie',
  'headers',
  'url',
  'query',
  'search',
];

export const REDACTED_PATHS: readonly string[] = Object.freeze([
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
]);

/** An `Error` as plain fields (JSON.stringify would drop everything but own enumerables). */
function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { name: value.name, message: value.message, code, stack: value.stack };
  }
  return value;
}

/**
 * A logger writing JSON lines at or above `level` through `write`, synchronously (a crash right
 * after a line must not lose it). `now` stamps `time` (ms since the epoch).
 *
 * @example createLogger((line) => process.stdout.write(line), config.logLevel)
 */
export function createLogger(
  write: (line: string) => void,
  level: LogLevel = 'info',
  now: () => number = Date.now,
): Logger {
  const instance = pino(
    {
      level,
      // No pid/hostname on every line: one process per database, and the host is the
      // collector's business.
      base: null,
      messageKey: 'event',
      timestamp: () => `,"time":${now()}`,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACTED_PATHS], remove: true },
    },
    { write },
  );
  const emit =
    (at: LogLevel) =>
    (event: string, fields: LogFields = {}) => {
      if (!instance.isLevelEnabled(at)) return;
      const entry: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(fields)) entry[key] = serialise(value);
      instance[at](entry, event);
    };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = createLogger(() => {}, 'error');
