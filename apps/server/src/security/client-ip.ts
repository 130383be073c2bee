/**
 * Client IP (SPEC §5): which address a request really comes from, and the rate-limit key for it.
 * In the spirit of `proxy-addr`: the trusted-proxy list is compiled once into a predicate, and a
 * bad entry throws at start-up, never per request. Addresses are parsed strictly here (dotted-quad
 * IPv4 and RFC 4291 IPv6 only); `ipaddr.js` is used for matching and RFC 5952 formatting.
 */
import { DEFAULTS } from '@postern/protocol';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

interface Subnet {
  readonly network: Address;
  readonly bits: number;
}

/** Whether an address (any textual form) belongs to a trusted proxy. Never throws. */
export type TrustPredicate = (address: string) => boolean;

/** Something about the request's addresses that an operator may want to see in the logs. */
export type ClientIpAnomaly = 'malformed_hop' | 'no_socket_address' | 'too_many_hops';

/** The resolved client address: normalised (IPv4-mapped → IPv4, RFC 5952 IPv6, no zone id). */
export interface ClientIp {
  readonly ip: string;
  readonly source: 'socket' | 'forwarded';
  readonly anomaly?: ClientIpAnomaly;
}

export interface ResolveOptions {
  /** Most `X-Forwarded-For` hops examined. Default {@link MAX_FORWARDED_HOPS}. */
  readonly maxHops?: number;
}

/** Default hop budget: far beyond any real proxy chain, small enough that a huge header is cheap. */
export const MAX_FORWARDED_HOPS = 32;

/** Rate-limit key shared by every request whose address could not be determined. */
export const UNKNOWN_CLIENT_KEY = 'unknown';

// The names proxy-addr understands, with the same ranges (RFC 1122/4291, 3927/4291, 1918/4193).
const NAMED_RANGES: ReadonlyMap<string, readonly string[]> = new Map([
  ['loopback', ['127.0.0.1/8', '::1/128']],
  ['linklocal', ['169.254.0.0/16', 'fe80::/10']],
  ['uniquelocal', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']],
]);

// Dotted-quad only, no leading zeros: '010.1' or '0x7f.1' mean different hosts to different
// parsers (inet_aton octal/hex), so a forged hop could be keyed apart from the real address.
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;
// RFC 6874 zone ids are unreserved characters; anything else after '%' is garbage, not a zone.
const ZONE_ID = /^[0-9A-Za-z._~-]{1,64}$/;
const PREFIX = /^(?:0|[1-9]\d{0,2})$/;
// 45 = 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255', plus '%' and a 64-character zone id.
const ADDRESS_MAX_LENGTH = 110;

function parseIpv4Octets(text: string): [number, number, number, number] | null {
  if (!IPV4.test(text)) return null;
  const [a = 0, b = 0, c = 0, d = 0] = text.split('.').map(Number);
  return [a, b, c, d];
}

function parseHexGroups(text: string): number[] | null {
  const groups: number[] = [];
  for (const group of text.split(':')) {
    if (!HEX_GROUP.test(group)) return null;
    groups.push(Number.parseInt(group, 16));
  }
  return groups;
}

/** RFC 4291 §2.2 text forms (with at most one '::' and an optional dotted-quad tail). */
function parseIpv6Parts(text: string): number[] | null {
  let body = text;
  const tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (lastColon < 0) return null;
  if (body.includes('.', lastColon)) {
    const octets = parseIpv4Octets(body.slice(lastColon + 1));
    if (octets === null) return null;
    tail.push((octets[0] << 8) | octets[1], (octets[2] << 8) | octets[3]);
    body = body.slice(0, lastColon + 1);
    if (!body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return null;
  const [left = '', right] = halves;
  if (right === undefined) {
    const groups = parseHexGroups(left);
    return groups !== null && groups.length + tail.length === 8 ? [...groups, ...tail] : null;
  }
  const head = left === '' ? [] : parseHexGroups(left);
  const rest = right === '' ? [] : parseHexGroups(right);
  if (head === null || rest === null) return null;
  const zeros = 8 - head.length - rest.length - tail.length;
  if (zeros < 1) return null; // '::' stands for at least one group (RFC 4291 §2.2)
  return [...head, ...new Array<number>(zeros).fill(0), ...rest, ...tail];
}

/** Parses one address; IPv6 zone ids are validated and dropped. Mapped IPv4 stays IPv6 here. */
function parseAddress(text: string): Address | null {
  if (text.length === 0 || text.length > ADDRESS_MAX_LENGTH) return null;
  if (!text.includes(':')) {
    const octets = parseIpv4Octets(text);
    return octets === null ? null : new ipaddr.IPv4(octets);
  }
  const percent = text.indexOf('%');
  // A zone id names an interface of the host that saw the address; it is not part of who it is.
  if (percent >= 0 && !ZONE_ID.test(text.slice(percent + 1))) return null;
  const parts = parseIpv6Parts(percent >= 0 ? text.slice(0, percent) : text);
  return parts === null ? null : new ipaddr.IPv6(parts);
}

function isIpv4Mapped(address: ipaddr.IPv6): boolean {
  const p = address.parts;
  return p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0xffff;
}

/** `::ffff:a.b.c.d` is the IPv4 host a.b.c.d on a dual-stack socket: one client, one key. */
function unmap(address: Address): Address {
  return address instanceof ipaddr.IPv6 && isIpv4Mapped(address)
    ? address.toIPv4Address()
    : address;
}

function format(address: Address): string {
  return address instanceof ipaddr.IPv6 ? address.toRFC5952String() : address.toString();
}

/**
 * Normalises an address: IPv4-mapped IPv6 → IPv4, IPv6 → RFC 5952 (compressed, lower-case), zone
 * id dropped. Returns null for anything that is not strictly an IP address (ports, brackets,
 * hostnames, `1.2.3`, octal or hex IPv4 forms).
 *
 * @example normalizeIp('::FFFF:10.0.0.1') === '10.0.0.1'
 */
export function normalizeIp(text: string): string | null {
  const address = parseAddress(text);
  return address === null ? null : format(unmap(address));
}

function trustError(index: number, rule: string): TypeError {
  // Position and rule only: start-up messages never echo configuration values (SPEC §6).
  return new TypeError(`trusted proxy at index ${index}: ${rule}`);
}

function netmaskBits(text: string, network: Address, index: number): number {
  if (network.kind() !== 'ipv4') throw trustError(index, 'prefix length is not a number');
  const mask = parseIpv4Octets(text);
  if (mask === null) throw trustError(index, 'prefix is neither a length nor an IPv4 netmask');
  const bits = new ipaddr.IPv4(mask).prefixLengthFromSubnetMask();
  if (bits === null) throw trustError(index, 'netmask is not contiguous');
  return bits;
}

function parsePrefix(text: string, network: Address, index: number): number {
  const max = network.kind() === 'ipv4' ? 32 : 128;
  const bits = PREFIX.test(text) ? Number(text) : netmaskBits(text, network, index);
  // '/0' trusts every address, i.e. believes any forged X-Forwarded-For (proxy-addr refuses it too).
  if (bits === 0) throw trustError(index, 'prefix length 0 would trust every address');
  if (bits > max) throw trustError(index, `prefix length must be 1..${max}`);
  return bits;
}

function parseSubnet(entry: string, index: number): Subnet {
  const slash = entry.indexOf('/');
  const addressText = slash < 0 ? entry : entry.slice(0, slash);
  // Zone ids are local interface names; they mean nothing in a shared configuration.
  if (addressText.includes('%')) throw trustError(index, 'zone ids are not allowed');
  const network = parseAddress(addressText);
  if (network === null) {
    throw trustError(
      index,
      'not an IP address, CIDR or range name (loopback, linklocal, uniquelocal)',
    );
  }
  const max = network.kind() === 'ipv4' ? 32 : 128;
  const bits = slash < 0 ? max : parsePrefix(entry.slice(slash + 1), network, index);
  // A mapped range is stored as IPv4 so both sides compare in one family (as proxy-addr does).
  if (network instanceof ipaddr.IPv6 && isIpv4Mapped(network) && bits >= 96) {
    // '::ffff:0:0/96' is every IPv4 address: the same forged-header hole as '0.0.0.0/0'.
    if (bits === 96) throw trustError(index, 'prefix would trust every IPv4 address');
    return { network: network.toIPv4Address(), bits: bits - 96 };
  }
  return { network, bits };
}

/**
 * Compiles `POSTERN_TRUSTED_PROXIES` entries into a predicate, once, at start-up.
 *
 * Entries: an IPv4/IPv6 address, a CIDR (`10.0.0.0/8`, `fe80::/10`, `10.0.0.0/255.0.0.0`), or one
 * of the names `loopback`, `linklocal`, `uniquelocal`. Surrounding spaces are ignored. An empty
 * list trusts nothing. IPv4-mapped IPv6 addresses match as their IPv4 form on both sides.
 *
 * @throws TypeError naming the index and rule of the first bad entry (never its value).
 * @example const trust = compileTrust(['loopback', '10.0.0.0/8']); trust('10.1.2.3') === true
 */
export function compileTrust(entries: readonly string[]): TrustPredicate {
  const v4: Subnet[] = [];
  const v6: Subnet[] = [];
  entries.forEach((raw: unknown, index) => {
    if (typeof raw !== 'string') throw trustError(index, 'not a string');
    const entry = raw.trim();
    if (entry === '') throw trustError(index, 'empty');
    const notes = NAMED_RANGES.get(entry) ?? [entry];
    for (const note of notes) {
      const subnet = parseSubnet(note, index);
      (subnet.network.kind() === 'ipv4' ? v4 : v6).push(subnet);
    }
  });
  if (v4.length === 0 && v6.length === 0) return () => false;
  return (text) => {
    const parsed = parseAddress(text);
    if (parsed === null) return false;
    const address = unmap(parsed);
    if (address instanceof ipaddr.IPv6) return v6.some((s) => address.match(s.network, s.bits));
    if (v4.some((s) => address.match(s.network, s.bits))) return true;
    // An IPv6 range may still cover the IPv4 address in its mapped form (e.g. '::ffff:0:0/80').
    if (v6.length === 0) return false;
    const mapped = address.toIPv4MappedAddress();
    return v6.some((s) => mapped.match(s.network, s.bits));
  };
}

const isOws = (c: string | undefined) => c === ' ' || c === '\t';

/** Optional whitespace around list members is SP / HTAB only (RFC 9110 §5.6.1, §5.6.3). */
function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text[start])) start += 1;
  while (end > start && isOws(text[end - 1])) end -= 1;
  return text.slice(start, end);
}

/**
 * `X-Forwarded-For` members from the right (nearest hop first), lazily: a 2,000-entry header
 * costs only the hops actually examined. Several header lines count as one list joined by commas.
 */
function* hopsFromRight(header: string | readonly string[]): Generator<string> {
  const lines = typeof header === 'string' ? [header] : header;
  for (let l = lines.length - 1; l >= 0; l -= 1) {
    const line = lines[l] ?? '';
    let end = line.length;
    for (;;) {
      const comma = end === 0 ? -1 : line.lastIndexOf(',', end - 1);
      yield trimOws(line.slice(comma + 1, end));
      if (comma < 0) break;
      end = comma;
    }
  }
}

/**
 * Resolves the client address of a request (SPEC §5). The socket address is the answer unless
 * `trust` accepts it; then `X-Forwarded-For` is walked from the right and the first address that is
 * not trusted is the answer. If every hop is trusted, the leftmost one walked is.
 *
 * - A malformed hop (not strictly an IP address: `unknown`, empty, `1.2.3.4:80`, `[::1]`, …) stops
 *   the walk: the answer is the nearest address already verified, with `anomaly: 'malformed_hop'`.
 *   Ports are deliberately not parsed: no common proxy appends them, and a trusted proxy that does
 *   is misconfigured; keying on that proxy is the conservative outcome.
 * - At most `maxHops` hops are examined; beyond that the last one walked is the answer, with
 *   `anomaly: 'too_many_hops'`.
 * - Without a (valid) socket address, `X-Forwarded-For` is ignored and `ip` is `''`, with
 *   `anomaly: 'no_socket_address'` (e.g. a socket already destroyed, or a Unix socket).
 * - `X-Real-IP` and `Forwarded` are never consulted.
 *
 * @param socketAddress `socket.remoteAddress`
 * @param forwardedFor the `x-forwarded-for` header value(s) as Node delivers them
 * @example resolveClientIp('10.0.0.1', '203.0.113.7, 10.0.0.2', compileTrust(['10.0.0.0/8']))
 *   // → { ip: '203.0.113.7', source: 'forwarded' }
 */
export function resolveClientIp(
  socketAddress: string | undefined,
  forwardedFor: string | readonly string[] | undefined,
  trust: TrustPredicate,
  options: ResolveOptions = {},
): ClientIp {
  const maxHops = options.maxHops ?? MAX_FORWARDED_HOPS;
  const socketIp = socketAddress === undefined ? null : normalizeIp(socketAddress);
  if (socketIp === null) return { ip: '', source: 'socket', anomaly: 'no_socket_address' };
  // An untrusted peer wrote its X-Forwarded-For itself: every entry is attacker-chosen.
  if (!trust(socketIp) || forwardedFor === undefined) return { ip: socketIp, source: 'socket' };
  let nearest: ClientIp = { ip: socketIp, source: 'socket' };
  let walked = 0;
  for (const hop of hopsFromRight(forwardedFor)) {
    if (walked === maxHops) return { ...nearest, anomaly: 'too_many_hops' };
    walked += 1;
    const ip = normalizeIp(hop);
    // Past a malformed hop nothing is verifiable; the last verified address is the honest answer.
    if (ip === null) return { ...nearest, anomaly: 'malformed_hop' };
    // Never the leftmost blindly: the first untrusted address from the right is the last one a
    // trusted proxy actually saw connecting; everything left of it is client-written.
    if (!trust(ip)) return { ip, source: 'forwarded' };
    nearest = { ip, source: 'forwarded' };
  }
  return nearest;
}

/**
 * The rate-limit key of a resolved client address: IPv4 → the address; IPv6 → its network prefix
 * of `ipv6Prefix` bits in RFC 5952 form with the length, e.g. `2001:db8:1:200::/56`, because one
 * subscriber is routinely handed a whole /56 or /64 and could otherwise rotate keys at will.
 * Anything that is not an address (e.g. `''` from a missing socket) maps to one shared key,
 * {@link UNKNOWN_CLIENT_KEY}, so it cannot be used to mint fresh keys.
 *
 * @param ipv6Prefix 1..128, default `POSTERN_IPV6_PREFIX` (56)
 * @throws RangeError if `ipv6Prefix` is out of range (a configuration bug; validate at start-up)
 * @example clientKey('2001:db8:1:2ff::1') === '2001:db8:1:200::/56'
 */
export function clientKey(ip: string, ipv6Prefix: number = DEFAULTS.POSTERN_IPV6_PREFIX): string {
  if (!Number.isInteger(ipv6Prefix) || ipv6Prefix < 1 || ipv6Prefix > 128) {
    throw new RangeError('ipv6Prefix must be an integer from 1 to 128');
  }
  const parsed = parseAddress(ip);
  if (parsed === null) return UNKNOWN_CLIENT_KEY;
  const address = unmap(parsed);
  if (!(address instanceof ipaddr.IPv6)) return address.toString();
  const network = address.parts.map((part, i) => {
    const keep = Math.min(16, Math.max(0, ipv6Prefix - 16 * i));
    return part & ((0xffff << (16 - keep)) & 0xffff);
  });
  return `${new ipaddr.IPv6(network).toRFC5952String()}/${ipv6Prefix}`;
}
