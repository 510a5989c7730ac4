import { useId } from 'react';
import { usePreferences } from '../hooks/preferences';
import { COUNT_CHOICES, toggleField, withCount } from '../preferences';
import { TRANSACTION_FIELDS } from '../transactions';

/** How many transactions to show and which fields; the choice holds in every view. */
export function DisplayOptions() {
  const { preferences, setPreferences } = usePreferences();
  const countId = useId();
  return (
    <details className="display-options">
      <summary>Display options</summary>
      <div className="display-options-body">
        <label htmlFor={countId}>Transactions to show</label>
        <select
          id={countId}
          value={preferences.count}
          onChange={(event) => setPreferences(withCount(preferences, Number(event.target.value)))}
        >
          {COUNT_CHOICES.map((count) => (
            <option key={count} value={count}>
              {count}
            </option>
          ))}
        </select>
        <fieldset>
          <legend>Fields to show</legend>
          {TRANSACTION_FIELDS.map((field) => {
            const shown = preferences.fields.includes(field.key);
            return (
              <label key={field.key} className="checkbox">
                <input
                  type="checkbox"
                  checked={shown}
                  disabled={shown && preferences.fields.length === 1}
                  onChange={() => setPreferences(toggleField(preferences, field.key))}
                />
                {field.label}
              </label>
            );
          })}
        </fieldset>
      </div>
    </details>
  );
}
