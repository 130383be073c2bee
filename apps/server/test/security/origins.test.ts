import { ALLOWED_DOMAINS_MAX } from '@postern/protocol';
import { describe, expect, it, vi } from 'vitest';
import {
  type AllowedDomainsProblem,
  compileOriginList,
  isPublicSuffix,
  normalizeOrigin,
  originMatchesDomains,
  parseOriginHeader,
  validateAllowedDomains,
} from '../../src/security/origins.js';

// 'shоp' with U+043E CYRILLIC SMALL LETTER O: renders like 'shop'.
const CYRILLIC_SHOP = 'sh\u043ep.example';

describe('normalizeOrigin', () => {
  it.each([
    ['https://shop.example', 'https://shop.example'],
    ['https://shop.example/', 'https://shop.example'],
    ['HTTPS://Shop.EXAMPLE', 'https://shop.example'],
    ['http://shop.example:80', 'http://shop.example'],
    ['https://shop.example:443', 'https://shop.example'],
    ['https://shop.example:443/', 'https://shop.example'],
    ['http://shop.example:443', 'http://shop.example:443'],
    ['https://shop.example:80', 'https://shop.example:80'],
    ['https://shop.example:8443', 'https://shop.example:8443'],
    ['http://localhost:5173', 'http://localhost:5173'],
    ['http://127.0.0.1:8787', 'http://127.0.0.1:8787'],
    ['http://[::1]:3000', 'http://[::1]:3000'],
    ['http://[2001:DB8::1]', 'http://[2001:db8::1]'],
    ['http://a_b.example', 'http://a_b.example'],
    ['https://bücher.example', 'https://xn--bcher-kva.example'],
    ['https://BÜCHER.example', 'https://xn--bcher-kva.example'],
    ['https://bu\u0308cher.example', 'https://xn--bcher-kva.example'],
    ['https://xn--bcher-kva.example', 'https://xn--bcher-kva.example'],
    [`https://${CYRILLIC_SHOP}`, 'https://xn--shp-ted.example'],
  ])('normalises %j to %j', (input, expected) => {
    expect(normalizeOrigin(input)).toBe(expected);
  });

  it.each([
    ['null', 'null'],
    ['empty', ''],
    ['a space', ' '],
    ['trailing-dot host', 'https://shop.example.'],
    ['trailing-dot host with port', 'https://shop.example.:443'],
    ['userinfo', 'https://user@shop.example'],
    ['userinfo with password', 'https://user:pw@shop.example'],
    ['empty userinfo', 'https://@shop.example'],
    ['a path', 'https://shop.example/path'],
    ['a double slash', 'https://shop.example//'],
    ['a dot segment', 'https://shop.example/.'],
    ['an encoded dot segment', 'https://shop.example/%2e'],
    ['a query', 'https://shop.example?x=1'],
    ['an empty query', 'https://shop.example/?'],
    ['a fragment', 'https://shop.example#top'],
    ['an empty fragment', 'https://shop.example#'],
    ['file:', 'file:///etc/passwd'],
    ['file: with a host', 'file://shop.example'],
    ['javascript:', 'javascript:alert(1)'],
    ['data:', 'data:text/html,<script>alert(1)</script>'],
    ['blob:', 'blob:https://shop.example/0b7c2f5e-3f4a-4c1d-9e2b-7a6f5d4c3b2a'],
    ['ftp:', 'ftp://shop.example'],
    ['ws:', 'ws://shop.example'],
    ['no slashes', 'https:shop.example'],
    ['one slash', 'https:/shop.example'],
    ['three slashes', 'https:///shop.example'],
    ['backslashes', 'https:\\\\shop.example'],
    ['two joined headers', 'https://shop.example, https://evil.test'],
    ['a comma in the host', 'https://shop.example,evil.test'],
    ['leading space', ' https://shop.example'],
    ['trailing space', 'https://shop.example '],
    ['a tab', 'https://sh\top.example'],
    ['a newline', 'https://shop.example\n'],
    ['a NUL', 'https://shop.example\u0000'],
    ['a soft hyphen', 'https://shop\u00adexample.com'],
    ['a zero-width space', 'https://shop\u200b.example'],
    ['a bidi override', 'https://\u202eelpmaxe.pohs'],
    ['a full-width dot', 'https://shop\uff0eexample'],
    ['a no-break space', 'https://shop.example\u00a0'],
    ['percent-encoding', 'https://%73hop.example'],
    ['hex IPv4', 'http://0x7f.0.0.1'],
    ['short IPv4', 'http://127.1'],
    ['integer IPv4', 'http://2130706433'],
    ['three-part IPv4', 'http://1.2.3'],
    ['non-canonical IPv6', 'http://[0:0::1]'],
    ['mapped IPv6', 'http://[::ffff:127.0.0.1]'],
    ['IPv6 zone', 'http://[fe80::1%25eth0]'],
    ['an empty label', 'https://shop..example'],
    ['a leading dot', 'https://.shop.example'],
    ['a wildcard', 'https://*.shop.example'],
    ['an empty port', 'https://shop.example:'],
    ['a zero-padded port', 'https://shop.example:0443'],
    ['a zero-padded other port', 'https://shop.example:08443'],
    ['a port out of range', 'https://shop.example:99999'],
    ['a negative port', 'https://shop.example:-1'],
    ['two ports', 'https://shop.example:443:443'],
    ['bad punycode', 'https://xn--zz.example'],
    ['an over-long value', `https://${'a'.repeat(2_000)}.example`],
  ])('refuses %s', (_name, input) => {
    expect(normalizeOrigin(input)).toBeNull();
  });
});

describe('parseOriginHeader', () => {
  it.each<[string | string[] | undefined, string | null]>([
    [undefined, null],
    ['https://shop.example', 'https://shop.example'],
    ['https://shop.example:443', 'https://shop.example'],
    [['https://shop.example'], 'https://shop.example'],
    [[], null],
    [['https://shop.example', 'https://shop.example'], null],
    [['https://shop.example', 'https://evil.test'], null],
    ['https://shop.example, https://evil.test', null],
    ['https://shop.example,https://shop.example', null],
    [['https://shop.example, https://evil.test'], null],
    ['null', null],
    ['', null],
  ])('reads %j as %j', (header, expected) => {
    expect(parseOriginHeader(header)).toBe(expected);
  });
});

describe('isPublicSuffix', () => {
  it.each(['com', 'co.uk', 'github.io', 'blogspot.com', 's3.amazonaws.com', 'a.kawasaki.jp'])(
    'knows %j is a public suffix',
    (domain) => {
      expect(isPublicSuffix(domain)).toBe(true);
    },
  );

  it.each(['shop.example', 'shop.co.uk', 'user.github.io', 'city.kawasaki.jp'])(
    'knows %j is not',
    (domain) => {
      expect(isPublicSuffix(domain)).toBe(false);
    },
  );

  it('treats localhost as a suffix, hence the explicit exception', () => {
    expect(isPublicSuffix('localhost')).toBe(true);
  });
});

describe('validateAllowedDomains', () => {
  it.each<[string[]]>([
    [['shop.example']],
    [['shop.example', 'sub.shop.example', 'other.test']],
    [['localhost']],
    [['app.localhost']],
    [['xn--bcher-kva.example']],
    [['my-shop.co.uk']],
    [['user.github.io']],
    [['a.b.c.shop.example', 'x1.example', '1x.example', 'ab--cd.example']],
    [[`${'a'.repeat(63)}.example`]],
    [[`${'a.'.repeat(123)}example`]],
  ])('accepts %j', (domains) => {
    expect(validateAllowedDomains(domains)).toEqual({ ok: true, domains });
  });

  it('returns a frozen copy', () => {
    const input = ['shop.example'];
    const result = validateAllowedDomains(input);
    if (!result.ok) throw new Error('expected ok');
    expect(result.domains).not.toBe(input);
    expect(Object.isFrozen(result.domains)).toBe(true);
  });

  it(`accepts ${ALLOWED_DOMAINS_MAX} entries and refuses one more`, () => {
    const domains = Array.from({ length: ALLOWED_DOMAINS_MAX + 1 }, (_, i) => `s${i}.example`);
    expect(validateAllowedDomains(domains.slice(0, -1)).ok).toBe(true);
    expect(validateAllowedDomains(domains)).toEqual({ ok: false, problem: 'too_many' });
  });

  it('refuses a huge list without looking at its entries', () => {
    const isSuffix = vi.fn(() => false);
    const huge = Array.from({ length: 100_000 }, () => 'shop.example');
    expect(validateAllowedDomains(huge, isSuffix)).toEqual({ ok: false, problem: 'too_many' });
    expect(isSuffix).not.toHaveBeenCalled();
  });

  it.each<[string, unknown, AllowedDomainsProblem]>([
    ['a string', 'shop.example', 'not_array'],
    ['null', null, 'not_array'],
    ['undefined', undefined, 'not_array'],
    ['an object', { 0: 'shop.example', length: 1 }, 'not_array'],
    ['an empty list', [], 'empty'],
  ])('refuses %s as a whole', (_name, value, problem) => {
    expect(validateAllowedDomains(value)).toEqual({ ok: false, problem });
  });

  it.each<[string, unknown, AllowedDomainsProblem]>([
    ['a number', 42, 'entry_not_string'],
    ['null', null, 'entry_not_string'],
    ['an array', ['shop.example'], 'entry_not_string'],
    ['empty', '', 'entry_empty'],
    ['over 253 characters', `${'a.'.repeat(126)}example`, 'entry_too_long'],
    ['a lone wildcard', '*', 'entry_wildcard'],
    ['a wildcard label', '*.shop.example', 'entry_wildcard'],
    ['a scheme', 'https://shop.example', 'entry_scheme'],
    ['a slash', 'shop.example/', 'entry_path'],
    ['a path', 'shop.example/path', 'entry_path'],
    ['a query', 'shop.example?x', 'entry_path'],
    ['a backslash', 'shop.example\\x', 'entry_path'],
    ['a port', 'shop.example:443', 'entry_port'],
    ['an IPv6 literal', '[::1]', 'entry_not_hostname'],
    ['upper case', 'Shop.example', 'entry_uppercase'],
    ['all upper case', 'SHOP.EXAMPLE', 'entry_uppercase'],
    ['a leading dot', '.shop.example', 'entry_leading_dot'],
    ['a trailing dot', 'shop.example.', 'entry_trailing_dot'],
    ['Unicode (not punycode)', 'bücher.example', 'entry_not_punycode'],
    ['a Cyrillic homograph', CYRILLIC_SHOP, 'entry_not_punycode'],
    ['a leading hyphen', '-shop.example', 'entry_not_hostname'],
    ['a trailing hyphen', 'shop-.example', 'entry_not_hostname'],
    ['an underscore', 'sh_op.example', 'entry_not_hostname'],
    ['an empty label', 'shop..example', 'entry_not_hostname'],
    ['a 64-character label', `${'a'.repeat(64)}.example`, 'entry_not_hostname'],
    ['a space', 'shop example.test', 'entry_not_hostname'],
    ['userinfo', 'user@shop.example', 'entry_not_hostname'],
    ['bad punycode', 'xn--zz.example', 'entry_not_hostname'],
    ['an IPv4 address', '203.0.113.9', 'entry_not_hostname'],
    ['a numeric last label', 'shop.123', 'entry_not_hostname'],
    ['a single label', 'example', 'entry_single_label'],
    ['a bare TLD', 'com', 'entry_single_label'],
    ['a single-label intranet name', 'shop', 'entry_single_label'],
    ['a multi-label public suffix', 'co.uk', 'entry_public_suffix'],
    ['a private-section suffix', 'github.io', 'entry_public_suffix'],
    ['blogspot.com', 'blogspot.com', 'entry_public_suffix'],
    ['a wildcard-rule suffix', 'a.kawasaki.jp', 'entry_public_suffix'],
  ])('refuses the whole list for an entry with %s', (_name, entry, problem) => {
    expect(validateAllowedDomains([entry])).toEqual({ ok: false, problem, index: 0 });
    expect(validateAllowedDomains(['shop.example', entry])).toEqual({
      ok: false,
      problem,
      index: 1,
    });
  });

  it('never echoes the value in the result', () => {
    const result = validateAllowedDomains(['shop.example', 'Secret-Shop.example']);
    expect(JSON.stringify(result)).not.toMatch(/secret/i);
  });

  it('takes the public-suffix check as a parameter', () => {
    const isSuffix = vi.fn((d: string) => d === 'shop.example');
    expect(validateAllowedDomains(['other.example'], isSuffix).ok).toBe(true);
    expect(validateAllowedDomains(['shop.example'], isSuffix)).toEqual({
      ok: false,
      problem: 'entry_public_suffix',
      index: 0,
    });
    expect(validateAllowedDomains(['localhost'], () => true).ok).toBe(true);
  });
});

describe('originMatchesDomains', () => {
  const shop = ['shop.example'];

  it.each<[string, readonly string[], boolean]>([
    ['https://shop.example', shop, true],
    ['http://shop.example', shop, true],
    ['http://shop.example:8080', shop, true],
    ['https://sub.shop.example', shop, true],
    ['https://a.b.shop.example:444', shop, true],
    ['https://evilshop.example', shop, false],
    ['https://shop.example.evil.test', shop, false],
    ['https://shopexample', shop, false],
    ['https://hop.example', shop, false],
    ['https://example', shop, false],
    ['https://xn--shp-ted.example', shop, false],
    ['https://other.test', ['a.example', 'other.test'], true],
    ['https://shop.example', [], false],
    ['https://shop.example', [''], false],
    ['http://localhost:5173', ['localhost'], true],
    ['http://app.localhost:5173', ['localhost'], true],
    ['http://[::1]:3000', ['localhost'], false],
    ['http://[::1]:3000', ['1]'], false],
    ['http://127.0.0.1:8787', ['127.0.0.1'], false],
    ['http://127.0.0.1:8787', ['0.0.1'], false],
    // Not normalised: refused rather than guessed at.
    ['https://SHOP.example', shop, false],
    ['https://shop.example/', shop, false],
    ['https://user@shop.example', shop, false],
    ['https://a@b.shop.example', shop, false],
    ['https://shop.example/x', shop, false],
    ['shop.example', shop, false],
    ['null', shop, false],
    ['', shop, false],
  ])('%j with %j → %s', (origin, domains, expected) => {
    expect(originMatchesDomains(origin, domains)).toBe(expected);
  });

  it('does not let a Cyrillic homograph pass for the real domain', () => {
    const origin = normalizeOrigin(`https://${CYRILLIC_SHOP}`);
    expect(origin).toBe('https://xn--shp-ted.example');
    expect(originMatchesDomains(origin ?? '', shop)).toBe(false);
  });

  it('matches an IDN origin against its punycode domain', () => {
    const origin = normalizeOrigin('https://shop.bücher.example');
    expect(originMatchesDomains(origin ?? '', ['xn--bcher-kva.example'])).toBe(true);
  });
});

describe('compileOriginList', () => {
  const list = compileOriginList([
    'https://app.example:443',
    'http://localhost:5173/',
    'https://APP.example',
  ]);

  it.each([
    ['https://app.example', true],
    ['http://localhost:5173', true],
    ['https://app.example:443', false],
    ['http://app.example', false],
    ['https://sub.app.example', false],
    ['https://app.example.evil.test', false],
    ['http://localhost:5174', false],
    ['null', false],
  ])('has(%j) is %s', (origin, expected) => {
    expect(list.has(origin)).toBe(expected);
  });

  it('lists each normalised origin once', () => {
    expect(list.origins).toEqual(['https://app.example', 'http://localhost:5173']);
  });

  it('allows nothing when empty', () => {
    expect(compileOriginList([]).has('https://app.example')).toBe(false);
  });

  it('survives being spread into another object', () => {
    const copy = { ...list, size: 2 };
    expect(copy.has('https://app.example')).toBe(true);
  });

  it.each<[unknown[], RegExp]>([
    [['https://app.example', 'https://app.example/path'], /^origin at index 1: /],
    [['null'], /^origin at index 0: not a valid http\(s\) origin$/],
    [['*'], /^origin at index 0: /],
    [['app.example'], /^origin at index 0: /],
    [['https://app.example.'], /^origin at index 0: /],
    [[''], /^origin at index 0: /],
    [[42], /^origin at index 0: /],
  ])('refuses %j at start-up with a TypeError naming the index', (entries, message) => {
    const compile = () => compileOriginList(entries as string[]);
    expect(compile).toThrow(TypeError);
    expect(compile).toThrow(message);
  });

  it('never echoes the bad value in the error', () => {
    expect(() => compileOriginList(['https://secret.example/x'])).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('secret') }),
    );
  });
});
