import { randomFillSync } from 'node:crypto';

// Crockford's base32: sorts the same as the numbers it encodes, so ids sort by creation time.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export type IdPrefix =
  | 'usr' | 'ws' | 'key' | 'sec' | 'ses' | 'mev' | 'req' | 'evt' | 'inv' | 'svk' | 'emb'
  | 'whe' | 'whs' | 'evd' | 'eva' | 'anf'
  // The reference product API (src/api).
  | 'conv' | 'trc' | 'cont' | 'tkt' | 'scr' | 'agt' | 'whk' | 'kb' | 'acct' | 'pol';

/** The time part: 48 bits of milliseconds as 10 characters (number arithmetic: 2^48 fits exactly). */
function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

// Random bytes are drawn in blocks: one call to the CSPRNG per 409 ids instead of one per id
// (ids are made on every request, for its request id and its audit event).
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;

/** The random part: 80 bits (10 bytes) as 16 characters, 5 bits each. */
function randomPart(): string {
  if (poolOffset + 10 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  let out = '';
  // Two groups of 5 bytes = 40 bits = 8 characters each, read as a number (40 bits fits exactly).
  for (let group = 0; group < 2; group++) {
    let bits = 0;
    for (let i = 0; i < 5; i++) bits = bits * 256 + POOL[poolOffset++]!;
    let chunk = '';
    for (let i = 0; i < 8; i++) {
      chunk = ALPHABET[bits % 32] + chunk;
      bits = Math.floor(bits / 32);
    }
    out += chunk;
  }
  return out;
}

/**
 * A prefixed, time-sortable id: 48 bits of milliseconds then 80 random bits (as ULID), e.g. `key_01jd…`.
 * Ids made in the same millisecond sort randomly among themselves; nothing relies on finer order.
 */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  return `${prefix}_${encodeTime(now)}${randomPart()}`;
}

/** The 26 characters after the prefix and its underscore: time then randomness, in ALPHABET. */
const ID_BODY = /^[0-9a-hjkmnp-tv-z]{26}$/;

/**
 * Whether `value` is an id newId(prefix) could have made: the prefix, `_`, 26 characters of the alphabet.
 * Cheap (no RegExp built per call): every path id of every request is checked with it before a lookup.
 */
export function isId(prefix: IdPrefix, value: string): boolean {
  return value.length === prefix.length + 27 && value.startsWith(prefix) && value[prefix.length] === '_' && ID_BODY.test(value.slice(prefix.length + 1));
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
