import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSecret } from '../keys/key-format.js';
import { newEndpointSecret } from '../events/signing.js';
import { REDACTED, redactPayload, redactSecrets, redactUrl } from './redact.js';

const key = generateSecret('lk', 'live');
const testKey = generateSecret('lk', 'test');
const otherBrand = generateSecret('acme2', 'live');
const webhookSecret = newEndpointSecret();
/** The part of a key nothing may keep: everything after the public display prefix. */
const privatePart = (secret: string) => secret.slice(secret.indexOf('_', 3) + 5);

describe('redactSecrets: every key-shaped string, however it is glued', () => {
  const cases: Array<[string, string, string]> = [
    ['alone', key, REDACTED],
    ['in a path segment', `/api/v1/contacts/${key}`, `/api/v1/contacts/${REDACTED}`],
    ['followed by a letter', `/api/v1/contacts/${key}x`, `/api/v1/contacts/${REDACTED}`],
    ['followed by _old', `${key}_old`, `${REDACTED}_old`],
    ['after key_', `key_${key}`, `key_${REDACTED}`],
    ['after digits and letters', `abc123${testKey}`, REDACTED],
    ['in a user agent', `crm-sync/1.0 (${testKey})`, `crm-sync/1.0 (${REDACTED})`],
    ['of another brand', `x ${otherBrand} y`, `x ${REDACTED} y`],
    ['twice', `${key},${testKey}`, `${REDACTED},${REDACTED}`],
    ['cut short (28 characters of 36)', key.slice(0, -8), REDACTED],
    ['behind %-escapes', `/api/v1/contacts/${key.slice(0, 8)}%${key.charCodeAt(8).toString(16)}${key.slice(9)}`, `/api/v1/contacts/${REDACTED}`],
    ['behind an escaped underscore', key.replaceAll('_', '%5F'), REDACTED],
    ['a webhook signing secret', `secret=${webhookSecret}.`, `secret=${REDACTED}.`],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.equal(redactSecrets(input), expected));
  }

  it('leaves text that is not a key alone, malformed escapes included', () => {
    for (const text of ['/api/v1/tickets', 'integration_test_run', 'lk_live_short', 'lk_live_', '100%', '/x/%zz/lk_test_', 'Mozilla/5.0 (X11; Linux x86_64)', ''])
      assert.equal(redactSecrets(text), text);
  });
});

describe('redactPayload: names as well as values', () => {
  it('replaces a key used as a JSON field name or a query parameter name', () => {
    const payload = redactPayload({ query: { [key]: ['1'], [`q_${testKey}`]: ['x'] }, body: { [key]: { [`${testKey}_old`]: 'v' }, note: `${key}x` } });
    const text = JSON.stringify(payload);
    for (const secret of [key, testKey]) assert.ok(!text.includes(privatePart(secret)), text);
    assert.deepEqual(Object.keys(payload.query as object), [REDACTED, `q_${REDACTED}`]);
    assert.equal(JSON.stringify(payload.body), JSON.stringify({ [REDACTED]: { [`${REDACTED}_old`]: 'v' }, note: REDACTED }));
  });
});

describe('redactUrl: every part of a logged url', () => {
  it('masks keys in the path, in query names and values, glued or not', () => {
    const url = redactUrl(`/api/v1/contacts/${key}x?q=${testKey}_old&${key}=1&key_${otherBrand}=2&limit=5`);
    for (const secret of [key, testKey, otherBrand]) assert.ok(!url.includes(privatePart(secret)), url);
    assert.match(url, /limit=5/);
    assert.ok(url.startsWith(`/api/v1/contacts/${REDACTED}?`));
  });
});
