import { isIP, isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * One text per client address, so that every consumer (budgets, allowlists, the audit and management
 * logs) counts and shows one address as one: `2001:0db8::1`, `2001:DB8:0:0:0:0:0:1` and `2001:db8::1`
 * are one IPv6 address, and `::ffff:198.51.100.9` (how a dual-stack socket reports an IPv4 peer) is
 * `198.51.100.9`.
 */

/** An IPv6 address whose last 32 bits are written as a dotted quad (::ffff:203.0.113.7, ::203.0.113.7). */
const EMBEDDED_IPV4 = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * The address written in `text` (already a valid address by node's parser, which admits only plain
 * dotted-quad IPv4), or null. Only the IPv4-mapped form ::ffff:a.b.c.d is the IPv4 host a.b.c.d, as a
 * dual-stack socket reports IPv4 peers; the deprecated IPv4-compatible ::a.b.c.d is another (IPv6)
 * address. ipaddr.js reads ::a.b.c.d as mapped, so the quad is rewritten as two hex groups before it
 * parses. An address with a zone id (fe80::1%eth0) is null: the zone names an interface of one machine.
 */
export function parseIpAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const family = isIP(text);
  if (family === 0 || text.includes('%')) return null;
  if (family === 4) return ipaddr.IPv4.parse(text);
  const quad = EMBEDDED_IPV4.exec(text);
  const hex = quad ? `${quad[1]}${hexGroup(quad[2], quad[3])}:${hexGroup(quad[4], quad[5])}` : text;
  const address = ipaddr.IPv6.parse(hex);
  return address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
}

function hexGroup(high: string | undefined, low: string | undefined): string {
  return ((Number(high) << 8) | Number(low)).toString(16);
}

/** Canonical IPv6 texts by what was received: a client sends the same text again and again. */
const seen = new Map<string, string>();
const SEEN_MAX = 4096;

/**
 * The canonical text of an address (IPv4 dotted decimal; IPv6 as RFC 5952 writes it, an IPv4-mapped one
 * as its IPv4 address but the IPv4-compatible ::a.b.c.d as IPv6, without a zone), or null when `text` is not an address. Cheap where it matters:
 * node's isIPv4 accepts only plain dotted decimal without leading zeros, which is already canonical, so an
 * IPv4 address is returned as it came, with no parse and no allocation.
 */
export function canonicalIp(text: string): string | null {
  if (isIPv4(text)) return text;
  const known = seen.get(text);
  if (known !== undefined) return known;
  if (!isIPv6(text)) return null;
  // A link-local peer may be reported with its zone (fe80::1%eth0): the zone names our interface, not the peer.
  const percent = text.indexOf('%');
  const address = parseIpAddress(percent === -1 ? text : text.slice(0, percent));
  if (address === null) return null;
  const canonical = address.kind() === 'ipv4' ? address.toString() : (address as ipaddr.IPv6).toRFC5952String();
  if (seen.size >= SEEN_MAX) seen.clear();
  seen.set(text, canonical);
  return canonical;
}

/**
 * The address a failure budget counts: an IPv4 address itself, an IPv6 address its /64 (`2001:db8:1:2::/64`).
 * An IPv6 client is given a whole /64 (SLAAC, privacy addresses), so one address each would give it 2^64
 * budgets. Expects a canonical address (as `request.ip` is once the app's first hook has run).
 */
export function budgetAddress(ip: string): string {
  if (!ip.includes(':')) return ip;
  const canonical = canonicalIp(ip);
  if (canonical === null || !canonical.includes(':')) return canonical ?? ip;
  const network = ipaddr.IPv6.parse(canonical).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...network, 0, 0, 0, 0]).toRFC5952String()}/64`;
}
