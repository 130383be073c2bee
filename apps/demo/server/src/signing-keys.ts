/**
 * The HMAC keys the demo signs with, found where the Postern server found them: a configured
 * secret (`X` or `X_FILE`) first, else the development secret the server generated and keeps in
 * `postern-secrets.json` beside its database (SPEC §6). Read after the server is ready, so the
 * file exists. The key is the UTF-8 bytes of the value (SPEC §2).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DemoConfig, SecretSource } from './config.js';

/** Written by the Postern server (`apps/server/src/dev-secrets.ts`). */
export const DEV_SECRETS_FILE = 'postern-secrets.json';

export interface SigningKeys {
  /** Signs the demo site token (`POSTERN_SITE_SECRET`). */
  readonly site: Uint8Array;
  /** Signs operator tokens (`POSTERN_OPERATOR_SECRET`); `null` where the dev route is off. */
  readonly operator: Uint8Array | null;
}

type DevSecrets = Partial<Record<'site' | 'operator', string>>;

function fromSource(source: SecretSource, readFile: (path: string) => Buffer): Uint8Array {
  if (source.kind === 'inline') return new TextEncoder().encode(source.value);
  const bytes = readFile(source.path);
  // Like the server: a file loses one trailing newline (CRLF included).
  const end = bytes.at(-1) === 0x0a ? (bytes.at(-2) === 0x0d ? -2 : -1) : bytes.length;
  return new Uint8Array(bytes.subarray(0, end));
}

/** Reads the dev secrets file; its contents never reach an error message. */
function readDevSecrets(dataDir: string, readFile: (path: string) => Buffer): DevSecrets {
  const path = join(dataDir, DEV_SECRETS_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFile(path).toString('utf8'));
  } catch {
    throw new Error(
      `${path}: cannot be read; start the Postern server (outside production) with the same ` +
        'POSTERN_DB first, it creates this file',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${path}: not a JSON object`);
  }
  const secrets: DevSecrets = {};
  for (const name of ['site', 'operator'] as const) {
    const value: unknown = Object.hasOwn(parsed, name)
      ? (parsed as Record<string, unknown>)[name]
      : undefined;
    if (typeof value === 'string' && value.length > 0) secrets[name] = value;
  }
  return secrets;
}

/**
 * The keys to sign with. Throws with a message naming the missing variable or file when a key
 * cannot be found. Production needs no operator key: the dev token route does not exist there.
 */
export function loadSigningKeys(
  config: DemoConfig,
  readFile: (path: string) => Buffer = readFileSync,
): SigningKeys {
  const needOperator = !config.production;
  const { site, operator } = config.secrets;
  const needDevFile = site === null || (needOperator && operator === null);
  let dev: DevSecrets = {};
  if (needDevFile) {
    if (config.production || config.dataDir === null) {
      throw new Error(
        'POSTERN_SITE_SECRET (and, outside production, POSTERN_OPERATOR_SECRET): required when ' +
          'the Postern server keeps no dev secrets file (production or POSTERN_DB=:memory:)',
      );
    }
    dev = readDevSecrets(config.dataDir, readFile);
  }
  const encode = (value: string | undefined, name: string): Uint8Array => {
    if (value === undefined) throw new Error(`${DEV_SECRETS_FILE}: no ${name} secret in it`);
    return new TextEncoder().encode(value);
  };
  return Object.freeze({
    site: site === null ? encode(dev.site, 'site') : fromSource(site, readFile),
    operator: !needOperator
      ? null
      : operator === null
        ? encode(dev.operator, 'operator')
        : fromSource(operator, readFile),
  });
}
