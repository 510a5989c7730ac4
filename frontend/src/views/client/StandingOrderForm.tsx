import { useId, useState, type FormEvent } from 'react';
import { Notice, type Outcome } from '../../components/Notice';
import { TextField } from '../../components/TextField';
import { useStandingOrderCommands } from '../../hooks/standingOrderCommands';
import { newTransferId } from '../../ids';
import type { Expectation } from '../../ownedAccounts';
import { explainStandingOrderRefusal, refusalMessage } from '../../refusals';
import {
  checkOrder,
  chosenSchedule,
  DEFAULT_SCHEDULE,
  defaultFirstRun,
  describeRequest,
  FIRST_RUN_HORIZON_DAYS,
  listsOrder,
  localInputValue,
  MAX_RUNS,
  SCHEDULE_CHOICES,
  takesRuns,
  type OrderProblems,
} from '../../standingOrders';

interface Props {
  /** The account that pays. */
  iban: string;
  /** After every answer, so the list is loaded again (until it shows the order, when set). */
  onDone: (until?: Expectation) => void;
}

/** Sets a standing order: a payment the bank makes by itself, once or every week or month. */
export function StandingOrderForm({ iban: from, onDone }: Props) {
  const { set } = useStandingOrderCommands();
  const id = useId();
  const [to, setTo] = useState('');
  const [amount, setAmount] = useState('');
  const [descr, setDescr] = useState('');
  const [schedule, setSchedule] = useState(DEFAULT_SCHEDULE);
  const [firstRun, setFirstRun] = useState(() => defaultFirstRun(new Date()));
  const [runs, setRuns] = useState('');
  const [busy, setBusy] = useState(false);
  const [problems, setProblems] = useState<OrderProblems>({});
  const [outcome, setOutcome] = useState<Outcome>(null);
  // Kept while the outcome of a try is unknown, so trying again cannot set the order twice.
  const [uuid, setUuid] = useState(() => newTransferId());

  function edit<T>(set: (value: T) => void, field?: keyof OrderProblems) {
    return (value: T) => {
      set(value);
      setUuid(newTransferId());
      if (field) setProblems((current) => ({ ...current, [field]: undefined }));
    };
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const checked = checkOrder({ to, amount, descr, schedule, firstRun, runs }, from, Date.now());
    setProblems(checked.ok ? {} : checked.problems);
    if (!checked.ok) return;
    setBusy(true);
    setOutcome(null);
    const answer = await set({ uuid, ...checked.request });
    setBusy(false);
    if (answer.kind === 'done') {
      setOutcome({
        kind: 'success',
        text: `Standing order set: ${describeRequest(checked.request)}.`,
      });
      setTo('');
      setAmount('');
      setDescr('');
      setRuns('');
      setFirstRun(defaultFirstRun(new Date()));
      onDone(listsOrder(from, uuid));
    } else {
      const text = refusalMessage(
        'Standing order not set',
        answer.reason,
        explainStandingOrderRefusal,
      );
      setOutcome({ kind: 'error', text });
      onDone();
    }
    if (answer.kind !== 'unknown') setUuid(newTransferId());
  }

  const now = new Date();
  const latest = new Date(now.getTime() + FIRST_RUN_HORIZON_DAYS * 86_400_000);
  return (
    <form className="subform" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
      <h3 id={`${id}-title`}>Set a standing order</h3>
      <p id={`${id}-hint`} className="hint">
        The bank pays the amount to the payee by itself at the first payment&rsquo;s time, and then
        every week or month if you like, as a transfer of its own. A payment that finds too little
        money on the account fails and is not tried again; the next one comes at its time.
      </p>
      <div className="form">
        <TextField
          label="Payee’s IBAN"
          name="order-payee"
          autoComplete="off"
          spellCheck={false}
          placeholder="NL66OPEN0000000000"
          value={to}
          onChange={edit(setTo, 'to')}
          problem={problems.to ?? null}
          aria-describedby={`${id}-hint`}
        />
        <TextField
          label="Euros per payment"
          name="order-amount"
          inputMode="decimal"
          placeholder="12,50"
          value={amount}
          onChange={edit(setAmount, 'amount')}
          problem={problems.amount ?? null}
        />
        <TextField
          label="Payment note"
          name="order-note"
          maxLength={1000}
          value={descr}
          onChange={edit(setDescr)}
        />
        <label htmlFor={`${id}-schedule`}>How often</label>
        <select
          id={`${id}-schedule`}
          value={schedule}
          onChange={(event) => {
            const chosen = chosenSchedule(event.target.value);
            if (chosen !== null) edit(setSchedule, 'runs')(chosen);
          }}
        >
          {SCHEDULE_CHOICES.map((choice) => (
            <option key={choice.value} value={choice.value}>
              {choice.label}
            </option>
          ))}
        </select>
        <TextField
          label="First payment (your local time)"
          name="order-first-run"
          type="datetime-local"
          min={localInputValue(now)}
          max={localInputValue(latest)}
          value={firstRun}
          onChange={edit(setFirstRun, 'firstRun')}
          problem={problems.firstRun ?? null}
        />
        {takesRuns(schedule) && (
          <>
            <TextField
              label="Number of payments"
              name="order-runs"
              inputMode="numeric"
              placeholder="until cancelled"
              value={runs}
              onChange={edit(setRuns, 'runs')}
              problem={problems.runs ?? null}
              aria-describedby={`${id}-runs-hint`}
            />
            <p id={`${id}-runs-hint`} className="hint field-hint">
              1 to {MAX_RUNS}; leave it empty to pay until you cancel the order.
            </p>
          </>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Setting…' : 'Set standing order'}
        </button>
      </div>
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
    </form>
  );
}
