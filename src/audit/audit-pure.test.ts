import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSecret } from '../keys/key-format.js';
import { argumentHash, canonicalJson, queryObject, type Arguments } from './argument-hash.js';
import { MAX_PAYLOAD_BYTES, REDACTED, redactPayload, redactUrl } from './redact.js';

describe('argument hash', () => {
  const base: Arguments & { body: Record<string, unknown> } = { method: 'POST', path: '/api/v1/tickets', query: queryObject('a=1&b=2'), body: { subject: 'x', tags: ['a', 'b'], meta: { p: 1, q: 2 } } };

  it('is the same for the same request, whatever the order of fields and parameters', () => {
    const reordered = { method: 'post', path: '/api/v1/tickets', query: queryObject('b=2&a=1'), body: { meta: { q: 2, p: 1 }, tags: ['a', 'b'], subject: 'x' } };
    assert.equal(argumentHash(base), argumentHash(reordered));
    assert.match(argumentHash(base), /^[0-9a-f]{64}$/);
  });

  const changes: Array<[string, Partial<Arguments>]> = [
    ['method', { method: 'PATCH' }],
    ['path', { path: '/api/v1/tickets/tkt_1' }],
    ['a query value', { query: queryObject('a=1&b=3') }],
    ['a repeated parameter', { query: queryObject('a=1&b=2&b=2') }],
    ['a body value', { body: { ...base.body, subject: 'y' } }],
    ['array order', { body: { ...base.body, tags: ['b', 'a'] } }],
    ['a nested value', { body: { ...base.body, meta: { p: 1, q: 3 } } }],
    ['a type', { body: { ...base.body, meta: { p: '1', q: 2 } } }],
    ['no body', { body: null }],
  ];
  for (const [what, change] of changes) {
    it(`changes with ${what}`, () => assert.notEqual(argumentHash({ ...base, ...change }), argumentHash(base)));
  }

  it('serializes canonically', () => {
    assert.equal(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x', u: undefined }), '{"a":"x","b":[2,{"c":null,"d":1}]}');
  });
});

describe('payload redaction', () => {
  const key = generateSecret('lk', 'live');
  const otherBrand = generateSecret('omf', 'test');

  it('hides credential fields at any depth and any string shaped like a key', () => {
    const payload = redactPayload({
      query: { api_key: [key], q: [`find ${otherBrand}`] },
      body: {
        password: 'hunter2hunter2',
        nested: { accessToken: 'abc', 'X-Api-Key': 'k', client_secret: 's', list: [{ Authorization: 'Bearer x' }] },
        note: `my key is ${key}, do not share`,
        subject: 'fine',
      },
    });
    const text = JSON.stringify(payload);
    for (const secret of [key, otherBrand, 'hunter2hunter2', '"abc"', 'Bearer x']) assert.ok(!text.includes(secret), secret);
    assert.equal((payload.body as { subject: string }).subject, 'fine');
    assert.equal((payload.body as { note: string }).note, `my key is ${REDACTED}, do not share`);
  });

  it('keeps only the size of a payload over the bound', () => {
    const payload = redactPayload({ query: {}, body: { text: 'x'.repeat(MAX_PAYLOAD_BYTES) } });
    assert.equal(payload.truncated, true);
    assert.ok((payload.bytes as number) > MAX_PAYLOAD_BYTES);
    assert.equal(payload.body, undefined);
  });
});

describe('url redaction for logs', () => {
  it('masks keys anywhere and credential-named parameters', () => {
    const key = generateSecret('lk', 'live');
    const url = redactUrl(`/api/v1/x/${key}?api_key=${key}&token=t0k&q=find+${key}&limit=5`);
    assert.ok(!url.includes(key) && !url.includes('t0k'));
    assert.match(url, /limit=5/);
    assert.equal(redactUrl('/api/v1/tickets'), '/api/v1/tickets');
  });
});
