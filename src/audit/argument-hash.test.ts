import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { argumentHash, canonicalJson, queryObject } from './argument-hash.js';

// Cases beside audit-pure.test.ts's, which the mutation run (npm run mutation, docs/quality.md) showed no
// test decided: exact canonical forms, the depth bound, and the query object's shape.

describe('canonical JSON', () => {
  const cases: Array<[string, unknown, string]> = [
    ['null', null, 'null'],
    ['undefined', undefined, 'null'],
    ['a string', 'x"y', '"x\\"y"'],
    ['a number', 1.5, '1.5'],
    ['a boolean', false, 'false'],
    ['an empty object', {}, '{}'],
    ['an empty array', [], '[]'],
    ['keys sorted by code unit', { b: 1, B: 2, a: 3 }, '{"B":2,"a":3,"b":1}'],
    ['undefined members left out, null kept', { a: undefined, b: null }, '{"b":null}'],
    ['undefined array items as null', [undefined, 1], '[null,1]'],
    ['nested arrays and objects', { z: [{ y: 1, x: [2, 3] }] }, '{"z":[{"x":[2,3],"y":1}]}'],
  ];
  for (const [name, value, expected] of cases) it(name, () => assert.equal(canonicalJson(value), expected));

  const nest = (depth: number): unknown => (depth === 0 ? 1 : [nest(depth - 1)]);
  it('keeps 64 levels of nesting and cuts the 65th', () => {
    assert.equal(canonicalJson(nest(64)), `${'['.repeat(64)}1${']'.repeat(64)}`);
    assert.equal(canonicalJson(nest(65)), `${'['.repeat(64)}"[nested too deep]"${']'.repeat(64)}`);
  });

  it('cuts a deep object too, and survives a depth far beyond the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    assert.match(canonicalJson(deep), /"\[nested too deep\]"/);
  });
});

describe('query object', () => {
  it('keeps every value of a name in the order sent, and names like any other', () => {
    const query = queryObject('b=2&a=1&b=1&constructor=x&__proto__=y');
    assert.equal(Object.getPrototypeOf(query), null);
    assert.deepEqual({ ...query }, { b: ['2', '1'], a: ['1'], constructor: ['x'], ['__proto__']: ['y'] });
  });

  it('is empty for an empty query', () => assert.deepEqual({ ...queryObject('') }, {}));
});

describe('argument hash', () => {
  it('is SHA-256 of the canonical method (upper case), path, query and body (null when absent)', () => {
    const canonical = '{"body":null,"method":"GET","path":"/api/v1/ping","query":{"a":["1"]}}';
    const expected = createHash('sha256').update(canonical).digest('hex');
    assert.equal(argumentHash({ method: 'get', path: '/api/v1/ping', query: queryObject('a=1'), body: undefined }), expected);
    assert.equal(argumentHash({ method: 'GET', path: '/api/v1/ping', query: queryObject('a=1'), body: null }), expected);
  });
});
