// What the user chose to see: how many transactions and which of their fields. Kept in
// localStorage, so the choice survives a reload and holds in every view.

import { TRANSACTION_FIELDS, type TransactionField } from './transactions';

export interface Preferences {
  count: number;
  fields: TransactionField[];
}

export const COUNT_CHOICES: readonly number[] = [5, 10, 20, 50, 100];

export const DEFAULT_PREFERENCES: Preferences = {
  count: 10,
  fields: ['id', 'at', 'direction', 'changed_by', 'from_to', 'descr', 'new_balance'],
};

export const PREFERENCES_KEY = 'open-bank.preferences';

const ALL_FIELDS = TRANSACTION_FIELDS.map((field) => field.key);

function inColumnOrder(fields: Iterable<TransactionField>): TransactionField[] {
  const chosen = new Set(fields);
  return ALL_FIELDS.filter((field) => chosen.has(field));
}

/** Stored preferences, with anything missing, unknown or damaged replaced by the default. */
export function parsePreferences(stored: string | null): Preferences {
  if (stored === null) return DEFAULT_PREFERENCES;
  let value: unknown;
  try {
    value = JSON.parse(stored);
  } catch {
    return DEFAULT_PREFERENCES;
  }
  if (typeof value !== 'object' || value === null) return DEFAULT_PREFERENCES;
  const { count, fields } = value as { count?: unknown; fields?: unknown };
  const knownFields = Array.isArray(fields)
    ? inColumnOrder(fields.filter((f): f is TransactionField => ALL_FIELDS.includes(f)))
    : [];
  return {
    count:
      typeof count === 'number' && COUNT_CHOICES.includes(count)
        ? count
        : DEFAULT_PREFERENCES.count,
    fields: knownFields.length > 0 ? knownFields : DEFAULT_PREFERENCES.fields,
  };
}

/** Shows or hides one field; the last field shown stays, so a table never has no columns. */
export function toggleField(preferences: Preferences, field: TransactionField): Preferences {
  const shown = preferences.fields.includes(field);
  if (shown && preferences.fields.length === 1) return preferences;
  const fields = shown
    ? preferences.fields.filter((f) => f !== field)
    : inColumnOrder([...preferences.fields, field]);
  return { ...preferences, fields };
}

export function withCount(preferences: Preferences, count: number): Preferences {
  return COUNT_CHOICES.includes(count) ? { ...preferences, count } : preferences;
}
