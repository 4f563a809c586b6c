import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Mode } from '../db/schema.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
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
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

function checksum(body: string): string {
  return toBase62(crc32(body), CHECKSUM_LENGTH);
}

export interface ParsedKey {
  brand: string;
  mode: Mode;
  random: string;
}

export function generateSecret(brand: string, mode: Mode): string {
  const body = `${brand}_${mode}_${randomBase62(RANDOM_LENGTH)}`;
  return body + checksum(body);
}

const SHAPE = new RegExp(`^([a-z][a-z0-9]{0,11})_(live|test)_([0-9A-Za-z]{${RANDOM_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`);

/** Checks shape, brand and checksum without touching storage; null for anything that is not one of our keys. */
export function parseSecret(secret: string, brand: string): ParsedKey | null {
  if (secret.length > 64) return null;
  const match = SHAPE.exec(secret);
  if (!match) return null;
  const [, keyBrand, mode, random, sum] = match as unknown as [string, string, Mode, string, string];
  if (keyBrand !== brand) return null;
  if (checksum(`${keyBrand}_${mode}_${random}`) !== sum) return null;
  return { brand: keyBrand, mode, random };
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

/** Matches anything shaped like one of our keys, whatever the brand; used to redact and to scan. */
export const KEY_PATTERN = new RegExp(`\\b[a-z][a-z0-9]{0,11}_(?:live|test)_[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}\\b`, 'g');
