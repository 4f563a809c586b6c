import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { verifyWebhook } from '../packages/sdk/src/webhook.js';
import { newEndpointSecret, signatureHeader } from '../src/events/signing.js';

/** The SDK's verifyWebhook against the server's own signing (src/events/signing.ts): Stripe's scheme, both ways. */

const body = JSON.stringify({ id: 'evt_1', type: 'api_key.revoked', created_at: '2026-12-03T10:00:00.000Z', workspace: null, data: { object: { id: 'key_1' } } });
const secret = newEndpointSecret();
const at = new Date('2026-12-03T10:00:00Z');
const t = Math.floor(at.getTime() / 1000);
const now = () => at;

describe('@latchkey/sdk verifyWebhook', () => {
  it('accepts the body Latchkey signed and returns the event', () => {
    const event = verifyWebhook(body, signatureHeader(body, [secret], t), secret, { now });
    assert.equal(event.type, 'api_key.revoked');
    assert.equal(verifyWebhook(Buffer.from(body), signatureHeader(body, [secret], t), secret, { now }).id, 'evt_1');
  });

  it('during a rotation accepts either secret (two v1 values)', () => {
    const next = newEndpointSecret();
    const header = signatureHeader(body, [secret, next], t);
    assert.equal(header.split(',v1=').length, 3);
    assert.equal(verifyWebhook(body, header, secret, { now }).id, 'evt_1');
    assert.equal(verifyWebhook(body, header, next, { now }).id, 'evt_1');
    assert.throws(() => verifyWebhook(body, header, newEndpointSecret(), { now }), { code: 'invalid_signature' });
  });

  it('refuses a changed body, another secret, a missing or malformed header, and an old timestamp', () => {
    const header = signatureHeader(body, [secret], t);
    assert.throws(() => verifyWebhook(body.replace('key_1', 'key_2'), header, secret, { now }), { code: 'invalid_signature' });
    assert.throws(() => verifyWebhook(body, header, newEndpointSecret(), { now }), { code: 'invalid_signature' });
    assert.throws(() => verifyWebhook(body, undefined, secret, { now }), { code: 'missing_signature' });
    assert.throws(() => verifyWebhook(body, `t=${t}`, secret, { now }), { code: 'malformed_signature' });
    assert.throws(() => verifyWebhook(body, header.replace(`t=${t}`, `t=${t + 1}`), secret, { now }), { code: 'invalid_signature' });
    const later = () => new Date(at.getTime() + 301_000);
    assert.throws(() => verifyWebhook(body, header, secret, { now: later }), { code: 'timestamp_out_of_tolerance' });
    assert.equal(verifyWebhook(body, header, secret, { now: later, toleranceSeconds: 600 }).id, 'evt_1');
  });
});
