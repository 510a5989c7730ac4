import { useId, useState, type FormEvent } from 'react';
import { Notice, type Outcome } from '../../components/Notice';
import { TextField } from '../../components/TextField';
import { useHoldCommands } from '../../hooks/holdCommands';
import { chosenExpiry, DEFAULT_EXPIRY_SECONDS, EXPIRY_CHOICES, listsHold } from '../../holds';
import { newTransferId } from '../../ids';
import { formatCents, parseEuros } from '../../money';
import type { Expectation } from '../../ownedAccounts';
import { explainHoldRefusal, refusalMessage } from '../../refusals';

interface Props {
  /** The account the money is held on. */
  iban: string;
  /** After every answer, so the list is loaded again (until it shows the hold, when placed). */
  onDone: (until?: Expectation) => void;
}

function normalIban(typed: string): string {
  return typed.replace(/\s/g, '').toUpperCase();
}

/** Places a hold: money set aside now for a transfer to `to` later, until it expires. */
export function HoldForm({ iban: from, onDone }: Props) {
  const { hold } = useHoldCommands();
  const id = useId();
  const [to, setTo] = useState('');
  const [amount, setAmount] = useState('');
  const [descr, setDescr] = useState('');
  const [expiry, setExpiry] = useState(DEFAULT_EXPIRY_SECONDS);
  const [busy, setBusy] = useState(false);
  const [amountProblem, setAmountProblem] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  // Kept while the outcome of a try is unknown, so trying again cannot hold the money twice.
  const [uuid, setUuid] = useState(() => newTransferId());

  function edit<T>(set: (value: T) => void) {
    return (value: T) => {
      set(value);
      setUuid(newTransferId());
    };
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = parseEuros(amount);
    setAmountProblem(parsed.ok ? null : parsed.error);
    if (!parsed.ok) return;
    const payee = normalIban(to);
    setBusy(true);
    setOutcome(null);
    const answer = await hold({
      uuid,
      amount: parsed.cents,
      from,
      to: payee,
      descr: descr.trim(),
      expires_in_seconds: expiry,
    });
    setBusy(false);
    if (answer.kind === 'done') {
      setOutcome({ kind: 'success', text: `${formatCents(parsed.cents)} held for ${payee}.` });
      setTo('');
      setAmount('');
      setDescr('');
      onDone(listsHold(from, uuid));
    } else {
      const text = refusalMessage('Hold failed', answer.reason, explainHoldRefusal);
      setOutcome({ kind: 'error', text });
      onDone();
    }
    if (answer.kind !== 'unknown') setUuid(newTransferId());
  }

  return (
    <form className="subform" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
      <h3 id={`${id}-title`}>Hold money</h3>
      <p id={`${id}-hint`} className="hint">
        Sets money aside for a payment to come: it is no longer available, but stays on the account
        until you capture it for the payee. Unless captured in time, it is released.
      </p>
      <div className="form">
        <TextField
          label="Payee (IBAN)"
          name="payee"
          autoComplete="off"
          spellCheck={false}
          placeholder="NL66OPEN0000000000"
          value={to}
          onChange={edit(setTo)}
          aria-describedby={`${id}-hint`}
        />
        <TextField
          label="Amount to hold in euros"
          name="hold-amount"
          inputMode="decimal"
          placeholder="12,50"
          value={amount}
          onChange={edit(setAmount)}
          problem={amountProblem}
        />
        <TextField
          label="Reference"
          name="hold-reference"
          maxLength={1000}
          value={descr}
          onChange={edit(setDescr)}
        />
        <label htmlFor={`${id}-expiry`}>Released unless captured within</label>
        <select
          id={`${id}-expiry`}
          value={expiry}
          onChange={(event) => {
            const seconds = chosenExpiry(event.target.value);
            if (seconds !== null) edit(setExpiry)(seconds);
          }}
        >
          {EXPIRY_CHOICES.map((choice) => (
            <option key={choice.seconds} value={choice.seconds}>
              {choice.label}
            </option>
          ))}
        </select>
        <button type="submit" disabled={busy}>
          {busy ? 'Holding…' : 'Hold money'}
        </button>
      </div>
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
    </form>
  );
}
