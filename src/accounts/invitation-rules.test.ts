import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideAcceptance, invitationState, INVITATION_TTL_MS } from './invitation-rules.js';

describe('invitation state', () => {
  const now = new Date('2026-12-03T10:00:00Z');
  const created = new Date(now.getTime() - 1000);
  const live = new Date(created.getTime() + INVITATION_TTL_MS);
  const cases: Array<[string, { accepted_at: Date | null; revoked_at: Date | null; expires_at: Date }, string]> = [
    ['open and in time', { accepted_at: null, revoked_at: null, expires_at: live }, 'pending'],
    ['open, expiring this very instant', { accepted_at: null, revoked_at: null, expires_at: now }, 'expired'],
    ['open, past its time', { accepted_at: null, revoked_at: null, expires_at: new Date(now.getTime() - 1) }, 'expired'],
    ['accepted (whatever the time)', { accepted_at: created, revoked_at: null, expires_at: new Date(0) }, 'accepted'],
    ['revoked', { accepted_at: null, revoked_at: created, expires_at: live }, 'revoked'],
  ];
  for (const [what, invitation, state] of cases) {
    it(`${what} -> ${state}`, () => assert.equal(invitationState(invitation, now), state));
  }
  it('lasts 7 days', () => assert.equal(INVITATION_TTL_MS, 604_800_000));
});

describe('who may accept an invitation', () => {
  const email = 'ann@example.com';
  const cases: Array<[string, Parameters<typeof decideAcceptance>[0], string]> = [
    ['no account, a password', { email, accountId: undefined, sessionUserId: undefined, passwordGiven: true }, 'create_account'],
    ['no account, no password', { email, accountId: undefined, sessionUserId: undefined, passwordGiven: false }, 'invalid_request:password'],
    ['no account, signed in as someone else, a password', { email, accountId: undefined, sessionUserId: 'usr_b', passwordGiven: true }, 'create_account'],
    ['an account, signed in as it', { email, accountId: 'usr_a', sessionUserId: 'usr_a', passwordGiven: false }, 'join:usr_a'],
    ['an account, signed in as it, a password too', { email, accountId: 'usr_a', sessionUserId: 'usr_a', passwordGiven: true }, 'invalid_request:password'],
    ['an account, signed in as someone else', { email, accountId: 'usr_a', sessionUserId: 'usr_b', passwordGiven: false }, 'wrong_account'],
    ['an account, not signed in, a password (never checked or set)', { email, accountId: 'usr_a', sessionUserId: undefined, passwordGiven: true }, 'not_authenticated'],
    ['an account, not signed in', { email, accountId: 'usr_a', sessionUserId: undefined, passwordGiven: false }, 'not_authenticated'],
  ];
  for (const [what, input, expected] of cases) {
    it(`${what} -> ${expected}`, () => {
      const decision = decideAcceptance(input);
      const seen =
        decision.kind === 'refuse' ? [decision.code, decision.param].filter(Boolean).join(':') : decision.kind === 'join' ? `join:${decision.userId}` : decision.kind;
      assert.equal(seen, expected);
      if (decision.kind === 'refuse') assert.match(decision.message, /\S/);
    });
  }
});
