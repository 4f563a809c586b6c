import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_PAYLOAD_BYTES, REDACTED, redactPayload, redactUrl } from './redact.js';

// Cases beside audit-pure.test.ts's, which the mutation run (npm run mutation, docs/quality.md) showed no
// test decided: the exact marker, scalars and arrays kept, the depth and size bounds at their edges, NUL in
// names and values, and a query string at the very start of a URL.
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('payload redaction: shapes and bounds', () => {
  it('marks what it removed with [REDACTED]', () => assert.equal(REDACTED, '[REDACTED]'));

  it('keeps numbers, booleans, null and arrays as they are', () => {
    const body = { n: 1.5, yes: true, no: false, none: null, tags: ['a', 2, [true]] };
    assert.deepEqual(plain(redactPayload({ query: {}, body })), { query: {}, body });
  });

  it('redacts a field named apiKey as api_key', () => {
    assert.deepEqual(plain(redactPayload({ query: {}, body: { apiKey: 'x', apikey: 'y', api_key: 'z' } })), { query: {}, body: { apiKey: REDACTED, apikey: REDACTED, api_key: REDACTED } });
  });

  it('replaces NUL in names and values, which jsonb cannot hold', () => {
    assert.deepEqual(plain(redactPayload({ query: { 'a\u0000': ['b\u0000'] }, body: null })), { query: { 'a\uFFFD': ['b\uFFFD'] }, body: null });
  });

  it('keeps 32 levels of objects below the payload and cuts the 33rd, and cuts deep arrays too', () => {
    const nest = (levels: number): unknown => (levels === 0 ? 'leaf' : { a: nest(levels - 1) });
    assert.deepEqual(plain(redactPayload({ query: {}, body: nest(32) })), { query: {}, body: nest(32) });
    const cut = JSON.stringify(redactPayload({ query: {}, body: nest(33) }));
    assert.ok(!cut.includes('leaf') && cut.includes(REDACTED), cut.slice(-80));
    let arrays: unknown = 'leaf';
    for (let i = 0; i < 40; i++) arrays = [arrays];
    const cutArrays = JSON.stringify(redactPayload({ query: {}, body: arrays }));
    assert.ok(!cutArrays.includes('leaf') && cutArrays.includes(REDACTED));
  });

  it('keeps a payload of exactly the size bound, and cuts one byte more', () => {
    const overhead = JSON.stringify({ query: {}, body: '' }).length;
    const exact = { query: {}, body: 'x'.repeat(MAX_PAYLOAD_BYTES - overhead) };
    assert.equal(Buffer.byteLength(JSON.stringify(exact)), MAX_PAYLOAD_BYTES);
    assert.deepEqual(plain(redactPayload(exact)), exact);
    assert.deepEqual(plain(redactPayload({ query: {}, body: `${exact.body}x` })), { truncated: true, bytes: MAX_PAYLOAD_BYTES + 1, query: {} });
  });
});

describe('URL redaction: where the query starts', () => {
  const cases: Array<[string, string]> = [
    ['?token=x', `?token=${encodeURIComponent(REDACTED)}`],
    ['/p?a=1&token=x', `/p?a=1&token=${encodeURIComponent(REDACTED)}`],
    ['/p', '/p'],
  ];
  for (const [url, expected] of cases) it(`${url} → ${expected}`, () => assert.equal(redactUrl(url), expected));
});
