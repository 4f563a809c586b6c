import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkAllowlist, checkRateLimit } from './key-settings.js';

// Cases beside key-settings.test.ts's, which the mutation run (npm run mutation, docs/quality.md) showed no
// test decided: what each refusal tells the person who made it.
describe('key settings: what a refusal says', () => {
  const ceiling = { ceiling_per_minute: 1000, ceiling_per_hour: 60_000 };

  it('names the missing windows', () => {
    assert.throws(() => checkRateLimit({ per_minute: null, per_hour: null }, ceiling), {
      message: 'rate_limit needs per_minute, per_hour or both: a key cannot be unlimited.',
    });
  });

  it('says who can raise the ceiling', () => {
    assert.throws(() => checkRateLimit({ per_minute: 1001, per_hour: null }, ceiling), {
      message: "rate_limit.per_minute can be at most 1000, this workspace's ceiling. For bulk exports, ask your Latchkey operator to raise the workspace ceiling.",
    });
  });

  it('quotes a refused allowlist entry trimmed and cut to 64 characters', () => {
    assert.throws(() => checkAllowlist([' localhost ']), { message: 'ip_allowlist entry "localhost" is not an IP address or CIDR range.' });
    assert.throws(() => checkAllowlist(['x'.repeat(100)]), { message: `ip_allowlist entry "${'x'.repeat(64)}" is not an IP address or CIDR range.` });
  });
});
