import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRoutes, unsafePath } from './route-table.js';

const table = compileRoutes([
  { method: 'GET', path: '/v1/status', upstream: 'crm', public: true },
  { method: 'GET', path: '/v1/contacts/{id}', upstream: 'crm', scope: 'contacts:read' },
  { method: 'GET', path: '/v1/contacts/export', upstream: 'crm', scope: 'contacts:export' },
  { method: 'POST', path: '/v1/contacts', upstream: 'crm', scope: 'contacts:write' },
  { method: 'PUT', path: '/v1/contacts/{id}/notes/{note}', upstream: 'notes', scope: 'contacts:write' },
  { method: '*', path: '/v1/files/{name}.json', upstream: 'files' },
  { method: 'GET', path: '/v1/a+b(c)', upstream: 'crm', scope: 'contacts:read' },
]);

describe('route table', () => {
  const cases: Array<[method: string, path: string, label: string | null]> = [
    ['GET', '/v1/status', 'GET /v1/status'],
    ['HEAD', '/v1/status', 'GET /v1/status'],
    ['POST', '/v1/status', null],
    ['GET', '/v1/status/', null],
    ['GET', '/v1/STATUS', null],
    ['GET', '/v1/contacts/42', 'GET /v1/contacts/{id}'],
    // First match wins: the template above takes it.
    ['GET', '/v1/contacts/export', 'GET /v1/contacts/{id}'],
    ['GET', '/v1/contacts/', null],
    ['GET', '/v1/contacts/42/more', null],
    ['GET', '/v1/contacts', null],
    ['POST', '/v1/contacts', 'POST /v1/contacts'],
    ['PUT', '/v1/contacts/7/notes/n1', 'PUT /v1/contacts/{id}/notes/{note}'],
    ['PUT', '/v1/contacts/7/notes/', null],
    ['DELETE', '/v1/files/report.json', 'ANY /v1/files/{name}.json'],
    ['OPTIONS', '/v1/files/a.b.json', 'ANY /v1/files/{name}.json'],
    ['GET', '/v1/files/report.jsonx', null],
    ['GET', '/v1/files/a/b.json', null],
    // Characters that mean something in a regular expression match themselves.
    ['GET', '/v1/a+b(c)', 'GET /v1/a+b(c)'],
    ['GET', '/v1/aab(c)', null],
    ['GET', '/v1/a+bc', null],
  ];
  for (const [method, path, label] of cases) {
    it(`${method} ${path} -> ${label ?? 'no route'}`, () => {
      assert.equal(table.match(method, path)?.label ?? null, label);
    });
  }

  it('keeps what the audit log and the proxy need of a route', () => {
    assert.deepEqual(table.match('GET', '/v1/status'), {
      method: 'GET',
      pattern: /^\/v1\/status$/,
      label: 'GET /v1/status',
      path: '/v1/status',
      upstream: 'crm',
      scope: null,
      public: true,
    });
    const templated = table.match('PUT', '/v1/contacts/1/notes/2')!;
    assert.deepEqual([templated.path, templated.upstream, templated.scope, templated.public], ['/v1/contacts/{id}/notes/{note}', 'notes', 'contacts:write', false]);
    assert.equal(table.match('GET', '/v1/files/x.json')!.scope, null, 'no scope: any valid key');
  });
});

describe('unsafe paths', () => {
  const cases: Array<[path: string, why: string | null]> = [
    ['/v1/contacts/42', null],
    ['/v1/contacts/v1.2..3', null],
    ['/v1/contacts/...', null],
    ['/v1/contacts/caf%C3%A9', null],
    ['/v1/contacts/a%20b', null],
    ['/v1/contacts/100%25', null],
    ['/', null],
    ['/v1/..', 'a dot segment (. or ..)'],
    ['/v1/../admin', 'a dot segment (. or ..)'],
    ['/v1/./admin', 'a dot segment (. or ..)'],
    ['/v1/%2e%2e/admin', 'a dot segment (. or ..)'],
    ['/v1/%2E./admin', 'a dot segment (. or ..)'],
    ['/v1/%252e%252e/admin', 'a dot segment (. or ..)'],
    ['/v1/%25252e%25252e/admin', 'a dot segment (. or ..)'],
    ['/v1/%2525252e%2525252e/admin', 'a dot segment (. or ..)'],
    ['/v1/%252525252e%252525252e/admin', '%-escapes nested more than 4 deep'],
    ['/v1/100%2525252525', '%-escapes nested more than 4 deep'],
    ['/v1/100%25252525', null],
    ['/v1/a%2fb', 'an encoded slash'],
    ['/v1/..%2Fadmin', 'an encoded slash'],
    ['/v1/a%252Fb', 'an encoded slash'],
    ['/v1/a\\b', 'a backslash'],
    ['/v1/a%5cb', 'a backslash'],
    ['/v1/a%255Cb', 'a backslash'],
    ['/v1/%E0%A4%A', 'a malformed %-escape'],
    ['/v1/%zz', 'a malformed %-escape'],
  ];
  for (const [path, why] of cases) {
    it(`${path} -> ${why ?? 'passes'}`, () => {
      assert.equal(unsafePath(path), why);
    });
  }
});
