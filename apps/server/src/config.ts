/**
 * Server configuration: parsed once from the environment into a frozen, typed object (SPEC §6).
 * Every problem is collected and named by its variable and rule — never its value — and start-up
 * stops. This is the only module that reads environment variables (the caller passes them in).
 */
import { DEFAULT_DB, DEFAULT_ISSUER, type LimitName } from '@postern/protocol';
import { ASSISTANT_KINDS, type AssistantKind, defaultAssistantKind } from './assistant/index.js';
import { INTEGER_RULES, type IntegerRule } from './config-rules.js';
import { LOG_LEVELS, type LogLevel } from './log.js';
import { compileTrust, type TrustPredicate } from './security/client-ip.js';
import { compileOriginList } from './security/origins.js';
import type { KeySet } from './security/tokens.js';
import { readTlsCredentials, type TlsCredentials } from './tls.js';

export type SecretName = 'site' | 'visitor' | 'operator';

export interface Config {
  readonly production: boolean;
  readonly port: number;
  readonly host: string | undefined;
  /** SQLite path or `:memory:`. */
  readonly db: string;
  readonly issuer: string;
  /** `null` where the secret was not set (outside production only; filled by dev secrets). */
  readonly secrets: { readonly [K in SecretName]: KeySet | null };
  /** Origins allowed on app routes and `/v1/ws/app`, normalised. */
  readonly appOrigins: { has(origin: string): boolean; readonly size: number };
  readonly appAllowNoOrigin: boolean;
  readonly trustProxy: TrustPredicate;
  /** Metrics listener port, or `null` when metrics are off. */
  readonly metricsPort: number | null;
  readonly metricsHost: string;
  /** Certificate and key of the public port (`POSTERN_TLS_*_FILE`), or `null` for plain HTTP. */
  readonly tls: TlsCredentials | null;
  /** `POSTERN_LOG_LEVEL`: lines below it are not written. */
  readonly logLevel: LogLevel;
  /** `POSTERN_DB_SYNC`: `normal` survives a process crash, `full` a power loss too. */
  readonly dbSync: 'normal' | 'full';
  readonly assistant: AssistantConfig;
  /** Every numeric limit, by variable name. */
  readonly limits: Readonly<Record<LimitName, number>>;
}

/** Who answers visitors (SPEC §4 "Assistant"). */
export type AssistantConfig =
  | { readonly kind: 'demo' | 'none' }
  | { readonly kind: 'webhook'; readonly url: string; readonly secret: Uint8Array };

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadOptions {
  /** Reads a `*_FILE` secret; throws when unreadable. */
  readonly readFile: (path: string) => Buffer;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: Config; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

/** Secrets shorter than this are refused in production (HS256 key, RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;

const SECRET_VARIABLES: { readonly [K in SecretName]: string } = {
  site: 'POSTERN_SITE_SECRET',
  visitor: 'POSTERN_SECRET',
  operator: 'POSTERN_OPERATOR_SECRET',
};

/** Collects problems: errors stop start-up; warnings are printed and start-up goes on. */
class Problems {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  /** Variables with an error already, so one mistake is reported once, not as a cascade. */
  readonly #reported = new Set<string>();

  constructor(readonly production: boolean) {}

  error(name: string, rule: string): void {
    this.#reported.add(name);
    this.errors.push(`${name}: ${rule}`);
  }

  reported(name: string): boolean {
    return this.#reported.has(name);
  }

  /** Unparsable values stop a production start; elsewhere the default is used, with a warning. */
  unparsable(name: string, rule: string): void {
    if (this.production) this.error(name, rule);
    else this.warnings.push(`${name}: ${rule}; using the default`);
  }
}

function present(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function readInteger(env: Env, name: string, rule: IntegerRule, problems: Problems): number {
  const raw = present(env, name);
  if (raw === undefined) return rule.fallback;
  const value = /^-?\d{1,16}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < rule.min || value > rule.max) {
    problems.unparsable(name, `must be an integer from ${rule.min} to ${rule.max}`);
    return rule.fallback;
  }
  return value;
}

function readFlag(env: Env, name: string, problems: Problems): boolean {
  const raw = present(env, name);
  if (raw === undefined) return false;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  problems.unparsable(name, 'must be 1 or 0');
  return false;
}

function readList(env: Env, name: string): string[] {
  return (present(env, name) ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

/** Reads `NAME` or `NAME_FILE` (never both); the file loses one trailing newline (SPEC §2). */
function readSecretValue(
  env: Env,
  name: string,
  options: LoadOptions,
  problems: Problems,
): Uint8Array | undefined {
  const inline = present(env, name);
  const file = present(env, `${name}_FILE`);
  if (inline !== undefined && file !== undefined) {
    problems.error(name, `set either ${name} or ${name}_FILE, not both`);
    return undefined;
  }
  if (inline !== undefined) return new TextEncoder().encode(inline);
  if (file === undefined) return undefined;
  let bytes: Buffer;
  try {
    bytes = options.readFile(file);
  } catch {
    problems.error(`${name}_FILE`, 'file cannot be read');
    return undefined;
  }
  const end = bytes.at(-1) === 0x0a ? (bytes.at(-2) === 0x0d ? -2 : -1) : bytes.length;
  return new Uint8Array(bytes.subarray(0, end));
}

function checkLength(name: string, key: Uint8Array, problems: Problems): void {
  // A short HMAC key can be brute-forced offline from any token (RFC 7518 §3.2: ≥ 256 bits).
  if (problems.production && key.length < MIN_SECRET_BYTES) {
    problems.error(name, `must be at least ${MIN_SECRET_BYTES} bytes`);
  } else if (key.length === 0) {
    // Only a file can give an empty value (an empty variable counts as unset).
    problems.error(name, 'must not be empty');
  }
}

function readKeySet(
  env: Env,
  name: string,
  options: LoadOptions,
  problems: Problems,
): KeySet | null {
  const current = readSecretValue(env, name, options, problems);
  const previous = readSecretValue(env, `${name}_PREVIOUS`, options, problems);
  if (current === undefined) {
    if (previous !== undefined) problems.error(`${name}_PREVIOUS`, `needs ${name} to be set`);
    return null;
  }
  checkLength(name, current, problems);
  if (previous === undefined) return { current };
  checkLength(`${name}_PREVIOUS`, previous, problems);
  return { current, previous };
}

function readSecrets(env: Env, options: LoadOptions, problems: Problems): Config['secrets'] {
  const site = readKeySet(env, SECRET_VARIABLES.site, options, problems);
  const visitor = readKeySet(env, SECRET_VARIABLES.visitor, options, problems);
  let operator = readKeySet(env, SECRET_VARIABLES.operator, options, problems);
  if (operator === null && visitor !== null) {
    operator = visitor;
    if (problems.production) {
      problems.warnings.push(
        'POSTERN_OPERATOR_SECRET: not set; operator tokens are signed with POSTERN_SECRET',
      );
    }
  }
  if (problems.production) {
    // Production never runs on generated keys: they would differ per machine and restart.
    // A secret given but unusable (both forms, unreadable file) has its own error already.
    for (const [name, keys] of [
      [SECRET_VARIABLES.site, site],
      [SECRET_VARIABLES.visitor, visitor],
    ] as const) {
      if (keys === null && !problems.reported(name) && !problems.reported(`${name}_FILE`)) {
        problems.error(name, 'is required in production');
      }
    }
  }
  return { site, visitor, operator };
}

function readIssuer(env: Env, problems: Problems): string {
  const issuer = present(env, 'POSTERN_ISSUER') ?? DEFAULT_ISSUER;
  if (!/^[\x21-\x7e]{1,128}$/.test(issuer)) {
    problems.unparsable('POSTERN_ISSUER', 'must be 1 to 128 printable ASCII characters');
    return DEFAULT_ISSUER;
  }
  return issuer;
}

/** Marks an unparsable metrics port: its default is "off", never a port of its own. */
const METRICS_OFF = -1;

function readMetricsPort(env: Env, publicPort: number, problems: Problems): number | null {
  if (present(env, 'POSTERN_METRICS_PORT') === undefined) return null;
  const rule = { fallback: METRICS_OFF, min: 0, max: 65_535 };
  const port = readInteger(env, 'POSTERN_METRICS_PORT', rule, problems);
  if (port === METRICS_OFF) return null;
  // Metrics are never served on the public port (SPEC §3).
  if (port !== 0 && port === publicPort) {
    problems.error('POSTERN_METRICS_PORT', 'must differ from POSTERN_PORT');
    return null;
  }
  return port;
}

function readLogLevel(env: Env, problems: Problems): LogLevel {
  const raw = present(env, 'POSTERN_LOG_LEVEL');
  if (raw === undefined) return 'info';
  if ((LOG_LEVELS as readonly string[]).includes(raw)) return raw as LogLevel;
  problems.unparsable('POSTERN_LOG_LEVEL', 'must be debug, info, warn or error');
  return 'info';
}

function readDbSync(env: Env, problems: Problems): 'normal' | 'full' {
  const raw = present(env, 'POSTERN_DB_SYNC');
  if (raw === undefined || raw === 'normal') return 'normal';
  if (raw === 'full') return 'full';
  problems.unparsable('POSTERN_DB_SYNC', 'must be normal or full');
  return 'normal';
}

function readWebhookUrl(env: Env, problems: Problems): string | undefined {
  const raw = present(env, 'POSTERN_ASSISTANT_WEBHOOK_URL');
  if (raw === undefined) return undefined;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    url = null;
  }
  // Credentials in the URL would end up in logs and proxies; the body is signed instead.
  if (
    url === null ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.username !== '' ||
    url.password !== ''
  ) {
    problems.error('POSTERN_ASSISTANT_WEBHOOK_URL', 'must be an http(s) URL without credentials');
    return undefined;
  }
  return url.href;
}

function readAssistant(env: Env, options: LoadOptions, problems: Problems): AssistantConfig {
  const url = readWebhookUrl(env, problems);
  const raw = present(env, 'POSTERN_ASSISTANT');
  let kind: AssistantKind = defaultAssistantKind(url);
  if (raw !== undefined) {
    if ((ASSISTANT_KINDS as readonly string[]).includes(raw)) kind = raw as AssistantKind;
    // A typo here would silently change who answers visitors: always an error.
    else problems.error('POSTERN_ASSISTANT', 'must be demo, webhook or none');
  }
  const secret = readSecretValue(env, 'POSTERN_ASSISTANT_WEBHOOK_SECRET', options, problems);
  if (kind !== 'webhook') return { kind };
  if (url === undefined) {
    if (!problems.reported('POSTERN_ASSISTANT_WEBHOOK_URL')) {
      problems.error('POSTERN_ASSISTANT_WEBHOOK_URL', 'is required by POSTERN_ASSISTANT=webhook');
    }
    return { kind: 'none' };
  }
  if (secret === undefined) {
    const name = 'POSTERN_ASSISTANT_WEBHOOK_SECRET';
    if (!problems.reported(name) && !problems.reported(`${name}_FILE`)) {
      problems.error(name, 'is required by the webhook assistant (it signs every call)');
    }
    return { kind: 'none' };
  }
  // The receiver authenticates Postern by this HMAC key: same bar as the token keys.
  checkLength('POSTERN_ASSISTANT_WEBHOOK_SECRET', secret, problems);
  return { kind: 'webhook', url, secret };
}

function readTls(env: Env, options: LoadOptions, problems: Problems): TlsCredentials | null {
  // A TLS problem always stops start-up: serving plain HTTP instead would be a silent downgrade.
  return readTlsCredentials(
    present(env, 'POSTERN_TLS_CERT_FILE'),
    present(env, 'POSTERN_TLS_KEY_FILE'),
    options.readFile,
    (name, rule) => problems.error(name, rule),
  );
}

/** Parses the environment. Never throws and never reads `process.env` itself. */
export function loadConfig(env: Env, options: LoadOptions): ConfigResult {
  const production = env['NODE_ENV'] === 'production';
  const problems = new Problems(production);

  const limits = {} as Record<LimitName, number>;
  for (const [name, rule] of Object.entries(INTEGER_RULES) as [LimitName, IntegerRule][]) {
    limits[name] = readInteger(env, name, rule, problems);
  }

  let appOrigins: Config['appOrigins'] = { has: () => false, size: 0 };
  try {
    const entries = readList(env, 'POSTERN_APP_ORIGINS');
    appOrigins = { ...compileOriginList(entries), size: entries.length };
  } catch (error) {
    // A bad origin entry always stops start-up (SPEC §2), in production or not.
    problems.error('POSTERN_APP_ORIGINS', (error as Error).message);
  }

  let trustProxy: TrustPredicate = () => false;
  try {
    trustProxy = compileTrust(readList(env, 'POSTERN_TRUSTED_PROXIES'));
  } catch (error) {
    // A proxy list that silently trusted less (or more) than intended is worse than no start.
    problems.error('POSTERN_TRUSTED_PROXIES', (error as Error).message);
  }

  const metricsPort = readMetricsPort(env, limits.POSTERN_PORT, problems);

  const config: Config = Object.freeze({
    production,
    port: limits.POSTERN_PORT,
    host: present(env, 'POSTERN_HOST'),
    db: present(env, 'POSTERN_DB') ?? DEFAULT_DB,
    issuer: readIssuer(env, problems),
    secrets: Object.freeze(readSecrets(env, options, problems)),
    appOrigins,
    appAllowNoOrigin: readFlag(env, 'POSTERN_APP_ALLOW_NO_ORIGIN', problems),
    trustProxy,
    metricsPort,
    metricsHost: present(env, 'POSTERN_METRICS_HOST') ?? '127.0.0.1',
    tls: readTls(env, options, problems),
    logLevel: readLogLevel(env, problems),
    dbSync: readDbSync(env, problems),
    assistant: Object.freeze(readAssistant(env, options, problems)),
    limits: Object.freeze(limits),
  });
  return problems.errors.length > 0
    ? { ok: false, errors: problems.errors }
    : { ok: true, config, warnings: problems.warnings };
}
