import { describe, expect, it } from 'vitest';
import { figuresSummary, formatFigure } from './figures';

describe('formatFigure', () => {
  it('groups thousands as the Dutch amounts do', () => {
    expect(formatFigure(0)).toBe('0');
    expect(formatFigure(1234)).toBe('1.234');
    expect(formatFigure(1234567)).toBe('1.234.567');
  });

  it('shows a dash for a figure that is missing', () => {
    expect(formatFigure(null)).toBe('–');
    expect(formatFigure(Number.NaN)).toBe('–');
  });
});

describe('figuresSummary', () => {
  it('says all three figures in one sentence', () => {
    expect(figuresSummary({ accounts: 12, transactions: 3456, transactions_last_minute: 7 })).toBe(
      '12 accounts, 3.456 transactions, 7 in the last minute',
    );
  });
});
