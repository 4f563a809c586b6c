import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * One text per client address, so that every consumer (budgets, allowlists, the audit and management
 * logs) counts and shows one address as one: `2001:0db8::1`, `2001:DB8:0:0:0:0:0:1` and `2001:db8::1`
 * are one IPv6 address, and `::ffff:198.51.100.9` (how a dual-stack socket reports an IPv4 peer) is
 * `198.51.100.9`.
 */

/** Canonical IPv6 texts by what was received: a client sends the same text again and again. */
const seen = new Map<string, string>();
const SEEN_MAX = 4096;

/**
 * The canonical text of an address (IPv4 dotted decimal; IPv6 as RFC 5952 writes it, an IPv4-mapped one
 * as its IPv4 address, without a zone), or null when `text` is not an address. Cheap where it matters:
 * node's isIPv4 accepts only plain dotted decimal without leading zeros, which is already canonical, so an
 * IPv4 address is returned as it came, with no parse and no allocation.
 */
export function canonicalIp(text: string): string | null {
  if (isIPv4(text)) return text;
  const known = seen.get(text);
  if (known !== undefined) return known;
  if (!isIPv6(text)) return null;
  const percent = text.indexOf('%');
  const address = ipaddr.IPv6.parse(percent === -1 ? text : text.slice(0, percent));
  const canonical = address.isIPv4MappedAddress() ? address.toIPv4Address().toString() : address.toRFC5952String();
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
