/** `postern site create`: mints a site token and prints its embed snippets. */
import { isId } from '@postern/protocol';
import type { Config } from '../config.js';
import { loadWidgetScript, type WidgetScript } from '../http/widget-script.js';
import {
  type AllowedDomainsProblem,
  normalizeOrigin,
  validateAllowedDomains,
} from '../security/origins.js';
import type { SiteClaims, TokenService } from '../security/tokens.js';
import type { SiteTokenRecord } from '../store/types.js';
import { CliError, commaList, parseDuration, UsageError } from './args.js';
import type { CommandRun } from './command.js';
import type { siteCreateOptions } from './commands.js';
import { type CliContext, loadCliConfig, newId, perform, signingTokens } from './context.js';
import { type EmbedSnippets, embedSnippets } from './snippets.js';

const DOMAIN_PROBLEMS: Readonly<Record<AllowedDomainsProblem, string>> = {
  not_array: 'must be a list',
  empty: 'must name at least one domain',
  too_many: 'must name at most 100 domains',
  entry_not_string: 'is not a string',
  entry_empty: 'is empty',
  entry_too_long: 'is longer than 253 characters',
  entry_wildcard: 'has a wildcard (a domain already covers its subdomains)',
  entry_scheme: 'has a scheme (give the hostname only)',
  entry_path: 'has a path (give the hostname only)',
  entry_port: 'has a port (ports do not matter)',
  entry_uppercase: 'must be lower-case',
  entry_leading_dot: 'starts with a dot',
  entry_trailing_dot: 'ends with a dot',
  entry_not_punycode: 'must be written in punycode (xn--…)',
  entry_not_hostname: 'is not a hostname',
  entry_single_label: 'is a single label (only localhost is allowed)',
  entry_public_suffix: 'is a public suffix (it would allow every site under it)',
};

/** At most ten years: a site token should still be rotated now and then. */
const SITE_TOKEN_MAX_S = 10 * 365 * 86_400;

/** The server's own `allowed_domains` rules, applied before anything is signed. */
function allowedDomains(value: string): readonly string[] {
  const entries = commaList(value);
  const result = validateAllowedDomains(entries);
  if (result.ok) return result.domains;
  const entry = result.index === undefined ? undefined : entries[result.index];
  const subject = entry === undefined ? '--domains' : `--domains: '${entry}'`;
  throw new UsageError(`${subject} ${DOMAIN_PROBLEMS[result.problem]}`);
}

/** The origin the snippets load the widget from. */
function serverOrigin(value: string | undefined, config: Config): string {
  if (value !== undefined) {
    const origin = normalizeOrigin(value);
    if (origin === null) {
      throw new UsageError('--server must be an http(s) origin such as https://chat.example.com');
    }
    return origin;
  }
  // A localhost snippet pasted into a production page would silently never load.
  if (config.production) throw new UsageError('--server is required in production');
  return `${config.tls === null ? 'http' : 'https'}://localhost:${config.port}`;
}

/** The widget build the server serves, for the pinned snippet's integrity. */
function widgetBuild(): WidgetScript {
  try {
    return loadWidgetScript();
  } catch {
    throw new CliError('the widget build is missing: build @postern/widget-sdk first');
  }
}

async function sign(
  tokens: TokenService,
  input: Parameters<TokenService['signSite']>[0],
): Promise<{ token: string; claims: SiteClaims }> {
  try {
    return await tokens.signSite(input);
  } catch (error) {
    // The claim rules the server verifies with; everything else was checked before.
    if (!(error instanceof TypeError && error.message.includes('assistant_id'))) throw error;
    throw new UsageError(
      '--assistant-id must be 1 to 128 printable characters, without controls or bidi overrides',
    );
  }
}

/**
 * Records the token so `site list` knows it before its first use. Never fatal: a site token is a
 * signed capability that works unrecorded.
 */
async function record(token: SiteTokenRecord, config: Config, context: CliContext): Promise<void> {
  if (config.db === ':memory:') {
    context.err('postern: note: POSTERN_DB is :memory:, so the token was not recorded\n');
    return;
  }
  try {
    const request = { op: 'record_site_token', token } as const;
    const { via } = await perform(config, context, request, { create: true });
    const where = via === 'server' ? 'through the running server' : `in ${config.db}`;
    context.err(`postern: recorded site token ${token.jti} (${where})\n`);
  } catch (error) {
    context.err(`postern: warning: the token was not recorded: ${(error as Error).message}\n`);
  }
}

function printText(context: CliContext, token: string, claims: SiteClaims, s: EmbedSnippets) {
  const expiry =
    claims.expiresAt === undefined
      ? 'no expiry'
      : `expires ${new Date(claims.expiresAt).toISOString()}`;
  const lines = [
    `Site token for site ${claims.siteId} (jti ${claims.jti}, ${expiry}):`,
    token,
    'Embed snippet (always loads the current widget):',
    s.latest,
    `Embed snippet pinned to widget ${s.version}, with Subresource Integrity:`,
    s.pinned,
  ];
  context.out(`${lines.join('\n\n')}\n`);
}

function printJson(context: CliContext, token: string, claims: SiteClaims, s: EmbedSnippets) {
  const body = {
    site_id: claims.siteId,
    jti: claims.jti,
    allowed_domains: claims.allowedDomains,
    assistant_id: claims.assistantId,
    expires_at: claims.expiresAt ?? null,
    site_token: token,
    widget_version: s.version,
    integrity: s.integrity,
    snippet: s.latest,
    snippet_pinned: s.pinned,
  };
  context.out(`${JSON.stringify(body, null, 2)}\n`);
}

export const runSiteCreate: CommandRun<typeof siteCreateOptions> = async (options, context) => {
  const domains = allowedDomains(options.domains);
  const siteId = options['site-id'] ?? newId();
  if (!isId(siteId)) {
    throw new UsageError('--site-id must be 1 to 64 characters of A-Z, a-z, 0-9, _ and -');
  }
  const expiresIn = options['expires-in'];
  const expiresInS =
    expiresIn === undefined
      ? undefined
      : parseDuration(expiresIn, 'expires-in', SITE_TOKEN_MAX_S, '10 years');
  const config = loadCliConfig(context);
  const server = serverOrigin(options.server, config);
  const widget = widgetBuild();

  const { token, claims } = await sign(await signingTokens(config, context), {
    siteId,
    assistantId: options['assistant-id'] ?? 'default',
    allowedDomains: domains,
    ...(expiresInS === undefined ? {} : { expiresInS }),
  });
  await record(
    {
      jti: claims.jti,
      siteId: claims.siteId,
      allowedDomains: claims.allowedDomains,
      assistantId: claims.assistantId,
      expiresAt: claims.expiresAt ?? null,
    },
    config,
    context,
  );
  const snippets = embedSnippets(server, token, widget);
  if (options.json) printJson(context, token, claims, snippets);
  else printText(context, token, claims, snippets);
};
