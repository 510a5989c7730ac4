import { describe, expect, it } from 'vitest';
import {
  errorMessage,
  explainAlertRefusal,
  explainHistoryError,
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

describe('alert and history refusals', () => {
  it('cover every reason set_alert, remove_alert and alerts give', () => {
    for (const reason of [
      'iban not known',
      'user is no owner of bank account',
      'token is not valid',
      'threshold should be positive',
      'threshold does not apply to ANY_CREDIT',
    ]) {
      expect(explainAlertRefusal(reason), reason).toBeTruthy();
    }
  });

  it('explain an account that did not exist yet at the moment asked for', () => {
    const message = errorMessage(
      'Could not show NL02OPEN0000000001 as of 2020-01-01 00:00:00',
      { graphQLErrors: [{ message: 'iban does not exist' }] },
      'http://127.0.0.1:8888/graphql',
      explainHistoryError,
    );
    expect(message).toContain('opened later, or never');
    expect(message).toContain('“iban does not exist”');
  });

  it('say so when the endpoint could not be reached', () => {
    expect(
      errorMessage(
        'Your alerts could not be loaded',
        { graphQLErrors: [], networkError: new Error('Failed to fetch') },
        'http://127.0.0.1:8888/graphql',
        explainAlertRefusal,
      ),
    ).toBe(
      'Your alerts could not be loaded: no answer from the GraphQL endpoint at http://127.0.0.1:8888/graphql (Failed to fetch)',
    );
  });
});
