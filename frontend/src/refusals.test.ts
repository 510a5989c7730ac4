import { describe, expect, it } from 'vitest';
import {
  explainLeaveRefusal,
  explainOpenRefusal,
  explainShareRefusal,
  LAST_OWNER_WITH_MONEY,
  refusalMessage,
} from './refusals';

describe('refusalMessage', () => {
  it('explains why the last owner cannot leave an account with money, with the bank’s words', () => {
    const message = refusalMessage(
      'Could not leave NL02OPEN0000000001',
      LAST_OWNER_WITH_MONEY,
      explainLeaveRefusal,
    );
    expect(message).toContain('the last owner can only leave an empty account');
    expect(message).toContain(`“${LAST_OWNER_WITH_MONEY}”`);
    expect(message.startsWith('Could not leave NL02OPEN0000000001: ')).toBe(true);
  });

  it('passes on a reason it does not know as it is', () => {
    expect(refusalMessage('Could not share', 'something new', explainShareRefusal)).toBe(
      'Could not share: something new',
    );
  });
});

describe('the explanations', () => {
  it('cover every reason add_owner gives', () => {
    for (const reason of [
      'iban not known',
      'user to add is already owner of bank account',
      'user is not owner of account',
      'token is not valid',
      'username does not exist',
    ]) {
      expect(explainShareRefusal(reason), reason).toBeTruthy();
    }
    expect(explainShareRefusal('username does not exist')).toContain('no user with that name');
  });

  it('cover every reason remove_owner gives', () => {
    for (const reason of [
      'iban not known',
      'user to remove is not owner of bank account',
      'token is not valid',
      LAST_OWNER_WITH_MONEY,
    ]) {
      expect(explainLeaveRefusal(reason), reason).toBeTruthy();
    }
  });

  it('cover the reasons open_account gives', () => {
    expect(explainOpenRefusal('invalid password')).toBeTruthy();
    expect(explainOpenRefusal('username does not exist')).toBeTruthy();
  });

  it('are for the one action only', () => {
    expect(explainShareRefusal(LAST_OWNER_WITH_MONEY)).toBeNull();
    expect(explainLeaveRefusal('user to add is already owner of bank account')).toBeNull();
  });
});
