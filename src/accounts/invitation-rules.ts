import type { ErrorCode } from '../http/errors.js';

/** How long an invitation link works. */
export const INVITATION_TTL_MS = 7 * 24 * 3600_000;

/** At most this many pending invitations per workspace: the list of them is one bounded page. */
export const MAX_PENDING_INVITATIONS = 100;

export type InvitationState = 'pending' | 'accepted' | 'revoked' | 'expired';

export function invitationState(
  invitation: { accepted_at: Date | null; revoked_at: Date | null; expires_at: Date },
  now: Date,
): InvitationState {
  if (invitation.accepted_at) return 'accepted';
  if (invitation.revoked_at) return 'revoked';
  return invitation.expires_at.getTime() > now.getTime() ? 'pending' : 'expired';
}

export type Acceptance =
  | { kind: 'create_account' }
  | { kind: 'join'; userId: string }
  | { kind: 'refuse'; code: ErrorCode; message: string; param?: string };

/**
 * Who may accept an invitation for `email`, decided from what the request holds. The link alone never
 * attaches an existing account: its owner proves it by being signed in as it (the person who sent the link
 * holds it too). A new account is made only with a password chosen now, by whoever opens the link.
 */
export function decideAcceptance(input: {
  email: string;
  /** The account that has the invited email, if there is one. */
  accountId: string | undefined;
  /** The signed-in user of the request, if any. */
  sessionUserId: string | undefined;
  passwordGiven: boolean;
}): Acceptance {
  const { email, accountId, sessionUserId, passwordGiven } = input;
  if (accountId === undefined) {
    if (passwordGiven) return { kind: 'create_account' };
    return { kind: 'refuse', code: 'invalid_request', param: 'password', message: 'Choose a password (at least 10 characters) for your new account.' };
  }
  if (sessionUserId === accountId) {
    if (passwordGiven) {
      return { kind: 'refuse', code: 'invalid_request', param: 'password', message: `You are signed in as ${email}: accept without a password.` };
    }
    return { kind: 'join', userId: accountId };
  }
  if (sessionUserId !== undefined) {
    return { kind: 'refuse', code: 'wrong_account', message: `This invitation is for ${email}. Sign out, then sign in as ${email} to accept it.` };
  }
  return { kind: 'refuse', code: 'not_authenticated', message: `${email} already has an account: sign in as ${email}, then accept the invitation.` };
}
