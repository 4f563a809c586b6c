import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** IPv4-mapped IPv6 (::ffff:203.0.113.7, as a dual-stack socket reports IPv4 peers) is its IPv4 address. */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.isValid(text)) return null;
  const address = ipaddr.parse(text);
  return address instanceof ipaddr.IPv6 && address.isIPv4MappedAddress() ? address.toIPv4Address() : address;
}

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
    const address = parseAddress(sourceIp);
    const allowed = address !== null && ranges.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));
    if (decided.size >= 256) decided.clear();
    decided.set(sourceIp, allowed);
    return allowed;
  };
}
