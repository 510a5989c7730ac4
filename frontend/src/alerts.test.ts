import { describe, expect, it } from 'vitest';
import {
  alertKey,
  alertTitle,
  describeRule,
  lacksRule,
  parseThreshold,
  showsRule,
  sortRules,
  takesThreshold,
  watchedAccounts,
  watchKey,
  withAlert,
  withoutAlert,
  type Alert,
} from './alerts';

function alert(transactionId: number, overrides: Partial<Alert> = {}): Alert {
  return {
    kind: 'ANY_CREDIT',
    iban: 'NL02OPEN0000000001',
    message: `Received € ${transactionId},00`,
    transaction_id: transactionId,
    transfer_id: null,
    at: '2026-11-30T08:15:02.123Z',
    ...overrides,
  };
}

describe('parseThreshold', () => {
  it('reads euros as the cents set_alert takes', () => {
    expect(parseThreshold('BALANCE_BELOW', '100')).toEqual({ ok: true, threshold: 10_000 });
    expect(parseThreshold('LARGE_DEBIT', '€ 1.234,56')).toEqual({ ok: true, threshold: 123_456 });
    expect(parseThreshold('LARGE_DEBIT', '12.5')).toEqual({ ok: true, threshold: 1_250 });
  });

  it('refuses what is not a positive amount in euros, saying why', () => {
    const refused = (typed: string) => {
      const parsed = parseThreshold('BALANCE_BELOW', typed);
      return parsed.ok ? null : parsed.error;
    };
    expect(refused('')).toContain('enter an amount in euros');
    expect(refused('lots')).toContain('“lots” is not an amount in euros');
    expect(refused('-5')).toContain('is not an amount in euros');
    expect(refused('12,345')).toContain('is not an amount in euros');
    expect(refused('0,00')).toBe('the amount should be more than € 0,00');
    expect(refused('99999999')).toContain('at most');
  });

  it('takes no amount for money coming in, whatever was typed', () => {
    expect(takesThreshold('ANY_CREDIT')).toBe(false);
    expect(parseThreshold('ANY_CREDIT', '')).toEqual({ ok: true, threshold: null });
    expect(parseThreshold('ANY_CREDIT', 'lots')).toEqual({ ok: true, threshold: null });
  });
});

describe('rules', () => {
  it('read as sentences with the amount in euros', () => {
    expect(describeRule({ kind: 'BALANCE_BELOW', threshold: 10_000 })).toBe(
      'Balance falls below € 100,00',
    );
    expect(describeRule({ kind: 'LARGE_DEBIT', threshold: 5_000 })).toBe(
      'A debit of € 50,00 or more',
    );
    expect(describeRule({ kind: 'ANY_CREDIT', threshold: null })).toBe('Any money coming in');
  });

  it('are listed in the order of the form', () => {
    const sorted = sortRules([
      { kind: 'ANY_CREDIT', threshold: null },
      { kind: 'BALANCE_BELOW', threshold: 1 },
      { kind: 'LARGE_DEBIT', threshold: 2 },
    ]);
    expect(sorted.map((rule) => rule.kind)).toEqual(['BALANCE_BELOW', 'LARGE_DEBIT', 'ANY_CREDIT']);
  });

  it('tell when the read model shows a change', () => {
    const rules = [{ kind: 'LARGE_DEBIT' as const, threshold: 5_000 }];
    expect(showsRule('LARGE_DEBIT', 5_000)(rules)).toBe(true);
    // A replaced amount is not there until the new one is.
    expect(showsRule('LARGE_DEBIT', 7_500)(rules)).toBe(false);
    expect(showsRule('ANY_CREDIT', null)([{ kind: 'ANY_CREDIT', threshold: null }])).toBe(true);
    expect(lacksRule('LARGE_DEBIT')(rules)).toBe(false);
    expect(lacksRule('ANY_CREDIT')(rules)).toBe(true);
  });
});

describe('alerts on screen', () => {
  it('put the newest on top, keep each alert once and the newest few only', () => {
    let shown = withAlert([], alert(1));
    shown = withAlert(shown, alert(2));
    expect(withAlert(shown, alert(1))).toBe(shown);
    expect(shown.map((item) => item.alert.transaction_id)).toEqual([2, 1]);
    for (let id = 3; id <= 8; id++) shown = withAlert(shown, alert(id), 5);
    expect(shown.map((item) => item.alert.transaction_id)).toEqual([8, 7, 6, 5, 4]);
  });

  it('are told apart by account, kind and transaction', () => {
    expect(alertKey(alert(7))).not.toBe(alertKey(alert(7, { kind: 'LARGE_DEBIT' })));
    expect(alertKey(alert(7))).not.toBe(alertKey(alert(7, { iban: 'NL66OPEN0000000000' })));
    const shown = withAlert(withAlert([], alert(1)), alert(1, { kind: 'BALANCE_BELOW' }));
    expect(shown).toHaveLength(2);
  });

  it('of failed standing-order runs are told apart by their transfer', () => {
    const failed = (transfer: string) =>
      alert(0, { kind: 'STANDING_ORDER_FAILED', transaction_id: null, transfer_id: transfer });
    const shown = withAlert(withAlert([], failed('run-1')), failed('run-2'));
    expect(shown).toHaveLength(2);
    expect(withAlert(shown, failed('run-2'))).toBe(shown);
  });

  it('go when dismissed', () => {
    const shown = withAlert(withAlert([], alert(1)), alert(2));
    expect(withoutAlert(shown, alertKey(alert(1))).map((item) => item.key)).toEqual([
      alertKey(alert(2)),
    ]);
  });

  it('have a title for every kind, also one the app does not know yet', () => {
    expect(alertTitle('BALANCE_BELOW')).toBe('Low balance');
    expect(alertTitle('LARGE_DEBIT')).toBe('Large debit');
    expect(alertTitle('ANY_CREDIT')).toBe('Money in');
    expect(alertTitle('STANDING_ORDER_FAILED')).toBe('Standing order failed');
    expect(alertTitle('SOMETHING_NEW')).toBe('Alert');
  });
});

describe('watched accounts', () => {
  const accounts = [
    { iban: 'NL02OPEN0000000001', balance: '€ 1,00' },
    { iban: 'NL02OPEN0000000002', balance: '€ 2,00' },
  ];

  it('are every account of the logged-in user, none while nobody is', () => {
    expect(watchedAccounts('alice', accounts)).toEqual([
      { iban: 'NL02OPEN0000000001', username: 'alice' },
      { iban: 'NL02OPEN0000000002', username: 'alice' },
    ]);
    expect(watchedAccounts(null, accounts)).toEqual([]);
    expect(watchedAccounts('alice', null)).toEqual([]);
  });

  it('change their key only when an account or the user changes, not with a balance', () => {
    const key = watchKey(watchedAccounts('alice', accounts));
    expect(watchKey(watchedAccounts('alice', [...accounts].reverse()))).toBe(key);
    expect(watchKey(watchedAccounts('bob', accounts))).not.toBe(key);
    expect(watchKey(watchedAccounts('alice', [accounts[0]!]))).not.toBe(key);
    expect(
      watchKey(watchedAccounts('alice', [accounts[0]!, { ...accounts[1]!, balance: '€ 3,00' }])),
    ).toBe(key);
  });
});
