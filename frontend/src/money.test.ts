import { describe, expect, it } from 'vitest';
import { centsOfAmount, formatCents, MAX_CENTS, parseEuros } from './money';

describe('formatCents', () => {
  it('writes Dutch euros like the API does', () => {
    expect(formatCents(123_456)).toBe('€ 1.234,56');
    expect(formatCents(5)).toBe('€ 0,05');
    expect(formatCents(0)).toBe('€ 0,00');
    expect(formatCents(100_000_000)).toBe('€ 1.000.000,00');
    expect(formatCents(-1_500)).toBe('€ -15,00');
    expect(formatCents(-50_000)).toBe('€ -500,00');
  });
});

describe('parseEuros', () => {
  const cents = (typed: string) => {
    const parsed = parseEuros(typed);
    return parsed.ok ? parsed.cents : parsed.error;
  };

  it('reads whole euros and a decimal comma', () => {
    expect(cents('12')).toBe(1_200);
    expect(cents('12,5')).toBe(1_250);
    expect(cents('12,50')).toBe(1_250);
    expect(cents('0,01')).toBe(1);
  });

  it('reads thousands dots, a euro sign and spaces', () => {
    expect(cents('1.234,56')).toBe(123_456);
    expect(cents('€ 1.000')).toBe(100_000);
    expect(cents(' 1 000 ')).toBe(100_000);
    expect(cents('1.000.000')).toBe(100_000_000);
  });

  it('reads a decimal point with one or two decimals', () => {
    expect(cents('12.50')).toBe(1_250);
    expect(cents('12.5')).toBe(1_250);
  });

  it('refuses what is not an amount, saying how to write one', () => {
    for (const typed of ['abc', '12,345', '1,2,3', '-5', '12.', ',50', '1.23.4', '1e3']) {
      const parsed = parseEuros(typed);
      expect(parsed.ok, typed).toBe(false);
      if (!parsed.ok) expect(parsed.error).toContain('write for example 12,50');
    }
    expect(cents('')).toBe('enter an amount in euros, for example 12,50');
  });

  it('refuses zero and more than a GraphQL Int of cents', () => {
    expect(cents('0')).toBe('the amount should be more than € 0,00');
    expect(cents('0,00')).toBe('the amount should be more than € 0,00');
    expect(cents('21.474.836,47')).toBe(MAX_CENTS);
    expect(cents('21.474.836,48')).toBe('the amount should be at most € 21.474.836,47');
    expect(cents('99999999999999999999')).toBe('the amount should be at most € 21.474.836,47');
  });
});

describe('centsOfAmount', () => {
  it('reads amounts as the API writes them, the reverse of formatCents', () => {
    for (const cents of [0, 5, 123_456, 100_000_000, -1_500, -50_000, MAX_CENTS]) {
      expect(centsOfAmount(formatCents(cents))).toBe(cents);
    }
  });

  it('is null for anything else, such as what a user types', () => {
    for (const text of ['12,50', '€ 12', '€ 12.50', '€ 1234,56', '€ 1.23,45', '', '…']) {
      expect(centsOfAmount(text), text).toBeNull();
    }
  });
});
