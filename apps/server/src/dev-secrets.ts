/**
 * Development secrets (SPEC §6): outside production, a missing secret is generated once and kept
 * beside the database (mode 0600), so the demo's tokens survive restarts. Production never gets
 * here: the config refuses to start without real secrets.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config, SecretName } from './config.js';
import type { KeySet } from './security/tokens.js';

/** File name of generated secrets, in the database's folder. */
export const DEV_SECRETS_FILE = 'postern-secrets.json';

export type ResolvedKeys = { readonly [K in SecretName]: KeySet };

function generate(): string {
  return randomBytes(32).toString('base64url');
}

/** Shortest stored secret accepted back (generated ones are 43 characters). */
const MIN_STORED_LENGTH = 32;
const NAMES: readonly SecretName[] = ['site', 'visitor', 'operator'];

/**
 * The secrets kept by an earlier start. A file that is not what this module writes stops start-up
 * with a message naming the file and the entry, never its contents (a JSON parse error would quote
 * them). A file others can read is narrowed back to 0600 before use.
 */
function readStored(path: string): Partial<Record<SecretName, string>> {
  if (!existsSync(path)) return {};
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new Error(`${DEV_SECRETS_FILE}: not valid JSON; delete it to generate new secrets`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${DEV_SECRETS_FILE}: not a JSON object; delete it to generate new secrets`);
  }
  const stored: Partial<Record<SecretName, string>> = {};
  for (const name of NAMES) {
    if (!Object.hasOwn(parsed, name)) continue;
    const value: unknown = (parsed as Record<string, unknown>)[name];
    if (typeof value !== 'string' || value.length < MIN_STORED_LENGTH) {
      throw new Error(`${DEV_SECRETS_FILE}: entry ${name} is not a usable secret`);
    }
    stored[name] = value;
  }
  return stored;
}

/** Writes the file whole (temporary file + rename), readable by its owner only from the start. */
function writeStored(path: string, values: Partial<Record<SecretName, string>>): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  // A stale temporary file could carry wider permissions: start from a fresh 0600 file.
  rmSync(temporary, { force: true });
  writeFileSync(temporary, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

/**
 * The keys to run with: configured ones as they are, missing ones generated (and kept in
 * `<db folder>/postern-secrets.json`, or only in memory for `:memory:`). Answers which were
 * generated, for a start-up notice.
 */
export function resolveKeys(config: Config): { keys: ResolvedKeys; generated: SecretName[] } {
  const missing = (Object.keys(config.secrets) as SecretName[]).filter(
    (name) => config.secrets[name] === null,
  );
  if (missing.length > 0 && config.production) {
    throw new Error('production never generates secrets');
  }
  const path = config.db === ':memory:' ? null : join(dirname(config.db), DEV_SECRETS_FILE);
  const stored = path ? readStored(path) : {};
  const values: Partial<Record<SecretName, string>> = { ...stored };
  for (const name of missing) values[name] ??= generate();
  if (path && missing.some((name) => stored[name] === undefined)) writeStored(path, values);
  const encode = (name: SecretName): KeySet => {
    const configured = config.secrets[name];
    if (configured) return configured;
    return { current: new TextEncoder().encode(values[name] as string) };
  };
  return {
    keys: { site: encode('site'), visitor: encode('visitor'), operator: encode('operator') },
    generated: missing,
  };
}
