// Euro amounts as the bank shows them: Dutch notation, `€ 1.234,56`, the same strings the
// GraphQL API returns. The API takes amounts as whole cents in a GraphQL Int (32 bits).

export const MAX_CENTS = 2_147_483_647;

/** `€ 1.234,56`; a negative amount is `€ -1.234,56`, as the API writes balances. */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const absolute = Math.abs(Math.trunc(cents));
  const euros = Math.floor(absolute / 100)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, '.');
  const rest = (absolute % 100).toString().padStart(2, '0');
  return `€ ${sign}${euros},${rest}`;
}

export type ParsedAmount = { ok: true; cents: number } | { ok: false; error: string };

const WHOLE_OR_COMMA = /^(\d+)(?:,(\d{1,2}))?$/;
const DOTTED_THOUSANDS = /^(\d{1,3}(?:\.\d{3})+)(?:,(\d{1,2}))?$/;
// `12.5` is read as twelve and a half: nobody writes thousands with one or two digits.
const DOT_DECIMALS = /^(\d+)\.(\d{1,2})$/;

/**
 * Reads what a user typed as an amount in euros: `12`, `12,5`, `12,50`, `1.234,56`, or with a
 * decimal point `12.50`; a leading `€` and spaces are allowed.
 */
export function parseEuros(typed: string): ParsedAmount {
  const text = typed.replace(/\s/g, '').replace(/^€/, '');
  if (text === '') {
    return { ok: false, error: 'enter an amount in euros, for example 12,50' };
  }
  const match = WHOLE_OR_COMMA.exec(text) ?? DOTTED_THOUSANDS.exec(text) ?? DOT_DECIMALS.exec(text);
  if (!match || match[1] === undefined) {
    return {
      ok: false,
      error: `“${typed.trim()}” is not an amount in euros; write for example 12,50`,
    };
  }
  const euros = Number(match[1].replace(/\./g, ''));
  const cents = Number((match[2] ?? '').padEnd(2, '0'));
  const total = euros * 100 + cents;
  if (total <= 0) {
    return { ok: false, error: 'the amount should be more than € 0,00' };
  }
  if (!Number.isSafeInteger(total) || total > MAX_CENTS) {
    return { ok: false, error: `the amount should be at most ${formatCents(MAX_CENTS)}` };
  }
  return { ok: true, cents: total };
}

const API_AMOUNT = /^€ (-?)(\d{1,3}(?:\.\d{3})*),(\d{2})$/;

/**
 * The cents of an amount as the API writes it (`€ 1.234,56`, `€ -500,00`), the reverse of
 * formatCents; null for anything else. Not for what users type: that is parseEuros.
 */
export function centsOfAmount(text: string): number | null {
  const match = API_AMOUNT.exec(text.trim());
  if (!match || match[2] === undefined || match[3] === undefined) return null;
  const cents = Number(match[2].replace(/\./g, '')) * 100 + Number(match[3]);
  if (!Number.isSafeInteger(cents)) return null;
  return match[1] === '-' ? -cents : cents;
}
