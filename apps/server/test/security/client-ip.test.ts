import { DEFAULTS } from '@postern/protocol';
import { describe, expect, it, vi } from 'vitest';
import {
  type ClientIp,
  clientKey,
  compileTrust,
  MAX_FORWARDED_HOPS,
  normalizeIp,
  resolveClientIp,
  type TrustPredicate,
  UNKNOWN_CLIENT_KEY,
} from '../../src/security/client-ip.js';

const trustNone: TrustPredicate = () => false;
const trustAll: TrustPredicate = () => true;
const forwarded = (ip: string): ClientIp => ({ ip, source: 'forwarded' });
const socket = (ip: string): ClientIp => ({ ip, source: 'socket' });

describe('normalizeIp', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:1.2.3.4', '1.2.3.4'],
    ['::ffff:102:304', '1.2.3.4'],
    ['0:0:0:0:0:ffff:a00:1', '10.0.0.1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    // RFC 5952 §4.2.2: a single zero group is not compressed; §4.2.3: the first longest run is.
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1::', '1::'],
    ['::', '::'],
    ['::1', '::1'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    // IPv4-compatible (deprecated) is not IPv4-mapped: it stays IPv6.
    ['::1.2.3.4', '::102:304'],
    ['fe80::1%eth0', 'fe80::1'],
    ['FE80::1%25', 'fe80::1'],
  ])('normalises %j to %j', (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });

  it.each([
    '',
    'unknown',
    'localhost',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '0x7f.0.0.1',
    '2130706433',
    '1.2.3.4:80',
    ' 1.2.3.4',
    '1.2.3.4%eth0',
    '::g',
    ':::',
    ':1.2.3.4',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8',
    '1::2::3',
    '12345::1',
    '::ffff:1.2.3',
    '::ffff:256.1.1.1',
    '[::1]',
    '[::1]:80',
    'fe80::1%',
    'fe80::1%eth 0',
    'fe80::1%eth0%eth1',
    'a'.repeat(10_000),
  ])('refuses %j', (input) => {
    expect(normalizeIp(input)).toBeNull();
  });
});

describe('compileTrust', () => {
  it('trusts nothing with an empty list', () => {
    const trust = compileTrust([]);
    for (const ip of ['127.0.0.1', '::1', '10.0.0.1', '0.0.0.0']) expect(trust(ip)).toBe(false);
  });

  it.each<[string[], string[], string[]]>([
    [['10.0.0.1'], ['10.0.0.1', '::ffff:10.0.0.1', '::ffff:a00:1'], ['10.0.0.2', '10.0.0.10']],
    [['10.0.0.2/26'], ['10.0.0.1', '10.0.0.63'], ['10.0.0.64', '10.0.1.1']],
    [['10.0.0.2/255.255.255.192'], ['10.0.0.1', '10.0.0.63'], ['10.0.0.64']],
    [['10.0.0.0/255.0.0.0'], ['10.255.255.255'], ['11.0.0.0']],
    [['fe80::/10'], ['fe80::1', 'febf::1', 'fe80::1%eth0'], ['fec0::1', '::1']],
    [['2001:db8::1'], ['2001:DB8:0:0::1'], ['2001:db8::2']],
    [
      ['loopback'],
      ['127.0.0.1', '127.255.255.254', '::1', '::ffff:127.0.0.1'],
      ['128.0.0.1', '::2', '10.0.0.1'],
    ],
    [['linklocal'], ['169.254.0.1', '169.254.255.255', 'fe80::abcd'], ['169.253.0.1', 'fec0::1']],
    [
      ['uniquelocal'],
      ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', 'fc00::1', 'fdff::1'],
      ['172.32.0.1', '172.15.255.255', '192.169.0.1', 'fe00::1', '127.0.0.1'],
    ],
    [['loopback', 'uniquelocal'], ['127.0.0.1', '10.0.0.1', 'fd00::1'], ['203.0.113.1']],
    // IPv4-mapped configuration matches the IPv4 form and vice versa (as proxy-addr does).
    [['::ffff:10.0.0.1'], ['10.0.0.1', '::ffff:a00:1'], ['10.0.0.2']],
    [['::ffff:a00:2/122'], ['10.0.0.1', '10.0.0.63', '::ffff:a00:3f'], ['10.0.0.64']],
    // An IPv6 range that covers the mapped space covers the IPv4 addresses in it.
    [['::/80'], ['::1', '1.2.3.4'], ['2001:db8::1']],
    [[' 10.0.0.1 ', '\t10.0.0.2'], ['10.0.0.1', '10.0.0.2'], ['10.0.0.3']],
  ])('with %j trusts %j and not %j', (entries, trusted, untrusted) => {
    const trust = compileTrust(entries);
    for (const ip of trusted) expect(trust(ip), ip).toBe(true);
    for (const ip of untrusted) expect(trust(ip), ip).toBe(false);
  });

  it('answers false, never throws, for things that are not addresses', () => {
    const trust = compileTrust(['loopback', 'uniquelocal']);
    for (const text of ['', 'unknown', '1.2.3', '::g', '127.0.0.1:80', '[::1]', '010.0.0.1']) {
      expect(trust(text), text).toBe(false);
    }
  });

  it('does not alter its input', () => {
    const entries = Object.freeze(['loopback', '10.0.0.0/8']);
    expect(() => compileTrust(entries)).not.toThrow();
    expect(entries).toEqual(['loopback', '10.0.0.0/8']);
  });

  it.each<[unknown[], RegExp]>([
    [['blargh'], /^trusted proxy at index 0: not an IP address, CIDR or range name/],
    [['loopback', '10.0.300.1/16'], /^trusted proxy at index 1: not an IP address/],
    [['LOOPBACK'], /index 0: not an IP address/],
    [['__proto__'], /index 0: not an IP address/],
    [['constructor'], /index 0: not an IP address/],
    [['localhost'], /index 0: not an IP address/],
    [['10.1'], /index 0: not an IP address/],
    [['010.0.0.1'], /index 0: not an IP address/],
    [['0x0a.0.0.1'], /index 0: not an IP address/],
    [['10.0.0.1:80'], /index 0: not an IP address/],
    [['10.0.0.0/8, 10.0.0.1'], /index 0: prefix is neither/],
    [['::ffff:a00:2/136'], /index 0: prefix length must be 1\.\.128/],
    [['10.0.0.1/33'], /index 0: prefix length must be 1\.\.32/],
    [['::ffff:a00:2/-1'], /index 0: prefix length is not a number/],
    [['fe80::/ffc0::'], /index 0: prefix length is not a number/],
    [['fe80::/010'], /index 0: prefix length is not a number/],
    [['10.0.0.1/255.0.255.0'], /index 0: netmask is not contiguous/],
    [['10.0.0.1/ffc0::'], /index 0: prefix is neither a length nor an IPv4 netmask/],
    [['10.0.0.1/'], /index 0: prefix is neither/],
    [['10.0.0.0/0'], /index 0: prefix length 0 would trust every address/],
    [['::/0'], /index 0: prefix length 0 would trust every address/],
    [['0.0.0.0/0.0.0.0'], /index 0: prefix length 0 would trust every address/],
    [['::ffff:0:0/96'], /index 0: prefix would trust every IPv4 address/],
    [['fe80::1%eth0'], /index 0: zone ids are not allowed/],
    [['loopback', ''], /index 1: empty/],
    [['   '], /index 0: empty/],
    [[42], /index 0: not a string/],
    [[null], /index 0: not a string/],
  ])('refuses %j at start-up with a TypeError naming the position and rule', (entries, message) => {
    const compile = () => compileTrust(entries as string[]);
    expect(compile).toThrow(TypeError);
    expect(compile).toThrow(message);
  });

  it('never echoes the bad value in the error', () => {
    try {
      compileTrust(['10.0.0.0/8', 'secret-host.internal']);
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain('secret-host');
    }
  });
});

describe('resolveClientIp', () => {
  describe('proxy-addr vectors', () => {
    it.each<[string, string, string | undefined, TrustPredicate, ClientIp]>([
      ['trust none: the socket', '127.0.0.1', '10.0.0.1', trustNone, socket('127.0.0.1')],
      [
        'no header: the socket',
        '127.0.0.1',
        undefined,
        compileTrust(['loopback']),
        socket('127.0.0.1'),
      ],
      [
        'trust loopback',
        '127.0.0.1',
        '10.0.0.1',
        compileTrust(['loopback']),
        forwarded('10.0.0.1'),
      ],
      [
        'trust all: the furthest hop',
        '127.0.0.1',
        '10.0.0.1, 10.0.0.2',
        trustAll,
        forwarded('10.0.0.1'),
      ],
      [
        'trust both proxies',
        '10.0.0.1',
        '192.168.0.1, 10.0.0.2',
        compileTrust(['10.0.0.1', '10.0.0.2']),
        forwarded('192.168.0.1'),
      ],
      [
        'first untrusted after the trusted socket',
        '10.0.0.1',
        '192.168.0.1, 10.0.0.2',
        compileTrust(['10.0.0.1']),
        forwarded('10.0.0.2'),
      ],
      [
        'does not skip an untrusted hop',
        '10.0.0.1',
        '10.0.0.3, 192.168.0.1, 10.0.0.2',
        compileTrust(['10.0.0.1', '10.0.0.2']),
        forwarded('192.168.0.1'),
      ],
      [
        'CIDR',
        '10.0.0.1',
        '10.0.0.200, 10.0.0.2',
        compileTrust(['10.0.0.2/26']),
        forwarded('10.0.0.200'),
      ],
      [
        'netmask',
        '10.0.0.1',
        '10.0.0.200, 10.0.0.2',
        compileTrust(['10.0.0.2/255.255.255.192']),
        forwarded('10.0.0.200'),
      ],
      [
        'IPv6',
        'fe80::1',
        '2002:c000:203::1, fe80::2',
        compileTrust(['fe80::/10']),
        forwarded('2002:c000:203::1'),
      ],
      [
        'IPv4 trust matches a mapped socket',
        '::ffff:a00:1',
        '192.168.0.1, ::ffff:a00:2',
        compileTrust(['10.0.0.1']),
        forwarded('10.0.0.2'),
      ],
      [
        'mapped trust matches an IPv4 socket',
        '10.0.0.1',
        '192.168.0.1, 10.0.0.2',
        compileTrust(['::ffff:a00:1']),
        forwarded('10.0.0.2'),
      ],
      [
        'mapped CIDR matches IPv4 hops',
        '10.0.0.1',
        '192.168.0.1, 10.0.0.2',
        compileTrust(['::ffff:a00:2/122']),
        forwarded('192.168.0.1'),
      ],
      [
        'all hops trusted: the leftmost',
        '127.0.0.1',
        '10.0.0.9, 127.0.0.2',
        compileTrust(['loopback', 'uniquelocal']),
        forwarded('10.0.0.9'),
      ],
    ])('%s', (_name, socketAddress, header, trust, expected) => {
      expect(resolveClientIp(socketAddress, header, trust)).toEqual(expected);
    });
  });

  describe('spoofing', () => {
    const trust = compileTrust(['uniquelocal']);

    it.each(['1.1.1.1', '10.0.0.5', '127.0.0.1, 10.0.0.5', 'unknown', '', 'a'.repeat(100_000)])(
      'ignores X-Forwarded-For %j from an untrusted peer entirely',
      (header) => {
        expect(resolveClientIp('203.0.113.9', header, trust)).toEqual(socket('203.0.113.9'));
        expect(resolveClientIp('203.0.113.9', [header, header], trust)).toEqual(
          socket('203.0.113.9'),
        );
      },
    );

    it('never takes the leftmost entry blindly', () => {
      const header = '6.6.6.6, 7.7.7.7, 203.0.113.9';
      expect(resolveClientIp('10.0.0.1', header, trust)).toEqual(forwarded('203.0.113.9'));
    });

    it('does not let a client pose as a trusted hop', () => {
      // The client sent "X-Forwarded-For: 10.0.0.5"; the trusted proxy appended its peer.
      expect(resolveClientIp('10.0.0.1', '10.0.0.5, 203.0.113.9', trust)).toEqual(
        forwarded('203.0.113.9'),
      );
    });

    it('ignores entries left of the answer, malformed or not', () => {
      expect(resolveClientIp('10.0.0.1', 'garbage, 203.0.113.9', trust)).toEqual(
        forwarded('203.0.113.9'),
      );
    });
  });

  describe('malformed hops', () => {
    const trust = compileTrust(['uniquelocal']);
    const malformed = (ip: string, source: ClientIp['source']): ClientIp => ({
      ip,
      source,
      anomaly: 'malformed_hop',
    });

    it.each([
      'unknown',
      '1.2.3',
      '::g',
      '',
      ' , ',
      ',',
      '203.0.113.9,',
      '1.2.3.4:80',
      '[2001:db8::1]',
      '[2001:db8::1]:443',
      '_hidden',
      'for=203.0.113.9',
      '203.0.113.9 198.51.100.1',
      '\u00a0203.0.113.9',
      '01.2.3.4',
      '203.0.113.9%eth0',
      'a'.repeat(1_000_000),
    ])('stops at %j and falls back to the trusted socket', (header) => {
      expect(resolveClientIp('10.0.0.1', header, trust)).toEqual(malformed('10.0.0.1', 'socket'));
    });

    it('falls back to the nearest trusted hop walked', () => {
      expect(resolveClientIp('10.0.0.1', 'unknown, 10.0.0.2', trust)).toEqual(
        malformed('10.0.0.2', 'forwarded'),
      );
      expect(resolveClientIp('10.0.0.1', '203.0.113.9, , 10.0.0.3, 10.0.0.2', trust)).toEqual(
        malformed('10.0.0.3', 'forwarded'),
      );
    });

    it('does not return a non-address where proxy-addr would', () => {
      // proxy-addr answers 'proxy' here; a name cannot be rate-limited, so we stop before it.
      const loopback = compileTrust(['loopback']);
      expect(resolveClientIp('127.0.0.1', 'myrouter, 127.0.0.1, proxy', loopback)).toEqual(
        malformed('127.0.0.1', 'socket'),
      );
    });

    it('accepts spaces and tabs around hops, nothing else', () => {
      expect(resolveClientIp('10.0.0.1', ' 203.0.113.9 ,\t10.0.0.2\t', trust)).toEqual(
        forwarded('203.0.113.9'),
      );
    });
  });

  describe('several header lines', () => {
    const trust = compileTrust(['uniquelocal']);

    it.each<string[]>([
      ['203.0.113.9', '10.0.0.2'],
      ['1.1.1.1, 203.0.113.9', '10.0.0.2, 10.0.0.3'],
      ['203.0.113.9', ''],
      ['203.0.113.9,', '10.0.0.2'],
      ['10.0.0.7', '10.0.0.2'],
      ['unknown', '10.0.0.2, 10.0.0.3'],
    ])('reads %j exactly as the lines joined by commas', (...lines) => {
      expect(resolveClientIp('10.0.0.1', lines, trust)).toEqual(
        resolveClientIp('10.0.0.1', lines.join(','), trust),
      );
    });

    it('treats no lines as no header', () => {
      expect(resolveClientIp('10.0.0.1', [], trust)).toEqual(socket('10.0.0.1'));
    });
  });

  describe('normalisation', () => {
    it.each<[string, string | undefined, ClientIp]>([
      ['::ffff:203.0.113.9', undefined, socket('203.0.113.9')],
      ['2001:DB8:0:0::1', undefined, socket('2001:db8::1')],
      ['fe80::1%eth0', undefined, socket('fe80::1')],
      ['10.0.0.1', '2001:DB8:0:0::1', forwarded('2001:db8::1')],
      ['10.0.0.1', '::ffff:203.0.113.9', forwarded('203.0.113.9')],
      ['::ffff:10.0.0.1', '203.0.113.9', forwarded('203.0.113.9')],
      ['fe80::1%eth0', '203.0.113.9, fe80::2%en0', forwarded('203.0.113.9')],
    ])('socket %j with %j resolves to %j', (socketAddress, header, expected) => {
      const trust = compileTrust(['uniquelocal', 'linklocal']);
      expect(resolveClientIp(socketAddress, header, trust)).toEqual(expected);
    });

    it('asks the predicate about normalised addresses only', () => {
      const trust = vi.fn<TrustPredicate>(() => true);
      resolveClientIp('::ffff:10.0.0.1', '2001:DB8::1, fe80::1%eth0', trust);
      expect(trust.mock.calls).toEqual([['10.0.0.1'], ['fe80::1'], ['2001:db8::1']]);
    });
  });

  describe('missing socket address', () => {
    it.each([undefined, '', 'garbage', '10.0.0.1:443'])(
      'ignores the header when the socket address is %j',
      (socketAddress) => {
        expect(resolveClientIp(socketAddress, '203.0.113.9', trustAll)).toEqual({
          ip: '',
          source: 'socket',
          anomaly: 'no_socket_address',
        });
      },
    );
  });

  describe('bounded work', () => {
    const trust = compileTrust(['uniquelocal']);
    const hops = (count: number, ip: string) => Array.from({ length: count }, () => ip).join(', ');

    it(`walks at most ${MAX_FORWARDED_HOPS} hops of a 2,000-hop header`, () => {
      const predicate = vi.fn(trust);
      const header = `203.0.113.9, ${hops(2_000, '10.0.0.2')}`;
      const started = performance.now();
      const result = resolveClientIp('10.0.0.1', header, predicate);
      expect(performance.now() - started).toBeLessThan(50);
      expect(result).toEqual({ ip: '10.0.0.2', source: 'forwarded', anomaly: 'too_many_hops' });
      expect(predicate).toHaveBeenCalledTimes(1 + MAX_FORWARDED_HOPS);
    });

    it('stops at the first untrusted hop of a 2,000-hop header', () => {
      const predicate = vi.fn(trust);
      const result = resolveClientIp('10.0.0.1', hops(2_000, '203.0.113.9'), predicate);
      expect(result).toEqual(forwarded('203.0.113.9'));
      expect(predicate).toHaveBeenCalledTimes(2);
    });

    it('stops at the first malformed hop of a 2,000-hop header', () => {
      const result = resolveClientIp('10.0.0.1', hops(2_000, 'x'), trust);
      expect(result).toEqual({ ip: '10.0.0.1', source: 'socket', anomaly: 'malformed_hop' });
    });

    it('bounds 2,000 header lines the same way', () => {
      const lines = Array.from({ length: 2_000 }, () => '10.0.0.2');
      const result = resolveClientIp('10.0.0.1', lines, trust);
      expect(result.anomaly).toBe('too_many_hops');
    });

    it('reports no anomaly for exactly the maximum number of trusted hops', () => {
      const header = hops(MAX_FORWARDED_HOPS, '10.0.0.2');
      expect(resolveClientIp('10.0.0.1', header, trust)).toEqual(forwarded('10.0.0.2'));
    });

    it('takes the hop budget as an option', () => {
      const header = '203.0.113.9, 10.0.0.4, 10.0.0.3, 10.0.0.2';
      expect(resolveClientIp('10.0.0.1', header, trust, { maxHops: 2 })).toEqual({
        ip: '10.0.0.3',
        source: 'forwarded',
        anomaly: 'too_many_hops',
      });
      expect(resolveClientIp('10.0.0.1', header, trust, { maxHops: 4 })).toEqual(
        forwarded('203.0.113.9'),
      );
    });
  });
});

describe('clientKey', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2ff::1', '2001:db8:1:200::/56'],
    ['2001:DB8:1:2FF:0:0:0:1', '2001:db8:1:200::/56'],
    ['fe80::1%eth0', 'fe80::/56'],
    ['::1', '::/56'],
  ])('keys %j as %j by default', (ip, key) => {
    expect(clientKey(ip)).toBe(key);
  });

  it('defaults to POSTERN_IPV6_PREFIX', () => {
    expect(DEFAULTS.POSTERN_IPV6_PREFIX).toBe(56);
    expect(clientKey('2001:db8:1:2ff::1')).toBe(
      clientKey('2001:db8:1:2ff::1', DEFAULTS.POSTERN_IPV6_PREFIX),
    );
  });

  it('gives every /64 of one /56 the same key', () => {
    const keys = new Set(
      [
        '2001:db8:1:200::1',
        '2001:db8:1:201::1',
        '2001:db8:1:240:abcd::9',
        '2001:db8:1:2ff:ffff:ffff:ffff:ffff',
      ].map((ip) => clientKey(ip, 56)),
    );
    expect([...keys]).toEqual(['2001:db8:1:200::/56']);
  });

  it('gives different /56s different keys', () => {
    expect(clientKey('2001:db8:1:300::1', 56)).toBe('2001:db8:1:300::/56');
    expect(clientKey('2001:db8:1:1ff::1', 56)).toBe('2001:db8:1:100::/56');
    expect(clientKey('2001:db8:2:200::1', 56)).not.toBe(clientKey('2001:db8:1:200::1', 56));
  });

  it.each<[string, number, string]>([
    ['2001:db8:1:2ff:aaaa::1', 64, '2001:db8:1:2ff::/64'],
    ['2001:db8:1:2ff:aaaa::1', 48, '2001:db8:1::/48'],
    ['2001:db8:1:2ff:aaaa::1', 60, '2001:db8:1:2f0::/60'],
    ['2001:db8:1:2ff:aaaa::1', 128, '2001:db8:1:2ff:aaaa::1/128'],
    ['2001:db8:1:2ff:aaaa::1', 1, '::/1'],
    ['ffff::1', 1, '8000::/1'],
    ['203.0.113.9', 48, '203.0.113.9'],
  ])('keys %j with prefix %i as %j', (ip, prefix, key) => {
    expect(clientKey(ip, prefix)).toBe(key);
  });

  it.each(['', 'unknown', '1.2.3', 'a'.repeat(1_000)])(
    'puts the non-address %j in one shared bucket',
    (ip) => {
      expect(clientKey(ip)).toBe(UNKNOWN_CLIENT_KEY);
    },
  );

  it.each([0, -1, 129, 56.5, Number.NaN])('refuses prefix %d', (prefix) => {
    expect(() => clientKey('2001:db8::1', prefix)).toThrow(RangeError);
  });
});
