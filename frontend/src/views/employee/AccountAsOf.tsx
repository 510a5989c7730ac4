import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { Notice } from '../../components/Notice';
import { TextField } from '../../components/TextField';
import { TransactionTable } from '../../components/TransactionTable';
import { useAccountAt } from '../../hooks/accountAt';
import { usePreferences } from '../../hooks/preferences';
import { formatLocalInstant, localInputToIso, toLocalInputValue } from '../../history';

interface Props {
  /** The account followed in the list above: the one to look at, until another IBAN is typed. */
  followed: string | null;
}

function normalIban(typed: string): string {
  return typed.replace(/\s/g, '').toUpperCase();
}

/** Any account as it was at a moment the employee picks in local time: balance and transactions. */
export function AccountAsOf({ followed }: Props) {
  const { preferences } = usePreferences();
  const { result, error, busy, look } = useAccountAt(preferences.count);
  const id = useId();
  const [iban, setIban] = useState(followed ?? '');
  const [problem, setProblem] = useState<string | null>(null);
  // Read when the form is sent: what the picker holds is all that matters, not each edit of it.
  const moment = useRef<HTMLInputElement>(null);
  const [startValue] = useState(() => toLocalInputValue(new Date(), false));

  useEffect(() => {
    if (followed !== null) setIban(followed);
  }, [followed]);

  function show(event: FormEvent) {
    event.preventDefault();
    const account = normalIban(iban);
    const at = localInputToIso(moment.current?.value ?? '');
    const found =
      account === ''
        ? 'Enter the IBAN of an account, or follow one in the list above.'
        : at === null
          ? 'Pick a date and a time.'
          : null;
    setProblem(found);
    if (found === null && at !== null) look(account, at);
  }

  return (
    <section className="panel" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>An account as it was</h2>
      <p id={`${id}-hint`} className="hint">
        Its balance and newest transactions as they were at a moment in the past, in your local time
        ({Intl.DateTimeFormat().resolvedOptions().timeZone}).
      </p>
      <form className="form" onSubmit={show} aria-describedby={`${id}-hint`} noValidate>
        <TextField
          label="Account IBAN"
          name="as-of-iban"
          autoComplete="off"
          spellCheck={false}
          placeholder="NL66OPEN0000000000"
          value={iban}
          onChange={setIban}
        />
        <label htmlFor={`${id}-at`}>As of (your local time)</label>
        <input
          id={`${id}-at`}
          ref={moment}
          type="datetime-local"
          step={1}
          defaultValue={startValue}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Looking…' : 'Show'}
        </button>
      </form>
      {problem && <Notice kind="error">{problem}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      {result && (
        <div className="as-of">
          <dl className="facts">
            <dt>IBAN</dt>
            <dd className="iban">{result.iban}</dd>
            <dt>As of</dt>
            <dd>
              <time dateTime={result.at}>{formatLocalInstant(result.at)}</time>
            </dd>
            <dt>Balance then</dt>
            <dd className="balance" data-testid="as-of-balance">
              {result.balance}
            </dd>
          </dl>
          <TransactionTable
            caption={`Transactions of ${result.iban} as of ${formatLocalInstant(result.at)}, newest first`}
            transactions={result.transactions}
            emptyText="No transactions yet at that moment."
          />
        </div>
      )}
    </section>
  );
}
