import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileAllowlist } from './ip-match.js';

// Cases beside ip-match.test.ts's, which the mutation run (npm run mutation, docs/quality.md) showed no test
// decided: a single IPv6 address is a /128, not a /32.
describe('allowlist matching: single addresses', () => {
  it('matches a single IPv6 address exactly', () => {
    const allowed = compileAllowlist(['2001:db8::1']);
    assert.equal(allowed('2001:db8::1'), true);
    assert.equal(allowed('2001:db8::2'), false);
    assert.equal(allowed('2001:db8:ffff::1'), false);
  });

  it('answers the same when asked again, past the remembered answers', () => {
    const allowed = compileAllowlist(['10.0.0.0/8']);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 300; i++) {
        assert.equal(allowed(`10.0.${i >> 8}.${i & 255}`), true);
        assert.equal(allowed(`11.0.${i >> 8}.${i & 255}`), false);
      }
    }
  });
});
