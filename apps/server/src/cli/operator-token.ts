/** `postern operator-token`: mints an operator token by the recipe of SPEC §2. */
import { isId, OPERATOR_TOKEN_MAX_TTL_S } from '@postern/protocol';
import { commaList, parseDuration, UsageError } from './args.js';
import type { CommandRun } from './command.js';
import type { operatorTokenOptions } from './commands.js';
import { loadCliConfig, signingTokens } from './context.js';

// The claim rules of the token service, said per option (the service names claims, not options).
const CLAIM_OPTIONS: readonly [claim: string, message: string][] = [
  ['claim sub', '--operator-id must be 1 to 128 printable ASCII characters'],
  ['claim name', '--name must be 1 to 100 characters, without controls or bidi overrides'],
  ['claim scope', '--scope entries must be 1 to 64 printable ASCII characters'],
];

function sitesOf(value: string): readonly string[] | '*' {
  if (value === '*') return '*';
  const sites = commaList(value);
  const bad = sites.find((site) => !isId(site));
  if (bad !== undefined) {
    throw new UsageError(`--sites: '${bad}' is not a site id (or give * for every site)`);
  }
  return sites;
}

export const runOperatorToken: CommandRun<typeof operatorTokenOptions> = async (
  options,
  context,
) => {
  const operatorId = options['operator-id'];
  const name = options.name;
  const sites = sitesOf(options.sites);
  const scope = options.scope === undefined ? [] : commaList(options.scope);
  // SPEC §2: operator tokens live at most one hour; the server refuses longer ones anyway.
  const ttlS =
    options.ttl === undefined
      ? OPERATOR_TOKEN_MAX_TTL_S
      : parseDuration(options.ttl, 'ttl', OPERATOR_TOKEN_MAX_TTL_S, '1h (3600 seconds)');
  const tokens = await signingTokens(loadCliConfig(context), context);
  let signed: Awaited<ReturnType<typeof tokens.signOperator>>;
  try {
    signed = await tokens.signOperator({ operatorId, name, sites, scope, expiresInS: ttlS });
  } catch (error) {
    const match =
      error instanceof TypeError
        ? CLAIM_OPTIONS.find(([claim]) => error.message.includes(claim))
        : undefined;
    if (match === undefined) throw error;
    throw new UsageError(match[1]);
  }
  const { token, claims } = signed;
  if (!options.json) {
    context.out(`${token}\n`);
    context.err(
      `postern: operator token ${claims.jti} expires ${new Date(claims.expiresAt).toISOString()}\n`,
    );
    return;
  }
  const body = {
    token,
    jti: claims.jti,
    operator_id: claims.operatorId,
    name: claims.name,
    sites: claims.sites === '*' ? ['*'] : claims.sites,
    scope: claims.scope,
    expires_at: claims.expiresAt,
  };
  context.out(`${JSON.stringify(body, null, 2)}\n`);
};
