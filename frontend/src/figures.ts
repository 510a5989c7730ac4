// The bank-wide figures on the home view (`bank_figures`, public): how big the bank is, never
// anything about an account.

import type { BankFiguresQuery } from './generated/graphql';

export type BankFigures = BankFiguresQuery['bank_figures'];

/** Asked again this often over HTTP. */
export const FIGURES_POLL_MS = 5_000;
/** Marked as stale when no answer came for this long. */
export const FIGURES_STALE_AFTER_MS = 15_000;

const counts = new Intl.NumberFormat('nl-NL', { maximumFractionDigits: 0 });

/** `1.234.567`: Dutch grouping, as the amounts are written. */
export function formatFigure(n: number | null | undefined): string {
  return typeof n === 'number' && Number.isFinite(n) ? counts.format(n) : '–';
}

/** One sentence for screen readers, read out when it changes. */
export function figuresSummary(figures: BankFigures): string {
  return (
    `${formatFigure(figures.accounts)} accounts, ${formatFigure(figures.transactions)} ` +
    `transactions, ${formatFigure(figures.transactions_last_minute)} in the last minute`
  );
}
