import { describe, expect, it } from 'vitest';
import { DEFAULT_PREFERENCES, parsePreferences, toggleField, withCount } from './preferences';

describe('parsePreferences', () => {
  it('reads what was stored', () => {
    expect(parsePreferences('{"count":50,"fields":["descr","id"]}')).toEqual({
      count: 50,
      fields: ['id', 'descr'],
    });
  });

  it('falls back to the defaults for nothing, damage or unknown values', () => {
    expect(parsePreferences(null)).toEqual(DEFAULT_PREFERENCES);
    expect(parsePreferences('{not json')).toEqual(DEFAULT_PREFERENCES);
    expect(parsePreferences('"text"')).toEqual(DEFAULT_PREFERENCES);
    expect(parsePreferences('{"count":7,"fields":["password"]}')).toEqual(DEFAULT_PREFERENCES);
  });

  it('keeps the known fields and drops the unknown', () => {
    expect(parsePreferences('{"count":5,"fields":["iban","secret"]}')).toEqual({
      count: 5,
      fields: ['iban'],
    });
  });
});

describe('toggleField', () => {
  it('hides a shown field and shows it again in column order', () => {
    const hidden = toggleField(DEFAULT_PREFERENCES, 'id');
    expect(hidden.fields).not.toContain('id');
    expect(toggleField(hidden, 'id').fields).toEqual(DEFAULT_PREFERENCES.fields);
    expect(toggleField(DEFAULT_PREFERENCES, 'iban').fields[1]).toBe('iban');
  });

  it('never hides the last field', () => {
    const one = { count: 10, fields: ['descr' as const] };
    expect(toggleField(one, 'descr')).toEqual(one);
  });
});

describe('withCount', () => {
  it('takes one of the offered counts only', () => {
    expect(withCount(DEFAULT_PREFERENCES, 20).count).toBe(20);
    expect(withCount(DEFAULT_PREFERENCES, 3).count).toBe(DEFAULT_PREFERENCES.count);
  });
});
