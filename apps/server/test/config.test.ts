import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DB, DEFAULTS } from '@postern/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Config,
  type ConfigResult,
  type Env,
  type LoadOptions,
  loadConfig,
} from '../src/config.js';
import { INTEGER_RULES } from '../src/config-rules.js';
import { DEV_SECRETS_FILE, resolveKeys } from '../src/dev-secrets.js';

const SITE = 'site-secret-0123456789-0123456789-abc';
const VISITOR = 'visitor-secret-0123456789-0123456789-a';
const OPERATOR = 'operator-secret-0123456789-0123456789';
const PRODUCTION: Env = {
  NODE_ENV: 'production',
  POSTERN_SITE_SECRET: SITE,
  POSTERN_SECRET: VISITOR,
  POSTERN_OPERATOR_SECRET: OPERATOR,
};

/** `readFile` over an in-memory folder; anything else is unreadable (ENOENT). */
function files(contents: Record<string, string | Buffer> = {}): LoadOptions {
  return {
    readFile: (path) => {
      const found = contents[path];
      if (found === undefined) {
        throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
      }
      return Buffer.from(found);
    },
  };
}

function load(env: Env, options: LoadOptions = files()): ConfigResult {
  return loadConfig(env, options);
}

function config(env: Env, options?: LoadOptions): { config: Config; warnings: readonly string[] } {
  const result = load(env, options);
  if (!result.ok) throw new Error(`expected a valid config, got: ${result.errors.join(' / ')}`);
  return result;
}

function errors(env: Env, options?: LoadOptions): readonly string[] {
  const result = load(env, options);
  if (result.ok) throw new Error('expected configuration errors');
  return result.errors;
}

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

/**
 * Every message names a variable first (`POSTERN_X: rule`) and never echoes `values` (those long
 * enough to be told apart from the rule's own words and bounds).
 */
function expectClean(messages: readonly string[], values: readonly string[]): void {
  for (const message of messages) {
    expect(message).toMatch(/^POSTERN_[A-Z0-9_]+: \S/);
    for (const value of values.filter((v) => v.length >= 3)) expect(message).not.toContain(value);
  }
}

describe('loadConfig: defaults', () => {
  it('starts outside production with nothing set, every limit at its default', () => {
    const { config: c, warnings } = config({});
    expect(warnings).toEqual([]);
    expect(c.production).toBe(false);
    expect(c.db).toBe(DEFAULT_DB);
    expect(c.issuer).toBe('postern');
    expect(c.secrets).toEqual({ site: null, visitor: null, operator: null });
    expect(c.appOrigins.size).toBe(0);
    expect(c.metricsPort).toBeNull();
    expect(c.metricsHost).toBe('127.0.0.1');
    for (const name of Object.keys(INTEGER_RULES) as (keyof typeof DEFAULTS)[]) {
      expect(c.limits[name]).toBe(DEFAULTS[name]);
    }
  });

  it('freezes what it returns', () => {
    const { config: c } = config(PRODUCTION);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.limits)).toBe(true);
    expect(Object.isFrozen(c.secrets)).toBe(true);
  });

  it('treats an empty variable as unset', () => {
    const { config: c } = config({ POSTERN_CONN_RATE: '', POSTERN_SECRET: '' });
    expect(c.limits.POSTERN_CONN_RATE).toBe(DEFAULTS.POSTERN_CONN_RATE);
    expect(c.secrets.visitor).toBeNull();
  });

  it('reads numbers within their bounds', () => {
    const { config: c } = config({ POSTERN_CONN_RATE: '7', POSTERN_REFRESH_GRACE_MS: '0' });
    expect(c.limits.POSTERN_CONN_RATE).toBe(7);
    expect(c.limits.POSTERN_REFRESH_GRACE_MS).toBe(0);
  });
});

describe('loadConfig: errors', () => {
  it('collects every error at once, one line each naming the variable and the rule', () => {
    const env: Env = {
      NODE_ENV: 'production',
      POSTERN_SECRET: 'SHORT-SECRET-VALUE',
      POSTERN_CONN_RATE: 'GARBAGE-NUMBER',
      POSTERN_HTTP_RATE: '0',
      POSTERN_APP_ORIGINS: 'http://app.example, http://SECRET-ORIGIN.example/path',
      POSTERN_TRUSTED_PROXIES: 'loopback, BOGUS-PROXY-ENTRY',
      POSTERN_APP_ALLOW_NO_ORIGIN: 'MAYBE-FLAG',
    };
    const messages = errors(env);
    const named = messages.map((message) => message.split(':', 1)[0]);
    expect(named.sort()).toEqual(
      [
        'POSTERN_APP_ALLOW_NO_ORIGIN',
        'POSTERN_APP_ORIGINS',
        'POSTERN_CONN_RATE',
        'POSTERN_HTTP_RATE',
        'POSTERN_SECRET',
        'POSTERN_SITE_SECRET',
        'POSTERN_TRUSTED_PROXIES',
      ].sort(),
    );
    expectClean(messages, [
      'SHORT-SECRET-VALUE',
      'GARBAGE-NUMBER',
      'SECRET-ORIGIN',
      'secret-origin',
      '/path',
      'BOGUS-PROXY-ENTRY',
      'MAYBE-FLAG',
    ]);
  });

  it('names the rule: the message explains what would be valid', () => {
    const [short] = errors({ ...PRODUCTION, POSTERN_SECRET: 'x'.repeat(31) });
    expect(short).toBe('POSTERN_SECRET: must be at least 32 bytes');
    const [number] = errors({ ...PRODUCTION, POSTERN_CONN_RATE: 'ten' });
    expect(number).toMatch(/^POSTERN_CONN_RATE: must be an integer from 1 to \d+$/);
  });
});

describe('loadConfig: production', () => {
  it('starts with every secret set', () => {
    const { config: c, warnings } = config(PRODUCTION);
    expect(warnings).toEqual([]);
    expect(c.production).toBe(true);
    expect(text(c.secrets.site?.current)).toBe(SITE);
    expect(text(c.secrets.visitor?.current)).toBe(VISITOR);
    expect(text(c.secrets.operator?.current)).toBe(OPERATOR);
  });

  it.each(['POSTERN_SITE_SECRET', 'POSTERN_SECRET'])('refuses to start without %s', (name) => {
    const messages = errors({ ...PRODUCTION, [name]: undefined });
    expect(messages).toEqual([`${name}: is required in production`]);
  });

  it.each([
    'POSTERN_SITE_SECRET',
    'POSTERN_SECRET',
    'POSTERN_OPERATOR_SECRET',
    'POSTERN_SECRET_PREVIOUS',
  ])('refuses a %s shorter than 32 bytes, without echoing it', (name) => {
    const value = 'S3CR3T-'.padEnd(31, 'z');
    const messages = errors({ ...PRODUCTION, [name]: value });
    expect(messages).toEqual([`${name}: must be at least 32 bytes`]);
    expectClean(messages, [value, 'S3CR3T']);
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(load({ ...PRODUCTION, POSTERN_SECRET: 'é'.repeat(16) }).ok).toBe(true);
    expect(load({ ...PRODUCTION, POSTERN_SECRET: `${'é'.repeat(15)}a` }).ok).toBe(false);
    expect(load({ ...PRODUCTION, POSTERN_SECRET: 'x'.repeat(32) }).ok).toBe(true);
  });

  it.each([
    ['POSTERN_CONN_RATE', 'lots'],
    ['POSTERN_CONN_RATE', '1e3'],
    ['POSTERN_CONN_RATE', '12.5'],
    ['POSTERN_CONN_RATE', '0'],
    ['POSTERN_PORT', '70000'],
    ['POSTERN_VISITOR_TTL_S', '-5'],
    ['POSTERN_AUTH_TIMEOUT_MS', '99999999999999999999'],
    ['POSTERN_METRICS_PORT', 'metrics'],
    ['POSTERN_APP_ALLOW_NO_ORIGIN', 'yes'],
    ['POSTERN_ISSUER', 'has spaces in it'],
  ])('refuses unparsable %s=%j', (name, value) => {
    const messages = errors({ ...PRODUCTION, [name]: value });
    expect(messages.map((m) => m.split(':', 1)[0])).toEqual([name]);
    expectClean(messages, [value]);
  });

  it('warns when operator tokens fall back to POSTERN_SECRET, and uses that key', () => {
    const { config: c, warnings } = config({ ...PRODUCTION, POSTERN_OPERATOR_SECRET: undefined });
    expect(text(c.secrets.operator?.current)).toBe(VISITOR);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^POSTERN_OPERATOR_SECRET: .*POSTERN_SECRET/);
    expectClean(warnings, [VISITOR]);
  });
});

describe('loadConfig: outside production', () => {
  it.each([
    ['POSTERN_CONN_RATE', 'lots'],
    ['POSTERN_HTTP_RATE', '0'],
    ['POSTERN_APP_ALLOW_NO_ORIGIN', 'yes'],
    ['POSTERN_ISSUER', 'has spaces in it'],
  ])('warns about unparsable %s=%j and falls back to the default', (name, value) => {
    const { config: c, warnings } = config({ [name]: value });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.startsWith(`${name}: `)).toBe(true);
    expect(warnings[0]).toContain('using the default');
    expectClean(warnings, [value]);
    if (name in DEFAULTS) {
      expect(c.limits[name as keyof typeof DEFAULTS]).toBe(DEFAULTS[name as keyof typeof DEFAULTS]);
    }
  });

  it('refuses metrics on the public port', () => {
    const messages = errors({ POSTERN_PORT: '8787', POSTERN_METRICS_PORT: '8787' });
    expect(messages).toEqual(['POSTERN_METRICS_PORT: must differ from POSTERN_PORT']);
    expect(config({ POSTERN_PORT: '8787', POSTERN_METRICS_PORT: '9464' }).config.metricsPort).toBe(
      9464,
    );
  });

  it('falls back to "metrics off" (not a random port) for an unparsable POSTERN_METRICS_PORT', () => {
    const { config: c, warnings } = config({ POSTERN_METRICS_PORT: 'nine' });
    expect(c.metricsPort).toBeNull();
    expect(warnings.map((w) => w.split(':', 1)[0])).toEqual(['POSTERN_METRICS_PORT']);
  });

  it('accepts short secrets and plain-http console origins', () => {
    const { config: c } = config({
      POSTERN_SECRET: 'dev',
      POSTERN_APP_ORIGINS: 'http://localhost:5173',
    });
    expect(text(c.secrets.visitor?.current)).toBe('dev');
    expect(c.appOrigins.has('http://localhost:5173')).toBe(true);
  });

  it('uses POSTERN_SECRET for operators without a warning', () => {
    const { config: c, warnings } = config({ POSTERN_SECRET: VISITOR });
    expect(text(c.secrets.operator?.current)).toBe(VISITOR);
    expect(warnings).toEqual([]);
  });
});

describe('loadConfig: secrets from files', () => {
  it.each([
    ['LF', `${VISITOR}\n`, VISITOR],
    ['CRLF', `${VISITOR}\r\n`, VISITOR],
    ['no newline', VISITOR, VISITOR],
    ['two newlines (loses one)', `${VISITOR}\n\n`, `${VISITOR}\n`],
    ['CR LF LF (loses one)', `${VISITOR}\r\n\n`, `${VISITOR}\r\n`],
    ['surrounding spaces (kept)', ` ${VISITOR} `, ` ${VISITOR} `],
  ])('reads X_FILE with %s', (_label, contents, key) => {
    const { config: c } = config(
      { ...PRODUCTION, POSTERN_SECRET: undefined, POSTERN_SECRET_FILE: '/run/secrets/visitor' },
      files({ '/run/secrets/visitor': contents }),
    );
    expect(text(c.secrets.visitor?.current)).toBe(key);
  });

  it('keeps the exact bytes of a binary key', () => {
    const bytes = Buffer.from(Array.from({ length: 40 }, (_, i) => (i * 37 + 200) % 256));
    const { config: c } = config(
      { ...PRODUCTION, POSTERN_SITE_SECRET: undefined, POSTERN_SITE_SECRET_FILE: '/k' },
      files({ '/k': Buffer.concat([bytes, Buffer.from('\n')]) }),
    );
    expect(Buffer.from(c.secrets.site?.current ?? []).equals(bytes)).toBe(true);
  });

  it('refuses X and X_FILE together, in and out of production', () => {
    for (const base of [PRODUCTION, {}]) {
      const messages = errors(
        { ...base, POSTERN_SECRET: VISITOR, POSTERN_SECRET_FILE: '/run/secrets/visitor' },
        files({ '/run/secrets/visitor': VISITOR }),
      );
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatch(/^POSTERN_SECRET: .*POSTERN_SECRET_FILE/);
      expectClean(messages, [VISITOR, '/run/secrets/visitor']);
    }
  });

  it('refuses an unreadable file, naming X_FILE and not the path', () => {
    const path = '/nowhere/SECRET-PATH';
    for (const base of [PRODUCTION, {}]) {
      const messages = errors({
        ...base,
        POSTERN_SITE_SECRET: undefined,
        POSTERN_SITE_SECRET_FILE: path,
      });
      expect(messages).toEqual(['POSTERN_SITE_SECRET_FILE: file cannot be read']);
      expectClean(messages, [path, 'SECRET-PATH', 'ENOENT']);
    }
  });

  it('refuses an empty file secret outside production, naming the rule', () => {
    const messages = errors({ POSTERN_SECRET_FILE: '/k' }, files({ '/k': '\n' }));
    expect(messages).toEqual(['POSTERN_SECRET: must not be empty']);
  });

  it('refuses a short file secret in production without echoing it', () => {
    const messages = errors(
      { ...PRODUCTION, POSTERN_SECRET: undefined, POSTERN_SECRET_FILE: '/k' },
      files({ '/k': 'TOO-SHORT-IN-A-FILE\n' }),
    );
    expect(messages).toEqual(['POSTERN_SECRET: must be at least 32 bytes']);
    expectClean(messages, ['TOO-SHORT-IN-A-FILE']);
  });
});

describe('loadConfig: previous keys', () => {
  const previous = 'previous-secret-0123456789-0123456789';

  it('reads X_PREVIOUS next to X', () => {
    const { config: c } = config({ ...PRODUCTION, POSTERN_SITE_SECRET_PREVIOUS: previous });
    expect(text(c.secrets.site?.current)).toBe(SITE);
    expect(text(c.secrets.site?.previous)).toBe(previous);
    expect(c.secrets.visitor?.previous).toBeUndefined();
  });

  it('reads X_PREVIOUS_FILE', () => {
    const { config: c } = config(
      { ...PRODUCTION, POSTERN_OPERATOR_SECRET_PREVIOUS_FILE: '/p' },
      files({ '/p': `${previous}\n` }),
    );
    expect(text(c.secrets.operator?.previous)).toBe(previous);
  });

  it.each([
    ['production', PRODUCTION],
    ['development', {}],
  ])('refuses X_PREVIOUS without X (%s)', (_label, base) => {
    const messages = errors({
      ...base,
      POSTERN_OPERATOR_SECRET: undefined,
      POSTERN_OPERATOR_SECRET_PREVIOUS: previous,
    });
    expect(messages).toEqual([
      'POSTERN_OPERATOR_SECRET_PREVIOUS: needs POSTERN_OPERATOR_SECRET to be set',
    ]);
  });
});

describe('loadConfig: origins and proxies always stop start-up', () => {
  it.each([
    'app.example',
    'http://app.example/console',
    'http://user@app.example',
    'http://app.example.',
    'ftp://app.example',
    'null',
    'http://app.example, *',
  ])('refuses POSTERN_APP_ORIGINS=%j in and out of production', (value) => {
    for (const base of [PRODUCTION, {}]) {
      const messages = errors({ ...base, POSTERN_APP_ORIGINS: value });
      expect(messages.map((m) => m.split(':', 1)[0])).toEqual(['POSTERN_APP_ORIGINS']);
      expectClean(
        messages,
        value.split(',').map((entry) => entry.trim()),
      );
    }
  });

  it('normalises console origins', () => {
    const { config: c } = config({
      POSTERN_APP_ORIGINS: 'HTTPS://Console.Example:443, http://localhost:5173',
    });
    expect(c.appOrigins.has('https://console.example')).toBe(true);
    expect(c.appOrigins.has('http://localhost:5173')).toBe(true);
    expect(c.appOrigins.has('https://evil.example')).toBe(false);
  });

  it.each(['proxy.internal', '10.0.0.0/33', '0.0.0.0/0', '::/0', '10.0.0.1, not-an-address'])(
    'refuses POSTERN_TRUSTED_PROXIES=%j in and out of production',
    (value) => {
      for (const base of [PRODUCTION, {}]) {
        const messages = errors({ ...base, POSTERN_TRUSTED_PROXIES: value });
        expect(messages.map((m) => m.split(':', 1)[0])).toEqual(['POSTERN_TRUSTED_PROXIES']);
        expectClean(messages, ['proxy.internal', 'not-an-address']);
      }
    },
  );

  it('compiles named and CIDR proxy entries', () => {
    const { config: c } = config({ POSTERN_TRUSTED_PROXIES: 'loopback, 10.0.0.0/8' });
    expect(c.trustProxy('127.0.0.1')).toBe(true);
    expect(c.trustProxy('10.1.2.3')).toBe(true);
    expect(c.trustProxy('203.0.113.9')).toBe(false);
  });
});

describe('loadConfig: assistant', () => {
  const HOOK = 'https://hooks.example/postern?key=HOOK-QUERY-KEY';
  const HOOK_SECRET = 'HOOK-SECRET-0123456789-0123456789-abc';
  const webhook = {
    POSTERN_ASSISTANT_WEBHOOK_URL: HOOK,
    POSTERN_ASSISTANT_WEBHOOK_SECRET: HOOK_SECRET,
  };

  const named = (messages: readonly string[]) => messages.map((m) => m.split(':', 1)[0]);

  it('defaults to demo without a webhook URL (an empty POSTERN_ASSISTANT counts as unset)', () => {
    expect(config({}).config.assistant).toEqual({ kind: 'demo' });
    expect(config({ POSTERN_ASSISTANT: '' }).config.assistant).toEqual({ kind: 'demo' });
    expect(Object.isFrozen(config({}).config.assistant)).toBe(true);
  });

  it('defaults to webhook once a URL is set, with the URL and the secret bytes', () => {
    for (const base of [PRODUCTION, {}]) {
      const { config: c, warnings } = config({ ...base, ...webhook });
      expect(warnings).toEqual([]);
      expect(c.assistant.kind).toBe('webhook');
      if (c.assistant.kind !== 'webhook') return;
      expect(c.assistant.url).toBe(HOOK);
      expect(text(c.assistant.secret)).toBe(HOOK_SECRET);
    }
  });

  it.each(['demo', 'none'] as const)(
    'lets POSTERN_ASSISTANT=%s win over a configured URL',
    (kind) => {
      expect(config({ ...webhook, POSTERN_ASSISTANT: kind }).config.assistant).toEqual({ kind });
    },
  );

  it.each(['BOGUS-KIND', 'Webhook', 'demo '])(
    'refuses POSTERN_ASSISTANT=%j in and out of production, naming the variable',
    (value) => {
      for (const base of [PRODUCTION, {}]) {
        const messages = errors({ ...base, POSTERN_ASSISTANT: value });
        expect(messages).toEqual(['POSTERN_ASSISTANT: must be demo, webhook or none']);
        expectClean(messages, [value, 'BOGUS']);
      }
    },
  );

  it('refuses the webhook without a URL', () => {
    for (const base of [PRODUCTION, {}]) {
      const messages = errors({
        ...base,
        POSTERN_ASSISTANT: 'webhook',
        POSTERN_ASSISTANT_WEBHOOK_SECRET: HOOK_SECRET,
      });
      expect(named(messages)).toEqual(['POSTERN_ASSISTANT_WEBHOOK_URL']);
      expectClean(messages, [HOOK_SECRET]);
    }
  });

  it('refuses the webhook without a secret, chosen or by default', () => {
    for (const env of [
      { POSTERN_ASSISTANT_WEBHOOK_URL: HOOK },
      { POSTERN_ASSISTANT: 'webhook', POSTERN_ASSISTANT_WEBHOOK_URL: HOOK },
    ]) {
      for (const base of [PRODUCTION, {}]) {
        const messages = errors({ ...base, ...env });
        expect(named(messages)).toEqual(['POSTERN_ASSISTANT_WEBHOOK_SECRET']);
        expectClean(messages, [HOOK, 'hooks.example', 'HOOK-QUERY-KEY']);
      }
    }
  });

  it.each([
    'ftp://hooks.example/HOOK-PATH',
    'javascript:alert(1)',
    'file:///etc/HOOK-PATH',
    'hooks.example/HOOK-PATH',
    'https://HOOK-USER:HOOK-PASS@hooks.example/hook',
    'https://HOOK-USER@hooks.example/hook',
  ])('refuses POSTERN_ASSISTANT_WEBHOOK_URL=%j in and out of production', (value) => {
    for (const base of [PRODUCTION, {}]) {
      const messages = errors({ ...base, ...webhook, POSTERN_ASSISTANT_WEBHOOK_URL: value });
      expect(messages).toEqual([
        'POSTERN_ASSISTANT_WEBHOOK_URL: must be an http(s) URL without credentials',
      ]);
      expectClean(messages, [value, 'HOOK-PATH', 'HOOK-USER', 'HOOK-PASS', 'alert']);
    }
  });

  it('refuses a webhook secret shorter than 32 bytes in production only, without echoing it', () => {
    const short = 'SHORT-HOOK-KEY'.padEnd(31, 'k');
    const messages = errors({ ...PRODUCTION, ...webhook, POSTERN_ASSISTANT_WEBHOOK_SECRET: short });
    expect(messages).toEqual(['POSTERN_ASSISTANT_WEBHOOK_SECRET: must be at least 32 bytes']);
    expectClean(messages, [short, 'SHORT-HOOK-KEY']);
    const dev = config({ ...webhook, POSTERN_ASSISTANT_WEBHOOK_SECRET: short }).config.assistant;
    expect(dev.kind === 'webhook' && text(dev.secret)).toBe(short);
  });

  it('reads POSTERN_ASSISTANT_WEBHOOK_SECRET_FILE, losing one trailing newline', () => {
    const { config: c } = config(
      {
        ...PRODUCTION,
        POSTERN_ASSISTANT_WEBHOOK_URL: HOOK,
        POSTERN_ASSISTANT_WEBHOOK_SECRET_FILE: '/run/secrets/hook',
      },
      files({ '/run/secrets/hook': `${HOOK_SECRET}\n` }),
    );
    expect(c.assistant.kind === 'webhook' && text(c.assistant.secret)).toBe(HOOK_SECRET);
  });

  it('refuses the secret and its _FILE together, and an unreadable _FILE, naming the variable', () => {
    const both = errors(
      { ...webhook, POSTERN_ASSISTANT_WEBHOOK_SECRET_FILE: '/run/secrets/hook' },
      files({ '/run/secrets/hook': HOOK_SECRET }),
    );
    expect(both).toHaveLength(1);
    expect(both[0]).toMatch(
      /^POSTERN_ASSISTANT_WEBHOOK_SECRET: .*POSTERN_ASSISTANT_WEBHOOK_SECRET_FILE/,
    );
    const unreadable = errors({
      POSTERN_ASSISTANT_WEBHOOK_URL: HOOK,
      POSTERN_ASSISTANT_WEBHOOK_SECRET_FILE: '/nowhere/HOOK-FILE',
    });
    expect(unreadable).toEqual(['POSTERN_ASSISTANT_WEBHOOK_SECRET_FILE: file cannot be read']);
    expectClean([...both, ...unreadable], [HOOK_SECRET, '/run/secrets/hook', 'HOOK-FILE', HOOK]);
  });
});

describe('loadConfig: POSTERN_DB_SYNC', () => {
  it('defaults to normal and accepts normal and full, in and out of production', () => {
    expect(config({}).config.dbSync).toBe('normal');
    for (const base of [PRODUCTION, {}]) {
      for (const value of ['normal', 'full'] as const) {
        const { config: c, warnings } = config({ ...base, POSTERN_DB_SYNC: value });
        expect(c.dbSync).toBe(value);
        expect(warnings).toEqual([]);
      }
    }
  });

  it.each(['EXTRA-SYNC', 'FULL', 'off'])(
    'warns about POSTERN_DB_SYNC=%j outside production and keeps normal',
    (value) => {
      const { config: c, warnings } = config({ POSTERN_DB_SYNC: value });
      expect(c.dbSync).toBe('normal');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^POSTERN_DB_SYNC: .*using the default/);
      expectClean(warnings, [value]);
    },
  );

  it.each(['EXTRA-SYNC', 'FULL', 'off'])('refuses POSTERN_DB_SYNC=%j in production', (value) => {
    const messages = errors({ ...PRODUCTION, POSTERN_DB_SYNC: value });
    expect(messages).toEqual(['POSTERN_DB_SYNC: must be normal or full']);
    expectClean(messages, [value]);
  });
});

describe('resolveKeys: development secrets', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'postern-dev-secrets-'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  const devConfig = (env: Env = {}) =>
    config({ POSTERN_DB: join(folder, 'data', 'postern.db'), ...env }).config;
  const secretsPath = () => join(folder, 'data', DEV_SECRETS_FILE);
  const hex = (key: Uint8Array) => Buffer.from(key).toString('hex');

  it('generates each missing secret once, beside the database, mode 0600', () => {
    const { keys, generated } = resolveKeys(devConfig());
    expect(generated.sort()).toEqual(['operator', 'site', 'visitor']);
    expect(statSync(secretsPath()).mode & 0o777).toBe(0o600);
    for (const key of [keys.site, keys.visitor, keys.operator]) {
      expect(key.current.length).toBeGreaterThanOrEqual(32);
    }
    expect(new Set([keys.site, keys.visitor, keys.operator].map((k) => hex(k.current))).size).toBe(
      3,
    );
  });

  it('reuses them on the next start and does not rewrite the file', () => {
    const first = resolveKeys(devConfig()).keys;
    const before = readFileSync(secretsPath(), 'utf8');
    const second = resolveKeys(devConfig()).keys;
    expect(hex(second.site.current)).toBe(hex(first.site.current));
    expect(hex(second.visitor.current)).toBe(hex(first.visitor.current));
    expect(hex(second.operator.current)).toBe(hex(first.operator.current));
    expect(readFileSync(secretsPath(), 'utf8')).toBe(before);
  });

  it('uses configured secrets as they are and never writes them to the file', () => {
    const { keys, generated } = resolveKeys(devConfig({ POSTERN_SITE_SECRET: SITE }));
    expect(text(keys.site.current)).toBe(SITE);
    expect(generated.sort()).toEqual(['operator', 'visitor']);
    expect(readFileSync(secretsPath(), 'utf8')).not.toContain(SITE);
  });

  it('lets operators share a configured POSTERN_SECRET instead of generating one', () => {
    const { keys, generated } = resolveKeys(devConfig({ POSTERN_SECRET: VISITOR }));
    expect(text(keys.operator.current)).toBe(VISITOR);
    expect(generated).toEqual(['site']);
  });

  it('narrows a secrets file others can read back to 0600', () => {
    resolveKeys(devConfig());
    const path = secretsPath();
    chmodSync(path, 0o644);
    resolveKeys(devConfig());
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses a corrupt secrets file without quoting it', () => {
    mkdirSync(join(folder, 'data'), { recursive: true });
    writeFileSync(secretsPath(), '{"site": "LEAKED-SECRET-CONTENT', { mode: 0o600 });
    expect(() => resolveKeys(devConfig())).toThrow(DEV_SECRETS_FILE);
    try {
      resolveKeys(devConfig());
    } catch (error) {
      expect(String(error)).not.toContain('LEAKED-SECRET-CONTENT');
    }
  });

  it('refuses a stored entry that is not a usable secret', () => {
    mkdirSync(join(folder, 'data'), { recursive: true });
    writeFileSync(secretsPath(), JSON.stringify({ site: '' }), { mode: 0o600 });
    expect(() => resolveKeys(devConfig())).toThrow(/entry site/);
  });

  it('keeps :memory: secrets in memory only: nothing written, new ones each start', () => {
    const memory = config({ POSTERN_DB: ':memory:' }).config;
    const first = resolveKeys(memory);
    const second = resolveKeys(memory);
    expect(first.generated.sort()).toEqual(['operator', 'site', 'visitor']);
    expect(hex(first.keys.site.current)).not.toBe(hex(second.keys.site.current));
    expect(() => statSync(DEV_SECRETS_FILE)).toThrow();
  });

  it('never generates in production', () => {
    const production = config({ ...PRODUCTION, POSTERN_DB: join(folder, 'data', 'postern.db') });
    const { keys, generated } = resolveKeys(production.config);
    expect(generated).toEqual([]);
    expect(text(keys.site.current)).toBe(SITE);
    expect(() => statSync(secretsPath())).toThrow();
    const missing: Config = {
      ...production.config,
      secrets: { ...production.config.secrets, site: null },
    };
    expect(() => resolveKeys(missing)).toThrow(/production/);
    expect(() => statSync(secretsPath())).toThrow();
  });
});
