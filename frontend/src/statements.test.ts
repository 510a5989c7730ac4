import { describe, expect, it } from 'vitest';
import { monthOf, monthPeriod, statementFileName, statementUrl } from './statements';

describe('monthly statements', () => {
  it('turn a month into the UTC period from its first moment to the next month', () => {
    expect(monthPeriod('2026-11')).toEqual({
      from: '2026-11-01T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
    });
    expect(monthPeriod('2026-12')).toEqual({
      from: '2026-12-01T00:00:00.000Z',
      to: '2027-01-01T00:00:00.000Z',
    });
  });

  it('refuse what is not a month', () => {
    for (const bad of ['', '2026', '2026-13', '2026-00', '26-11', '2026-11-01']) {
      expect(monthPeriod(bad)).toBeNull();
    }
  });

  it('name the month of now in UTC', () => {
    expect(monthOf(new Date('2026-11-30T23:30:00Z'))).toBe('2026-11');
    expect(monthOf(new Date('2027-01-01T00:00:00Z'))).toBe('2027-01');
  });

  it('name files after the account and the month, with nothing a path could hold', () => {
    expect(statementFileName('NL66OPEN0000000000', '2026-11', 'csv')).toBe(
      'statement-NL66OPEN0000000000-2026-11.csv',
    );
    expect(statementFileName('../x/NL66', '2026-11', 'camt053')).toBe(
      'statement-xNL66-2026-11.xml',
    );
  });

  it('are files next to the GraphQL path, with the period in the query', () => {
    const period = { from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z' };
    expect(statementUrl('http://127.0.0.1:8888/graphql', 'NL66OPEN0000000000', period, 'csv')).toBe(
      'http://127.0.0.1:8888/graphql/statement?iban=NL66OPEN0000000000&from=2026-11-01T00%3A00%3A00.000Z&to=2026-12-01T00%3A00%3A00.000Z&format=csv',
    );
    expect(statementUrl('https://bank.example/api/graphql', 'X', period, 'camt053')).toMatch(
      /^https:\/\/bank\.example\/api\/graphql\/statement\?iban=X&/,
    );
  });
});
