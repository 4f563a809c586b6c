import { hash, randomBytes } from 'node:crypto';
import type { Mode } from '../db/schema.js';

export const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 30 base62 characters carry 178 bits, above the 160 PRODUCT.md asks for. */
export const RANDOM_LENGTH = 30;
/** CRC32 fits in 6 base62 characters (62^6 > 2^32). */
export const CHECKSUM_LENGTH = 6;
const DISPLAY_RANDOM_CHARS = 4;

function toBase62(value: number, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/** Uniform base62 from a CSPRNG: bytes of 248 and above are thrown away so that no character is likelier. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

/** CRC-32 (IEEE 802.3, as zlib's crc32) by table, one byte at a time. */
const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * CRC-32 of the first `end` characters of an ASCII string (a key's characters are all ASCII, where a
 * character is its UTF-8 byte): equal to zlib's crc32 of the same text, in JavaScript, because a call
 * into zlib costs more than the sum over a key's few dozen characters.
 */
export function crc32Ascii(text: string, end: number = text.length): number {
  let crc = -1;
  for (let i = 0; i < end; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

/** A key's body followed by its checksum: what makes `{brand}_{mode}_{random}` a well-formed secret. */
export function withChecksum(body: string): string {
  return body + toBase62(crc32Ascii(body), CHECKSUM_LENGTH);
}

export interface ParsedKey {
  brand: string;
  mode: Mode;
  random: string;
}

export function generateSecret(brand: string, mode: Mode): string {
  return withChecksum(`${brand}_${mode}_${randomBase62(RANDOM_LENGTH)}`);
}

const BRAND = /^[a-z][a-z0-9]{0,11}$/;

/** 1 for the character codes of base62 digits, 0 for every other code below 128. */
const BASE62_CODES = new Uint8Array(128);
for (let i = 0; i < BASE62.length; i++) BASE62_CODES[BASE62.charCodeAt(i)] = 1;

/**
 * The mode of one of our keys: shape, brand and checksum checked without touching storage; null for
 * anything else. Runs on every request, so it reads characters in place (no regular expression, no
 * substrings) and checks the characters and sums the CRC in the same pass.
 */
export function secretMode(secret: string, brand: string): Mode | null {
  const randomAt = brand.length + 6;
  const sumAt = randomAt + RANDOM_LENGTH;
  const length = sumAt + CHECKSUM_LENGTH;
  if (secret.length !== length || !secret.startsWith(brand) || !BRAND.test(brand)) return null;
  const mode: Mode | null = secret.startsWith('_live_', brand.length) ? 'live' : secret.startsWith('_test_', brand.length) ? 'test' : null;
  if (mode === null) return null;
  let crc = -1;
  for (let i = 0; i < sumAt; i++) {
    const code = secret.charCodeAt(i);
    if (i >= randomAt && (code > 127 || BASE62_CODES[code] === 0)) return null;
    crc = CRC_TABLE[(crc ^ code) & 0xff]! ^ (crc >>> 8);
  }
  // The checksum's base62 digits, least significant last, compared without building the string.
  let sum = (crc ^ -1) >>> 0;
  for (let i = length - 1; i >= sumAt; i--) {
    if (secret.charCodeAt(i) !== BASE62.charCodeAt(sum % 62)) return null;
    sum = (sum - (sum % 62)) / 62;
  }
  return mode;
}

/** The length of every key of this brand: `{brand}_{mode}_` then the random part and the checksum. */
export function secretLength(brand: string): number {
  return brand.length + 6 + RANDOM_LENGTH + CHECKSUM_LENGTH;
}

/** Whether `secret` has the shape, brand and checksum of one of our keys (see secretMode). */
export function isWellFormedSecret(secret: string, brand: string): boolean {
  return secretMode(secret, brand) !== null;
}

/** Checks shape, brand and checksum without touching storage; null for anything that is not one of our keys. */
export function parseSecret(secret: string, brand: string): ParsedKey | null {
  const mode = secretMode(secret, brand);
  if (mode === null) return null;
  const randomAt = brand.length + 6;
  return { brand, mode, random: secret.slice(randomAt, randomAt + RANDOM_LENGTH) };
}

/** What lists and audit logs show: brand, mode and the first characters of the random part. */
export function displayPrefix(secret: string): string {
  const parts = secret.split('_');
  const random = parts[2] ?? '';
  return `${parts[0]}_${parts[1]}_${random.slice(0, DISPLAY_RANDOM_CHARS)}…`;
}

/**
 * Secrets carry 178 random bits, so a fast hash is enough: there is nothing to brute-force,
 * and verification stays well under a millisecond.
 */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/**
 * The management API's bearer secrets other than API keys, `{brand}_{kind}_{random}{checksum}` with the same
 * random and checksum rules: `svc` a service key (the SaaS backend's), `ems` an embedded session (a browser's).
 */
export type ManagementSecretKind = 'svc' | 'ems';

/** A service key's (or an embedded session's) secret. */
export function generateServiceSecret(brand: string, kind: ManagementSecretKind = 'svc'): string {
  return withChecksum(`${brand}_${kind}_${randomBase62(RANDOM_LENGTH)}`);
}

/** Whether `secret` has the shape, brand and checksum of one of our service keys (or sessions); storage is not touched. */
export function isWellFormedServiceSecret(secret: string, brand: string, kind: ManagementSecretKind = 'svc'): boolean {
  const randomAt = brand.length + 2 + kind.length;
  const sumAt = randomAt + RANDOM_LENGTH;
  if (secret.length !== sumAt + CHECKSUM_LENGTH || !secret.startsWith(`${brand}_${kind}_`) || !BRAND.test(brand)) return false;
  for (let i = randomAt; i < sumAt; i++) {
    const code = secret.charCodeAt(i);
    if (code > 127 || BASE62_CODES[code] === 0) return false;
  }
  return withChecksum(secret.slice(0, sumAt)) === secret;
}

/** Matches anything shaped like one of our keys (API or service), whatever the brand; used to redact and to scan. */
export const KEY_PATTERN = new RegExp(`\\b[a-z][a-z0-9]{0,11}_(?:live|test|svc|ems)_[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}\\b`, 'g');
