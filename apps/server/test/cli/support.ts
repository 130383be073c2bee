/**
 * Runs the built CLI (`node dist/cli.js …`) as an operator would, with the production
 * environment the black-box servers use, and verifies what it prints with the server's own token
 * service.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { createTokenService, decodeKey, type TokenService } from '../../src/security/tokens.js';
import {
  type Completed,
  DIST_CLI,
  OPERATOR_SECRET,
  productionEnv,
  runToExit,
  SITE_SECRET,
  VISITOR_SECRET,
} from '../blackbox/support/server-process.js';

export { SHOP_DOMAIN } from '../blackbox/support/server-process.js';

/** Runs `postern <args>` with `env` (nothing inherited) and resolves when it exits. */
export function postern(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<Completed> {
  return runToExit([DIST_CLI, ...args], env, timeoutMs);
}

/** The production environment of a server (or a CLI) on `<dir>/p.db`, as `startServer` uses. */
export function envFor(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return productionEnv(join(dir, 'p.db'), extra);
}

/** Asserts a clean success and answers stdout. */
export function succeeded(result: Completed): string {
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

/** Asserts a refusal with `code` and exactly one `postern: …` line matching `message`. */
export function refused(result: Completed, code: number, message: RegExp): void {
  expect(result.code, `${result.stdout}${result.stderr}`).toBe(code);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^postern: /);
  expect(lines[0]).toMatch(message);
  expect(result.stdout).toBe('');
}

/** The server's token service with the black-box secrets (what a server would verify with). */
export function serverTokens(): TokenService {
  return createTokenService({
    keys: {
      site: { current: decodeKey(SITE_SECRET) },
      visitor: { current: decodeKey(VISITOR_SECRET) },
      operator: { current: decodeKey(OPERATOR_SECRET) },
    },
    issuer: 'postern',
    visitorTtlS: 900,
    now: Date.now,
    randomId: () => 'unused',
  });
}

export interface CreatedSite {
  readonly site_id: string;
  readonly jti: string;
  readonly site_token: string;
  readonly allowed_domains: string[];
  readonly assistant_id: string;
  readonly expires_at: number | null;
  readonly integrity: string;
  readonly widget_version: string;
  readonly snippet: string;
  readonly snippet_pinned: string;
}

/** `postern site create --json` for `domains` (and any further options). */
export async function createSite(
  env: Record<string, string>,
  domains: string,
  extra: readonly string[] = [],
): Promise<CreatedSite> {
  const args = ['site', 'create', '--domains', domains, '--server', 'https://chat.example.com'];
  const result = await postern([...args, ...extra, '--json'], env);
  return JSON.parse(succeeded(result)) as CreatedSite;
}

/** `postern operator-token` for every site with the admin scope. */
export async function adminToken(env: Record<string, string>): Promise<string> {
  const args = ['operator-token', '--operator-id', 'op-cli', '--name', 'CLI Admin', '--sites', '*'];
  return succeeded(await postern([...args, '--scope', 'admin'], env)).trim();
}

/** Runs `postern` for each argument list, a few at a time (CI machines have two cores). */
export async function posternAll(
  argLists: readonly (readonly string[])[],
  env: Record<string, string> = {},
  concurrency = 6,
): Promise<Completed[]> {
  const results: Completed[] = new Array(argLists.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < argLists.length; index = next++) {
      results[index] = await postern(argLists[index] as readonly string[], env);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}
