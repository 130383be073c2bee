/**
 * Development secrets (SPEC §6): outside production, a missing secret is generated once and kept
 * beside the database (mode 0600), so the demo's tokens survive restarts. Production never gets
 * here: the config refuses to start without real secrets.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config, SecretName } from './config.js';
import type { KeySet } from './security/tokens.js';

/** File name of generated secrets, in the database's folder. */
export const DEV_SECRETS_FILE = 'postern-secrets.json';

export type ResolvedKeys = { readonly [K in SecretName]: KeySet };

function generate(): string {
  return randomBytes(32).toString('base64url');
}

function readStored(path: string): Partial<Record<SecretName, string>> {
  if (!existsSync(path)) return {};
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  return typeof parsed === 'object' && parsed !== null
    ? (parsed as Record<SecretName, string>)
    : {};
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
  if (path && missing.some((name) => stored[name] === undefined)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
  }
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
