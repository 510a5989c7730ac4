import { describe, expect, it } from 'vitest';
import {
  coOwnersOf,
  doesNotList,
  lists,
  listsOwner,
  otherAccounts,
  pickAccount,
  withLiveBalances,
  withLiveTransaction,
  type LiveBalances,
  type OwnedAccount,
} from './ownedAccounts';
import { transaction } from './testing';

const A = 'NL02OPEN0000000001';
const B = 'NL43OPEN0000000002';

const accounts: OwnedAccount[] = [
  {
    iban: A,
    balance: '€ 10,00',
    available_balance: '€ 10,00',
    owners: ['alice-demo'],
    holds: [],
    standing_orders: [],
    failed_standing_order_runs: [],
  },
  {
    iban: B,
    balance: '€ 0,00',
    available_balance: '€ 0,00',
    owners: ['bob-demo', 'alice-demo'],
    holds: [],
    standing_orders: [],
    failed_standing_order_runs: [],
  },
];

describe('withLiveTransaction and withLiveBalances', () => {
  it('show the balance after a streamed transaction of a listed account', () => {
    const live = withLiveTransaction(new Map(), transaction(7, { iban: B, new_balance: '€ 2,50' }));
    const shown = withLiveBalances(accounts, live);
    expect(shown.map((account) => account.balance)).toEqual(['€ 10,00', '€ 2,50']);
    expect(shown[0]).toBe(accounts[0]);
    expect(accounts[1]?.balance).toBe('€ 0,00');
  });

  it('keep the newest transaction, whatever order they arrive in', () => {
    let live: LiveBalances = new Map();
    live = withLiveTransaction(live, transaction(9, { iban: A, new_balance: '€ 30,00' }));
    const before = live;
    live = withLiveTransaction(live, transaction(8, { iban: A, new_balance: '€ 20,00' }));
    expect(live).toBe(before);
    expect(withLiveBalances(accounts, live)[0]?.balance).toBe('€ 30,00');
  });

  it('win over a loaded list that was read before the transaction', () => {
    const live = withLiveTransaction(new Map(), transaction(9, { iban: A, new_balance: '€ 5,00' }));
    const reloaded = [{ ...accounts[0]!, balance: '€ 10,00' }];
    expect(withLiveBalances(reloaded, live)[0]?.balance).toBe('€ 5,00');
  });

  it('move the available balance by as much as the booked one, the holds as loaded', () => {
    const held: OwnedAccount = {
      ...accounts[0]!,
      available_balance: '€ 7,50',
      holds: [
        {
          uuid: '7f1c4d0e-3a7b-4c55-9f43-2f0cfb4f7a10',
          to: B,
          amount: '€ 2,50',
          amount_cents: 250,
          descr: 'hotel',
          expires_at: '2030-01-01T00:00:00Z',
        },
      ],
    };
    const live = withLiveTransaction(new Map(), transaction(9, { iban: A, new_balance: '€ 1,00' }));
    const [shown] = withLiveBalances([held], live);
    expect(shown?.balance).toBe('€ 1,00');
    expect(shown?.available_balance).toBe('€ -1,50');
    expect(shown?.holds).toBe(held.holds);
    // Without holds both stay the same.
    const [plain] = withLiveBalances([accounts[0]!], live);
    expect(plain?.available_balance).toBe('€ 1,00');
  });

  it('ignore transactions without an IBAN or a balance, and accounts not listed', () => {
    const empty: LiveBalances = new Map();
    expect(withLiveTransaction(empty, transaction(3, { iban: null }))).toBe(empty);
    expect(withLiveTransaction(empty, transaction(3, { new_balance: null }))).toBe(empty);
    const elsewhere = withLiveTransaction(empty, transaction(3, { iban: 'NL84OPEN0000000003' }));
    expect(withLiveBalances(accounts, elsewhere)).toEqual(accounts);
  });
});

describe('pickAccount', () => {
  it('keeps the account asked for while the user owns it, else takes the oldest', () => {
    expect(pickAccount(accounts, B)?.iban).toBe(B);
    expect(pickAccount(accounts, 'NL84OPEN0000000003')?.iban).toBe(A);
    expect(pickAccount(accounts, null)?.iban).toBe(A);
    expect(pickAccount([], A)).toBeNull();
  });
});

describe('coOwnersOf and otherAccounts', () => {
  it('leave out the user and the account at hand', () => {
    expect(coOwnersOf(accounts[1]!, 'alice-demo')).toEqual(['bob-demo']);
    expect(coOwnersOf(accounts[0]!, 'alice-demo')).toEqual([]);
    expect(otherAccounts(accounts, A).map((account) => account.iban)).toEqual([B]);
  });
});

describe('expectations of a reloaded list', () => {
  it('tell whether the projection shows the user’s own change yet', () => {
    expect(lists(B)(accounts)).toBe(true);
    expect(lists('NL84OPEN0000000003')(accounts)).toBe(false);
    expect(listsOwner(B, 'bob-demo')(accounts)).toBe(true);
    expect(listsOwner(A, 'bob-demo')(accounts)).toBe(false);
    expect(doesNotList(A)(accounts)).toBe(false);
    expect(doesNotList(A)(accounts.slice(1))).toBe(true);
  });
});
