import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerToken, decide, type VerifyAnswer } from '../packages/sdk/src/index.js';

/** The SDK's one decision (Latchkey's verify answer → status, headers, body), table by table. */

const LIMIT = { limit: 60, remaining: 41, reset: 1796281200 };
const LIMIT_HEADERS = { 'X-RateLimit-Limit': '60', 'X-RateLimit-Remaining': '41', 'X-RateLimit-Reset': '1796281200' };

/** An answer as Latchkey sends it; `code` may be one this SDK does not know yet (a newer server). */
function answer(fields: Omit<Partial<VerifyAnswer>, 'code'> & { code?: string }): VerifyAnswer {
  return { valid: false, code: 'invalid_api_key', message: 'The API key is not valid.', request_id: 'req_abc', retry_after: null, ...fields } as unknown as VerifyAnswer;
}

describe('@latchkey/sdk decide()', () => {
  const refusals: Array<{ code: string; fields?: Partial<VerifyAnswer>; status: number; type: string; headers: Record<string, string> }> = [
    { code: 'missing_api_key', status: 401, type: 'authentication_error', headers: { 'WWW-Authenticate': 'Bearer realm="latchkey"' } },
    { code: 'invalid_api_key', status: 401, type: 'authentication_error', headers: { 'WWW-Authenticate': 'Bearer realm="latchkey", error="invalid_token", error_description="m"' } },
    { code: 'api_key_revoked', status: 401, type: 'authentication_error', headers: { 'WWW-Authenticate': 'Bearer realm="latchkey", error="invalid_token", error_description="m"' } },
    { code: 'api_key_expired', status: 401, type: 'authentication_error', headers: { 'WWW-Authenticate': 'Bearer realm="latchkey", error="invalid_token", error_description="m"' } },
    { code: 'ip_not_allowed', status: 403, type: 'permission_error', headers: {} },
    {
      code: 'insufficient_scope',
      fields: { rate_limit: LIMIT, missing_scopes: ['payments:write', 'invoices:write'] },
      status: 403,
      type: 'permission_error',
      headers: { ...LIMIT_HEADERS, 'WWW-Authenticate': 'Bearer realm="latchkey", error="insufficient_scope", scope="payments:write invoices:write"' },
    },
    { code: 'rate_limited', fields: { rate_limit: { ...LIMIT, remaining: 0 }, retry_after: 17 }, status: 429, type: 'rate_limit_error', headers: { ...LIMIT_HEADERS, 'X-RateLimit-Remaining': '0', 'Retry-After': '17' } },
    { code: 'rate_limited', fields: { retry_after: 30 }, status: 429, type: 'rate_limit_error', headers: { 'Retry-After': '30' } },
    { code: 'some_future_code', status: 401, type: 'authentication_error', headers: { 'WWW-Authenticate': 'Bearer realm="latchkey", error="invalid_token", error_description="m"' } },
  ];
  for (const row of refusals) {
    it(`${row.code}${row.fields?.rate_limit ? ' (counted)' : ''} → ${row.status} ${row.type}`, () => {
      const decision = decide(answer({ code: row.code, message: 'm', ...row.fields }), ['invoices:read']);
      assert.equal(decision.pass, false);
      if (decision.pass) return;
      assert.equal(decision.status, row.status);
      assert.deepEqual(decision.headers, { ...row.headers, 'Request-Id': 'req_abc' });
      assert.deepEqual(decision.body, { error: { type: row.type, code: row.code, message: 'm', request_id: 'req_abc' } });
    });
  }

  it('passes only a valid answer, with its rate-limit headers', () => {
    const valid = decide(answer({ valid: true, code: 'valid', rate_limit: LIMIT }), []);
    assert.equal(valid.pass, true);
    assert.deepEqual(valid.headers, LIMIT_HEADERS);
    const contradictory = decide(answer({ valid: false, code: 'valid' }), []);
    assert.equal(contradictory.pass, false, 'valid: false is never a pass, whatever the code says');
  });

  it('keeps a quote in the message from ending the challenge early', () => {
    const decision = decide(answer({ code: 'invalid_api_key', message: 'bad "key" \\ here' }), []);
    assert.equal(decision.headers['WWW-Authenticate'], `Bearer realm="latchkey", error="invalid_token", error_description="bad 'key' ' here"`);
  });

  it('reads the Bearer token as Latchkey does', () => {
    const table: Array<[string | string[] | undefined, string | null]> = [
      [undefined, null],
      ['', null],
      ['Bearer', null],
      ['Basic abc', null],
      ['Bearer abc', 'abc'],
      ['bearer   abc  ', 'abc'],
      ['Bearer a b', null],
      [['Bearer first', 'Bearer second'], 'first'],
    ];
    for (const [header, token] of table) assert.equal(bearerToken(header), token, JSON.stringify(header));
  });
});
