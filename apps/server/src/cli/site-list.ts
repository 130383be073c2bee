/** `postern site list`: the sites the database knows, their tokens, and what is revoked. */
import type { SiteReport } from '../control/operations.js';
import type { CommandRun } from './command.js';
import type { siteListOptions } from './commands.js';
import { loadCliConfig, perform } from './context.js';

function when(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

function siteLines(site: SiteReport): string[] {
  const state = site.revoked ? 'REVOKED' : 'active';
  const lines = [
    `${site.id}  ${state}  first seen ${when(site.firstSeenAt)}  last seen ${when(site.lastSeenAt)}`,
  ];
  for (const token of site.tokens) {
    const flags = [
      token.revoked ? 'revoked' : null,
      token.expiresAt === null ? 'no expiry' : `expires ${when(token.expiresAt)}`,
    ].filter((flag) => flag !== null);
    lines.push(`  token ${token.jti}  ${flags.join(', ')}  ${token.allowedDomains.join(',')}`);
  }
  return lines;
}

export const runSiteList: CommandRun<typeof siteListOptions> = async (options, context) => {
  const config = loadCliConfig(context);
  const { result: sites } = await perform(config, context, { op: 'list_sites' }, { create: false });
  if (options.json) {
    const json = sites.map((site) => ({
      site_id: site.id,
      first_seen_at: site.firstSeenAt,
      last_seen_at: site.lastSeenAt,
      revoked: site.revoked,
      tokens: site.tokens.map((token) => ({
        jti: token.jti,
        allowed_domains: token.allowedDomains,
        assistant_id: token.assistantId,
        expires_at: token.expiresAt,
        revoked: token.revoked,
      })),
    }));
    context.out(`${JSON.stringify(json, null, 2)}\n`);
    return;
  }
  if (sites.length === 0) {
    context.out('No sites yet.\n');
    return;
  }
  context.out(`${sites.flatMap(siteLines).join('\n')}\n`);
};
