import { describe, expect, it } from 'vitest';
import { Refusal } from './generated/refusals';
import {
  errorMessage,
  explainAlertRefusal,
  explainCancelOrderRefusal,
  explainCaptureRefusal,
  explainCredentialRefusal,
  explainHoldRefusal,
  explainPasswordChangeRefusal,
  explainTransferRefusal,
  explainHistoryError,
  explainLeaveRefusal,
  explainOpenRefusal,
  explainShareRefusal,
  explainStandingOrderRefusal,
  explainVoidRefusal,
  filledValues,
  fillRefusal,
  refusalMessage,
} from './refusals';

const LAST_OWNER_WITH_MONEY = Refusal.LAST_USER_AND_BALANCE_IS_NOT_ZERO;
const CASH_DEPOSIT_TOO_LARGE = Refusal.CASH_DEPOSIT_TOO_LARGE;
const CASH_DAILY_LIMIT = Refusal.CASH_DAILY_LIMIT;
const TOO_EASY_PASSWORD = Refusal.PASSWORD_IS_TOO_EASY;

describe('the refusals generated from the schema', () => {
  it('are the bank’s exact words', () => {
    expect(LAST_OWNER_WITH_MONEY).toBe("last user and balance is not zero, so can't be removed");
    expect(CASH_DEPOSIT_TOO_LARGE).toBe('a cash deposit may be at most € 10.000,00');
    expect(CASH_DAILY_LIMIT).toBe(
      'cash deposits into this account may be at most € 25.000,00 a day',
    );
    expect(Refusal.IBAN_NOT_KNOWN).toBe('iban not known');
    expect(Refusal.TOO_MANY_ATTEMPTS).toBe('too many attempts, try again in {seconds} s');
  });

  it('are filled in and read back as the bank does', () => {
    const funds = fillRefusal(Refusal.INSUFFICIENT_FUNDS, { limit: '€ -500,00' });
    expect(funds).toBe('insufficient funds would be below the limit of € -500,00');
    expect(filledValues(Refusal.INSUFFICIENT_FUNDS, funds)).toEqual({ limit: '€ -500,00' });
    const returned = fillRefusal(Refusal.RETURN_FAILED, {
      credit_reason: 'iban not known',
      return_reason: 'amount would overflow the balance',
    });
    expect(returned).toBe(
      'iban not known, and returning the money failed: amount would overflow the balance',
    );
    expect(filledValues(Refusal.RETURN_FAILED, returned)).toEqual({
      credit_reason: 'iban not known',
      return_reason: 'amount would overflow the balance',
    });
    expect(filledValues(Refusal.TOO_MANY_ATTEMPTS, 'too many attempts, try again in 2')).toBeNull();
    expect(filledValues(Refusal.IBAN_NOT_KNOWN, 'iban not known')).toEqual({});
    expect(filledValues(Refusal.IBAN_NOT_KNOWN, 'iban not known.')).toBeNull();
  });

  it('explain nothing that is not a refusal', () => {
    expect(explainShareRefusal('constructor')).toBeNull();
  });
});

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

describe('transfer refusals', () => {
  it('explain both limits on cash deposits, with the bank’s words', () => {
    const once = refusalMessage('Deposit failed', CASH_DEPOSIT_TOO_LARGE, explainTransferRefusal);
    expect(once).toContain('One cash deposit can be at most € 10.000,00');
    expect(once).toContain(`“${CASH_DEPOSIT_TOO_LARGE}”`);
    const daily = refusalMessage('Deposit failed', CASH_DAILY_LIMIT, explainTransferRefusal);
    expect(daily).toContain('Try again tomorrow');
    expect(daily).toContain(`“${CASH_DAILY_LIMIT}”`);
  });

  it('pass on the reasons that say it all already', () => {
    const funds = 'insufficient funds would be below the limit of € -500,00';
    expect(refusalMessage('Transfer failed', funds, explainTransferRefusal)).toBe(
      `Transfer failed: ${funds}`,
    );
  });
});

describe('hold refusals', () => {
  it('explain a hold that does not fit the available balance or the expiry range', () => {
    const funds = fillRefusal(Refusal.INSUFFICIENT_FUNDS, { limit: '€ -500,00' });
    const message = refusalMessage('Hold failed', funds, explainHoldRefusal);
    expect(message).toContain('the balance less the open holds may not go below € -500,00');
    expect(message).toContain(`“${funds}”`);
    const range = Refusal.HOLD_EXPIRY_OUT_OF_RANGE;
    expect(explainHoldRefusal(range)).toBe(
      'A hold lasts 1 second at the least and 30 days at the most.',
    );
  });

  it('tell a released hold from a captured one, and what may be captured', () => {
    const released = fillRefusal(Refusal.HOLD_IS_NOT_OPEN, { status: 'released' });
    expect(explainVoidRefusal(released)).toContain('it was voided, or it expired');
    expect(explainCaptureRefusal(released)).toContain('Nothing was booked');
    const captured = fillRefusal(Refusal.HOLD_IS_NOT_OPEN, { status: 'complete' });
    expect(explainCaptureRefusal(captured)).toBe('This hold was captured already.');
    const more = fillRefusal(Refusal.AMOUNT_IS_MORE_THAN_HELD, { held: '€ 12,50' });
    expect(explainCaptureRefusal(more)).toBe('At most the € 12,50 held can be captured.');
    expect(explainVoidRefusal(more)).toBeNull();
    expect(explainCaptureRefusal(Refusal.HOLD_NOT_KNOWN)).toBe(
      'The bank knows no such hold on this account.',
    );
  });
});

describe('standing order refusals', () => {
  it('explain every reason set_standing_order gives, with the bank’s words', () => {
    for (const reason of [
      Refusal.STANDING_ORDER_RUNS_OUT_OF_RANGE,
      Refusal.FIRST_RUN_OUT_OF_RANGE,
      Refusal.TOO_MANY_STANDING_ORDERS,
      Refusal.FROM_AND_TO_ARE_THE_SAME,
      Refusal.IBAN_NOT_KNOWN,
      Refusal.USER_IS_NO_OWNER_OF_BANK_ACCOUNT,
      Refusal.TOKEN_IS_NOT_VALID,
    ]) {
      expect(explainStandingOrderRefusal(reason), reason).toBeTruthy();
    }
    expect(Refusal.TOO_MANY_STANDING_ORDERS).toBe('an account may have at most 20 standing orders');
    const message = refusalMessage(
      'Standing order not set',
      Refusal.TOO_MANY_STANDING_ORDERS,
      explainStandingOrderRefusal,
    );
    expect(message).toContain('Cancel one you no longer need first.');
    expect(message).toContain(`“${Refusal.TOO_MANY_STANDING_ORDERS}”`);
    expect(explainStandingOrderRefusal(Refusal.FIRST_RUN_OUT_OF_RANGE)).toContain('366 days');
    expect(explainStandingOrderRefusal(Refusal.STANDING_ORDER_RUNS_OUT_OF_RANGE)).toContain(
      '1 to 1200 times',
    );
  });

  it('explain a standing order that cannot be cancelled', () => {
    expect(explainCancelOrderRefusal(Refusal.STANDING_ORDER_NOT_KNOWN)).toContain(
      'it ended already',
    );
    expect(explainCancelOrderRefusal(Refusal.USER_IS_NO_OWNER_OF_BANK_ACCOUNT)).toContain(
      'not yours to cancel',
    );
    expect(explainCancelOrderRefusal(Refusal.TOO_MANY_STANDING_ORDERS)).toBeNull();
    expect(explainStandingOrderRefusal(Refusal.STANDING_ORDER_NOT_KNOWN)).toBeNull();
  });
});

describe('credential refusals', () => {
  it('explain the reasons of login and get_account', () => {
    for (const reason of [
      'invalid password',
      'invalid username or password',
      TOO_EASY_PASSWORD,
      'too many logins at once, try again in a moment',
    ]) {
      expect(explainCredentialRefusal(reason), reason).toBeTruthy();
    }
  });

  it('read the wait out of a throttled login', () => {
    expect(explainCredentialRefusal('too many attempts, try again in 30 s')).toBe(
      'Too many tries that failed. Wait 30 seconds, then try again.',
    );
    expect(explainCredentialRefusal('too many attempts, try again in 1 s')).toContain(
      'Wait a second,',
    );
    expect(explainCredentialRefusal('too many attempts, try again soon')).toBeNull();
  });

  it('tell a wrong current password when changing it', () => {
    expect(explainPasswordChangeRefusal('invalid password')).toBe(
      'The current password is not right.',
    );
    expect(explainPasswordChangeRefusal(TOO_EASY_PASSWORD)).toContain('harder to guess');
    expect(explainPasswordChangeRefusal('too many attempts, try again in 5 s')).toContain(
      '5 seconds',
    );
  });
});
