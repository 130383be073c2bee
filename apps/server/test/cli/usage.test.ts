/**
 * The CLI's help and argument handling, on the built `dist/cli.js`: `--help` everywhere, and one
 * clear line with exit code 2 for every kind of bad argument — before anything is touched.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { requireBuild, tempDir } from '../blackbox/support/server-process.js';
import { envFor, postern, posternAll, refused } from './support.js';

const COMMANDS = [
  ['serve'],
  ['site', 'create'],
  ['site', 'list'],
  ['revoke'],
  ['operator-token'],
  ['backup'],
  ['restore'],
  ['visitor', 'export'],
  ['visitor', 'erase'],
] as const;

beforeAll(() => requireBuild());

describe('postern CLI usage', () => {
  it('lists every command at the top level, with and without --help', async () => {
    const [bare, help, short] = await posternAll([[], ['--help'], ['-h']]);
    for (const result of [bare, help, short]) {
      expect(result?.code).toBe(0);
      for (const command of COMMANDS) expect(result?.stdout).toContain(command.join(' '));
    }
    expect((await postern(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('has --help (and -h) on every command and group, naming its options', async () => {
    const results = await posternAll([
      ...COMMANDS.map((command) => [...command, '--help']),
      ['site', 'create', '-h'],
      ['site', '--help'],
      ['visitor', '--help'],
    ]);
    for (const [index, command] of COMMANDS.entries()) {
      const result = results[index];
      expect(result?.code).toBe(0);
      expect(result?.stdout).toContain(`Usage: postern ${command.join(' ')}`);
    }
    const text = (n: number) => results[n]?.stdout ?? '';
    expect(text(1)).toMatch(/--domains[\s\S]*--site-id[\s\S]*--expires-in[\s\S]*--server/);
    expect(text(3)).toMatch(
      /--site ID[\s\S]*--site-token JTI[\s\S]*--visitor ID[\s\S]*--token JTI/,
    );
    expect(text(4)).toMatch(/--operator-id[\s\S]*--sites[\s\S]*--scope[\s\S]*--ttl/);
    expect(text(COMMANDS.length)).toBe(text(1));
    expect(text(COMMANDS.length + 1)).toMatch(/site create[\s\S]*site list/);
    expect(text(COMMANDS.length + 2)).toMatch(/visitor export[\s\S]*visitor erase/);
  });

  it('refuses bad arguments with one line and exit code 2', async () => {
    const cases: [readonly string[], RegExp][] = [
      [['launch'], /unknown command 'launch'/],
      [['--bogus'], /unknown option '--bogus'/],
      [['site'], /site needs a command: create or list .*postern site --help/],
      [['serve', 'now'], /serve: unexpected argument 'now'/],
      [['site', 'create'], /--domains is required/],
      [['site', 'create', '--domains', '--json'], /--domains needs a value/],
      [['site', 'create', '--domains', 'co.uk'], /'co.uk' is a public suffix/],
      [['site', 'create', '--domains', 'shop.example,*.shop.example'], /wildcard/],
      [['site', 'create', '--domains', 'https://shop.example'], /has a scheme/],
      [['site', 'create', '--domains', 'shop.example,'], /'' is empty/],
      [['site', 'create', '--domains', 'a.example', '--site-id', 'no spaces'], /--site-id/],
      [['site', 'create', '--domains', 'a.example', '--expires-in', '5x'], /--expires-in must/],
      [['site', 'create', '--domains', 'a.example', '--expires-in', '11000d'], /at most 10 years/],
      [['site', 'create', '--domains', 'a.example', '--server', 'chat.example.com/x'], /--server/],
      [['site', 'create', '--domains', 'a.example', '--json=yes'], /--json takes no value/],
      [['site', 'list', '--json', '--json'], /--json is given twice/],
      [['revoke'], /exactly one of --site, --site-token, --visitor or --token/],
      [['revoke', '--visitor', 'not/an/id'], /--visitor must be/],
      [['operator-token', '--name', 'A', '--sites', '*'], /--operator-id is required/],
      [['operator-token', '--operator-id', 'o', '--name', 'A'], /--sites is required/],
      [['operator-token', '--operator-id', 'o', '--name', 'A', '--sites', 'a,b c'], /--sites/],
      [
        ['operator-token', '--operator-id', 'o', '--name', 'A', '--sites', '*', '--ttl', '2h'],
        /--ttl must be at most 1h/,
      ],
      [['backup'], /--out is required/],
      [['restore'], /--from is required/],
      [['visitor', 'export'], /--visitor is required/],
      [['visitor', 'erase', '--visitor', '../x'], /--visitor must be/],
    ];
    const results = await posternAll(cases.map(([args]) => args));
    for (const [index, [args, message]] of cases.entries()) {
      const result = results[index];
      if (result === undefined) throw new Error('missing result');
      expect(result.code, args.join(' ')).toBe(2);
      refused(result, 2, message);
    }
  });

  it('refuses arguments that depend on the configuration, still with exit code 2', async () => {
    const dir = tempDir();
    try {
      const env = envFor(dir.path);
      // Production: a localhost snippet would silently never load on the owner's pages.
      refused(
        await postern(['site', 'create', '--domains', 'shop.example'], env),
        2,
        /--server is required in production/,
      );
      const args = ['operator-token', '--operator-id', 'o', '--sites', '*'];
      refused(await postern([...args, '--name', '\u202Eevil'], env), 2, /--name must be/);
    } finally {
      dir.remove();
    }
  });

  it('refuses a bad configuration like the server does: one line per variable, exit code 1', async () => {
    const result = await postern(['site', 'list'], {
      NODE_ENV: 'production',
      POSTERN_DB: '/x/p.db',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('POSTERN_SITE_SECRET: is required in production');
    expect(result.stderr).toContain('POSTERN_SECRET: is required in production');
  });
});
