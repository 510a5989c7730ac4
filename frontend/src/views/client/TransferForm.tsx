import { useId, useState, type FormEvent } from 'react';
import { Notice, type Outcome } from '../../components/Notice';
import { TextField } from '../../components/TextField';
import { useMoneyTransfer } from '../../hooks/moneyTransfer';
import { newTransferId } from '../../ids';
import { formatCents, parseEuros } from '../../money';
import type { OwnedAccount } from '../../ownedAccounts';
import { explainTransferRefusal, refusalMessage } from '../../refusals';

interface Props {
  /** The account the money comes from. */
  iban: string;
  /** The user's other accounts, offered as destinations. */
  ownAccounts: readonly OwnedAccount[];
  /** Called after every answer, so the list of accounts is loaded again. */
  onDone: () => void;
}

function normalIban(typed: string): string {
  return typed.replace(/\s/g, '').toUpperCase();
}

export function TransferForm({ iban: from, ownAccounts, onDone }: Props) {
  const send = useMoneyTransfer();
  const id = useId();
  const [to, setTo] = useState('');
  const [amount, setAmount] = useState('');
  const [descr, setDescr] = useState('');
  const [busy, setBusy] = useState(false);
  const [amountProblem, setAmountProblem] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  // Kept while the outcome of a try is unknown, so trying again cannot move the money twice.
  const [uuid, setUuid] = useState(() => newTransferId());
  const chosenOwn = ownAccounts.some((own) => own.iban === normalIban(to)) ? normalIban(to) : '';

  function edit(set: (value: string) => void) {
    return (value: string) => {
      set(value);
      setUuid(newTransferId());
    };
  }

  async function transfer(event: FormEvent) {
    event.preventDefault();
    const parsed = parseEuros(amount);
    setAmountProblem(parsed.ok ? null : parsed.error);
    if (!parsed.ok) return;
    const iban = normalIban(to);
    setBusy(true);
    setOutcome(null);
    const answer = await send({
      uuid,
      amount: parsed.cents,
      from,
      to: iban,
      descr: descr.trim(),
    });
    setBusy(false);
    if (answer.kind === 'done') {
      setOutcome({ kind: 'success', text: `${formatCents(parsed.cents)} transferred to ${iban}.` });
      setTo('');
      setAmount('');
      setDescr('');
    } else {
      const text = refusalMessage('Transfer failed', answer.reason, explainTransferRefusal);
      setOutcome({ kind: 'error', text });
    }
    if (answer.kind !== 'unknown') setUuid(newTransferId());
    onDone();
  }

  return (
    <form className="panel form" onSubmit={transfer} aria-labelledby={`${id}-title`} noValidate>
      <h2 id={`${id}-title`}>Transfer money</h2>
      {ownAccounts.length > 0 && (
        <>
          <label htmlFor={`${id}-own`}>To one of my accounts</label>
          <select
            id={`${id}-own`}
            value={chosenOwn}
            onChange={(event) => edit(setTo)(event.target.value)}
          >
            <option value="">None: the IBAN typed below</option>
            {ownAccounts.map((own) => (
              <option key={own.iban} value={own.iban}>
                {own.iban} ({own.balance})
              </option>
            ))}
          </select>
        </>
      )}
      <TextField
        label="To (IBAN)"
        name="to"
        autoComplete="off"
        spellCheck={false}
        placeholder="NL66OPEN0000000000"
        value={to}
        onChange={edit(setTo)}
      />
      <TextField
        label="Amount in euros"
        name="amount"
        inputMode="decimal"
        placeholder="12,50"
        value={amount}
        onChange={edit(setAmount)}
        problem={amountProblem}
      />
      <TextField
        label="Description"
        name="descr"
        maxLength={1000}
        value={descr}
        onChange={edit(setDescr)}
      />
      <button type="submit" disabled={busy}>
        {busy ? 'Transferring…' : 'Transfer'}
      </button>
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
    </form>
  );
}
