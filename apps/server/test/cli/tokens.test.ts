/**
 * `postern site create`, `site list` and `operator-token` on the built CLI, with no server
 * running: every token it prints verifies with the server's token service, and the pinned
 * snippet carries the integrity of the exact widget build the server serves.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWidgetScript } from '../../src/http/widget-script.js';
import { createTokenService, decodeKey } from '../../src/security/tokens.js';
import { requireBuild, tempDir } from '../blackbox/support/server-process.js';
import {
  createSite,
  envFor,
  postern,
  refused,
  SHOP_DOMAIN,
  serverTokens,
  succeeded,
} from './support.js';

const dir = tempDir();
const env = envFor(dir.path);
const DAY_MS = 86_400_000;

beforeAll(() => requireBuild());
afterAll(() => dir.remove());

describe('postern site create', () => {
  it('prints a site token the server verifies, and both snippets, the pinned one with SRI', async () => {
    const args = ['site', 'create', '--domains', `${SHOP_DOMAIN},www.${SHOP_DOMAIN}`];
    const result = await postern(
      [...args, '--site-id', 'site-shop', '--assistant-id', 'helper', '--expires-in', '90d'],
      { ...env, NODE_ENV: 'development' },
    );
    const lines = succeeded(result).split('\n');
    expect(lines[0]).toMatch(/^Site token for site site-shop \(jti [\w-]+, expires \d{4}-/);
    const token = lines[2] ?? '';
    const claims = await serverTokens().verifySite(token);
    expect(claims).toMatchObject({
      siteId: 'site-shop',
      assistantId: 'helper',
      allowedDomains: [SHOP_DOMAIN, `www.${SHOP_DOMAIN}`],
    });
    expect((claims.expiresAt ?? 0) - claims.issuedAt).toBe(90 * DAY_MS);
    expect(lines[0]).toContain(`jti ${claims.jti}`);

    // Outside production the server origin defaults to this machine's POSTERN_PORT.
    const widget = loadWidgetScript();
    const integrity = `sha384-${createHash('sha384').update(widget.body).digest('base64')}`;
    expect(result.stdout).toContain(
      `<script async src="http://localhost:0/widget.js" data-site-token="${token}"></script>`,
    );
    expect(result.stdout).toContain(
      `<script async src="http://localhost:0/widget/${widget.version}/widget.js" ` +
        `integrity="${integrity}" crossorigin="anonymous" data-site-token="${token}"></script>`,
    );
    expect(result.stderr).toContain(`recorded site token ${claims.jti}`);
  });

  it('prints JSON with --json, without expiry by default, for the --server origin', async () => {
    const site = await createSite(env, SHOP_DOMAIN);
    const claims = await serverTokens().verifySite(site.site_token);
    expect(claims.expiresAt).toBeUndefined();
    expect(site).toMatchObject({
      site_id: claims.siteId,
      jti: claims.jti,
      allowed_domains: [SHOP_DOMAIN],
      assistant_id: 'default',
      expires_at: null,
    });
    expect(site.site_id).toMatch(/^[\w-]{22}$/); // 128 random bits
    expect(site.snippet).toBe(
      `<script async src="https://chat.example.com/widget.js" data-site-token="${site.site_token}"></script>`,
    );
    expect(site.snippet_pinned).toContain(
      `src="https://chat.example.com/widget/${site.widget_version}/widget.js" integrity="${site.integrity}"`,
    );
  });

  it('refuses to sign with generated secrets nothing keeps (POSTERN_DB=:memory:)', async () => {
    const result = await postern(['site', 'create', '--domains', SHOP_DOMAIN], {
      POSTERN_DB: ':memory:',
    });
    refused(result, 1, /no signing secret is configured and POSTERN_DB is :memory:/);
  });

  it('outside production, signs with the generated secrets kept beside the database', async () => {
    const dev = tempDir();
    try {
      const db = join(dev.path, 'data', 'p.db');
      const site = await createSite({ POSTERN_DB: db }, SHOP_DOMAIN);
      const secrets = join(dev.path, 'data', 'postern-secrets.json');
      expect(statSync(secrets).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(readFileSync(secrets, 'utf8')) as Record<string, string>;
      const key = { current: decodeKey(stored['site'] ?? '') };
      const tokens = createTokenService({
        keys: { site: key, visitor: key, operator: key },
        issuer: 'postern',
        visitorTtlS: 900,
        now: Date.now,
        randomId: () => 'unused',
      });
      expect((await tokens.verifySite(site.site_token)).jti).toBe(site.jti);
    } finally {
      dev.remove();
    }
  });
});

describe('postern site list', () => {
  it('lists recorded sites with their token jtis, and shows revocations', async () => {
    // Two CLI runs at once on one database: the second waits for the first one's lock.
    const [site, other] = await Promise.all([
      createSite(env, SHOP_DOMAIN, ['--site-id', 'site-listed']),
      createSite(env, SHOP_DOMAIN, ['--site-id', 'site-listed']),
    ]);
    const revoked = await postern(['revoke', '--site-token', site.jti], env);
    expect(succeeded(revoked)).toContain(`Revoked site token ${site.jti}`);
    // With no server, the audit line goes to stderr, actor "cli".
    const audit = JSON.parse(revoked.stderr.trim()) as Record<string, unknown>;
    expect(audit).toMatchObject({
      event: 'audit_revocation',
      actor: 'cli',
      target_kind: 'jti',
      target_id: site.jti,
    });

    const listed = JSON.parse(succeeded(await postern(['site', 'list', '--json'], env))) as {
      site_id: string;
      first_seen_at: number | null;
      revoked: boolean;
      tokens: { jti: string; revoked: boolean }[];
    }[];
    const entry = listed.find((s) => s.site_id === 'site-listed');
    expect(entry).toMatchObject({ first_seen_at: null, revoked: false });
    expect(entry?.tokens.map((t) => [t.jti, t.revoked]).sort()).toEqual(
      [
        [site.jti, true],
        [other.jti, false],
      ].sort(),
    );
    const text = succeeded(await postern(['site', 'list'], env));
    expect(text).toMatch(new RegExp(`token ${site.jti}  revoked`));
  });
});

describe('postern operator-token', () => {
  const base = ['operator-token', '--operator-id', 'op-7', '--name', 'Ann Operator'];

  it('prints only the token on stdout; the server verifies it with the given claims', async () => {
    const result = await postern([...base, '--sites', 'site-a,site-b', '--ttl', '10m'], env);
    const token = succeeded(result).trim();
    expect(token.split('.')).toHaveLength(3);
    const claims = await serverTokens().verifyOperator(token);
    expect(claims).toMatchObject({
      operatorId: 'op-7',
      name: 'Ann Operator',
      sites: ['site-a', 'site-b'],
      scope: [],
    });
    expect(claims.expiresAt - claims.issuedAt).toBe(600_000);
    expect(result.stderr).toContain(`operator token ${claims.jti} expires`);
  });

  it('defaults to one hour, takes * and scopes, and prints JSON with --json', async () => {
    const result = await postern([...base, '--sites', '*', '--scope', 'admin', '--json'], env);
    const body = JSON.parse(succeeded(result)) as { token: string; expires_at: number };
    const claims = await serverTokens().verifyOperator(body.token);
    expect(claims).toMatchObject({ sites: '*', scope: ['admin'] });
    expect(claims.expiresAt - claims.issuedAt).toBe(3_600_000);
    expect(body).toMatchObject({ sites: ['*'], scope: ['admin'], expires_at: claims.expiresAt });
  });
});
