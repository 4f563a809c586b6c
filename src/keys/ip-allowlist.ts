import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { parseIpAddress } from '../http/client-ip.js';

export type AllowlistEntryResult = { ok: true; value: string } | { ok: false; reason: string };

const NOT_AN_ADDRESS: AllowlistEntryResult = { ok: false, reason: 'is not an IP address or CIDR range' };

export { parseIpAddress } from '../http/client-ip.js';

/**
 * Reads one allowlist entry (an IPv4 or IPv6 address, or a CIDR range) into its canonical form.
 * Only plain dotted-quad IPv4 is accepted (not 0x7f.1 and friends), by node's own parser.
 * An IPv4-mapped IPv6 address or range is stored as the IPv4 one it carries, so both spellings match
 * (the IPv4-compatible ::a.b.c.d is not mapped: it stays the IPv6 address it is).
 * A range written with host bits set (10.1.2.3/8) is stored as its network (10.0.0.0/8).
 */
export function normalizeAllowlistEntry(entry: string): AllowlistEntryResult {
  const text = entry.trim();
  if (text.length === 0 || text.length > 64) return NOT_AN_ADDRESS;
  const [addressText = '', bitsText, ...rest] = text.split('/');
  const family = isIP(addressText);
  if (rest.length > 0 || family === 0) return NOT_AN_ADDRESS;
  const zone = addressText.indexOf('%');
  if (zone >= 0) {
    return { ok: false, reason: `has an IPv6 zone id (${addressText.slice(zone, zone + 16)}), which names a network interface of one machine: give the address without it` };
  }
  const plain = parseIpAddress(addressText);
  if (plain === null) return NOT_AN_ADDRESS;
  if (bitsText === undefined) return { ok: true, value: plain.toString() };

  if (!/^\d{1,3}$/.test(bitsText)) return { ok: false, reason: 'has a prefix length that is not a number' };
  const bits = Number(bitsText);
  const maxBits = family === 4 ? 32 : 128;
  if (bits > maxBits) return { ok: false, reason: `has a prefix length above /${maxBits}` };
  const prefix = plain.kind() === 'ipv4' && family === 6 ? bits - 96 : bits;
  if (prefix < 0) return { ok: false, reason: 'is an IPv4-mapped range shorter than /96' };
  const network =
    plain instanceof ipaddr.IPv4
      ? ipaddr.IPv4.networkAddressFromCIDR(`${plain.toString()}/${prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${plain.toString()}/${prefix}`);
  return { ok: true, value: `${network.toString()}/${prefix}` };
}
