import ipaddr from 'ipaddr.js';
import { parseIpAddress } from '../http/client-ip.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Compiles a key's allowlist (entries already normalized by normalizeAllowlistEntry) into a matcher.
 * An empty allowlist allows every address; an unparsable source address matches nothing.
 */
export function compileAllowlist(entries: readonly string[]): (sourceIp: string) => boolean {
  if (entries.length === 0) return () => true;
  const ranges: Range[] = entries.map((entry) => {
    if (entry.includes('/')) return ipaddr.parseCIDR(entry);
    const address = ipaddr.parse(entry);
    return [address, address.kind() === 'ipv4' ? 32 : 128];
  });
  // An integration calls from a handful of addresses: remember their answers rather than parse every time.
  const decided = new Map<string, boolean>();
  return (sourceIp) => {
    const known = decided.get(sourceIp);
    if (known !== undefined) return known;
    // IPv4-mapped IPv6 (::ffff:203.0.113.7) is its IPv4 address; IPv4-compatible ::203.0.113.7 is not.
    const address = parseIpAddress(sourceIp);
    const allowed = address !== null && ranges.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));
    if (decided.size >= 256) decided.clear();
    decided.set(sourceIp, allowed);
    return allowed;
  };
}
