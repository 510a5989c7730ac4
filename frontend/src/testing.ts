// Builders shared by the unit tests.

import type { Transaction } from './transactions';

export function transaction(id: number, overrides: Partial<Transaction> = {}): Transaction {
  return {
    id,
    iban: 'NL66OPEN0000000000',
    new_balance: `€ ${id},00`,
    changed_by: '€ 1,00',
    from_to: 'cash',
    descr: `transaction ${id}`,
    direction: 'CREDIT',
    at: null,
    ...overrides,
  };
}
