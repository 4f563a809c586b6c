import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Names that resolve inside the network by convention: localhost (RFC 6761), mDNS's .local, and .internal
 * (cloud metadata: metadata.google.internal). A name is refused when it is one of these or ends with one.
 */
const INTERNAL_NAMES = ['localhost', 'local', 'internal'];

/**
 * Anything a URL parser could read differently from the WHATWG parser, or that hides in logs: C0 and C1
 * controls, every kind of whitespace, and the backslash (WHATWG reads `\` as `/` in http(s) URLs, others
 * read `https://a.example\@10.0.0.1/` as a user name and host 10.0.0.1).
 */
const UNSAFE_CHARACTERS = /[\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff\\]/;

/** The host as written, between `//` (after any user info) and the port or path: to see what the parser changed. */
function hostAsWritten(raw: string): string {
  const afterScheme = raw.slice(raw.indexOf(':') + 1).replace(/^\/+/, '');
  const authority = afterScheme.split(/[/?#]/, 1)[0] ?? '';
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  return (host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:[^:]*$/, '')).toLowerCase();
}

/**
 * Why an address is not a public unicast one, as a few words (`loopback`, `private network`, `link-local
 * (cloud metadata)`…), or null when it is public. Refused: loopback, private, link-local (169.254.169.254,
 * the cloud metadata address), carrier-grade NAT, unique-local IPv6 (fd00:ec2::254, AWS's metadata),
 * multicast, broadcast, unspecified, reserved and documentation ranges, and every IPv6 form that carries
 * an IPv4 address (mapped ::ffff:a.b.c.d, NAT64, 6to4, Teredo, the deprecated ::/96), since the IPv4 one
 * inside may be any of the above. The one range check: a URL's literal host when saved
 * (webhookUrlProblem) and every resolved address at connect time (src/events/safe-fetch.ts).
 */
export function nonPublicAddressReason(text: string): string | null {
  if (!ipaddr.isValid(text)) return 'not an IP address';
  const address = ipaddr.parse(text);
  // ipaddr calls the deprecated IPv4-compatible ::a.b.c.d unicast; it is ::/96, which reaches IPv4 hosts.
  if (address instanceof ipaddr.IPv6 && address.parts.slice(0, 6).every((part) => part === 0) && address.range() === 'unicast') {
    return 'an IPv4-compatible IPv6 address';
  }
  const range = address.range();
  if (range === 'unicast') return null;
  return RANGE_WORDS[range] ?? `a ${range} address`;
}

const RANGE_WORDS: Record<string, string> = {
  loopback: 'loopback',
  private: 'a private network address',
  uniqueLocal: 'a private network address (unique local)',
  carrierGradeNat: 'a carrier-grade NAT address',
  linkLocal: 'link-local (includes the cloud metadata address)',
  unspecified: 'the unspecified address',
  multicast: 'multicast',
  broadcast: 'broadcast',
  reserved: 'a reserved address',
  ipv4Mapped: 'an IPv4-mapped IPv6 address',
  rfc6145: 'an IPv4-translated IPv6 address',
  rfc6052: 'a NAT64 address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
};

function publicAddress(text: string): boolean {
  return nonPublicAddressReason(text) === null;
}

/** Where a webhook may point, beyond its shape. */
export interface WebhookUrlRules {
  /** Refuse plain http: deliveries are signed, not encrypted, and carry the workspace's events. */
  httpsOnly?: boolean;
  /** EVENTS_ALLOW_PRIVATE_NETWORKS: tests and private deployments deliver to loopback and private hosts. */
  privateNetworks?: boolean;
}

/**
 * Why a webhook URL is refused, as the end of a sentence that starts with the field's name, or null.
 * The URL's shape only: an http(s) URL with a host name, no credentials, no control characters or
 * whitespace, and a literal IP host only when it is a public address written in dotted decimal
 * (`0x7f.1`, `2130706433` and `127.1` are 127.0.0.1 to the parser). Where a name resolves is a question
 * for delivery time, when each connection's address is checked (no delivery exists yet). With
 * `privateNetworks`, any host is accepted (the shape is still checked).
 */
export function webhookUrlProblem(raw: string, rules: WebhookUrlRules = {}): string | null {
  if (!raw.isWellFormed() || UNSAFE_CHARACTERS.test(raw)) return 'must not contain spaces, backslashes or control characters';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http or https URL';
  if (rules.httpsOnly && !rules.privateNetworks && url.protocol !== 'https:') return 'must be an https URL';
  if (url.username !== '' || url.password !== '') return 'must not contain a user name or password';
  if (rules.privateNetworks) return null;
  const host = url.hostname;
  if (host.startsWith('[')) return publicAddress(host.slice(1, -1)) ? null : 'must not point at a private, loopback or link-local address';
  if (isIP(host) === 4) {
    if (hostAsWritten(raw) !== host) return 'must write an IP address in plain dotted decimal (a.b.c.d)';
    return publicAddress(host) ? null : 'must not point at a private, loopback or link-local address';
  }
  const name = host.replace(/\.$/, '');
  if (!name.includes('.')) return 'must name a host by its full domain name';
  if (INTERNAL_NAMES.some((internal) => name === internal || name.endsWith(`.${internal}`))) return 'must not point at a local or internal host name';
  return null;
}
