import { randomBytes } from 'node:crypto';

// Crockford's base32: sorts the same as the numbers it encodes, so ids sort by creation time.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix =
  | 'usr' | 'ws' | 'key' | 'sec' | 'ses' | 'mev' | 'req' | 'evt'
  // The reference product API (src/api).
  | 'conv' | 'trc' | 'cont' | 'tkt' | 'scr' | 'agt' | 'whk' | 'kb' | 'acct' | 'pol';

function encode(value: bigint, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(value & 31n)] + out;
    value >>= 5n;
  }
  return out;
}

/**
 * A prefixed, time-sortable id: 48 bits of milliseconds then 80 random bits (as ULID), e.g. `key_01jd…`.
 * Ids made in the same millisecond sort randomly among themselves; nothing relies on finer order.
 */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  const time = encode(BigInt(now), 10);
  const random = encode(BigInt(`0x${randomBytes(10).toString('hex')}`), 16);
  return `${prefix}_${time}${random}`;
}

export function isId(prefix: IdPrefix, value: string): boolean {
  return new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`).test(value);
}

const ID_SHAPE = /^[a-z]+_([0-9a-hjkmnp-tv-z]{10})[0-9a-hjkmnp-tv-z]{16}$/;

/** Past this, the time (with slack) would not fit the four-digit years a database driver writes. */
const LATEST_ID_TIME = Date.UTC(9999, 0, 1);

/** When an id was made (its first 48 bits, as newId encodes them), or null when it is not one of ours. */
export function timeOfId(id: string): Date | null {
  const match = ID_SHAPE.exec(id);
  if (!match?.[1]) return null;
  let ms = 0;
  for (const char of match[1]) ms = ms * 32 + ALPHABET.indexOf(char);
  return ms > LATEST_ID_TIME ? null : new Date(ms);
}
