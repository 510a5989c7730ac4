import { useEffect, useState } from 'react';
import { Notice, type Outcome } from '../../components/Notice';
import { useHoldCommands } from '../../hooks/holdCommands';
import {
  fullCapture,
  holdName,
  holdRow,
  lacksHold,
  nextRelease,
  parseCapture,
  type Hold,
} from '../../holds';
import { formatCents } from '../../money';
import type { Expectation } from '../../ownedAccounts';
import { explainCaptureRefusal, explainVoidRefusal, refusalMessage } from '../../refusals';
import { HoldForm } from './HoldForm';

interface Props {
  iban: string;
  /** The account's open holds, oldest first; null while the list of accounts is not loaded. */
  holds: readonly Hold[] | null;
  /** Loads the list of accounts again (until it meets the expectation, when given). */
  onChanged: (until?: Expectation) => void;
}

/**
 * The open holds of the selected account, each to capture (all or part of it) or void, and
 * placing a new one. The bank releases an expired hold by itself: the list is loaded again a
 * moment after the soonest one expires.
 */
export function HoldsPanel({ iban, holds, onChanged }: Props) {
  const [outcome, setOutcome] = useState<Outcome>(null);
  useReloadOnExpiry(iban, holds, onChanged);

  const done = (shown: Outcome, until?: Expectation) => {
    setOutcome(shown);
    onChanged(until);
  };

  const now = new Date();
  return (
    <section className="panel" aria-labelledby="holds-title">
      <div className="panel-heading">
        <h2 id="holds-title">Holds</h2>
        <button type="button" className="secondary" onClick={() => onChanged()}>
          Reload
        </button>
      </div>
      {holds === null ? (
        <p className="empty">Loading your holds…</p>
      ) : holds.length === 0 ? (
        <p className="empty">No money is held on this account.</p>
      ) : (
        <div className="table-scroll" tabIndex={0} role="region" aria-label="Open holds">
          <table className="holds">
            <caption className="visually-hidden">
              {holds.length} open holds on {iban}, oldest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Payee</th>
                <th scope="col" className="number">
                  Amount
                </th>
                <th scope="col">Reference</th>
                <th scope="col">Released at</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {holds.map((hold) => (
                <HoldItem key={hold.uuid} iban={iban} hold={hold} now={now} onDone={done} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
      <HoldForm
        iban={iban}
        onDone={(until) => {
          setOutcome(null);
          onChanged(until);
        }}
      />
    </section>
  );
}

/**
 * Loads the list again a moment after the soonest hold expires. Each answer is a new list, which
 * sets the timer again: an expired hold the bank has not released yet is looked for again.
 */
function useReloadOnExpiry(
  iban: string,
  holds: readonly Hold[] | null,
  onChanged: (until?: Expectation) => void,
): void {
  useEffect(() => {
    const next = nextRelease(holds ?? [], Date.now());
    if (next === null) return;
    const timer = setTimeout(() => onChanged(lacksHold(iban, next.uuid)), next.inMs);
    return () => clearTimeout(timer);
  }, [iban, holds, onChanged]);
}

interface ItemProps {
  iban: string;
  hold: Hold;
  now: Date;
  onDone: (outcome: Outcome, until?: Expectation) => void;
}

function HoldItem({ iban, hold, now, onDone }: ItemProps) {
  const { capture, release } = useHoldCommands();
  const [amount, setAmount] = useState(() => fullCapture(hold));
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState<'capture' | 'void' | null>(null);
  const row = holdRow(hold, now);
  const name = holdName(hold);
  const problemId = `hold-${hold.uuid}-problem`;

  async function captureIt() {
    const parsed = parseCapture(amount, hold);
    setProblem(parsed.ok ? null : parsed.error);
    if (!parsed.ok) return;
    setBusy('capture');
    const answer = await capture({ uuid: hold.uuid, iban, amount: parsed.cents });
    setBusy(null);
    if (answer.kind === 'done') {
      onDone(
        { kind: 'success', text: `${formatCents(parsed.cents)} captured and paid to ${hold.to}.` },
        lacksHold(iban, hold.uuid),
      );
    } else {
      const text = refusalMessage('Capture failed', answer.reason, explainCaptureRefusal);
      onDone({ kind: 'error', text });
    }
  }

  async function voidIt() {
    setProblem(null);
    setBusy('void');
    const answer = await release({ uuid: hold.uuid, iban });
    setBusy(null);
    if (answer.kind === 'done') {
      onDone({ kind: 'success', text: `Hold of ${name} voided.` }, lacksHold(iban, hold.uuid));
    } else {
      const text = refusalMessage('Void failed', answer.reason, explainVoidRefusal);
      onDone({ kind: 'error', text });
    }
  }

  return (
    <tr data-uuid={hold.uuid}>
      <td className="iban" data-label="Payee">
        {row.payee}
      </td>
      <td className="number" data-label="Amount">
        {row.amount}
      </td>
      <td data-label="Reference">{row.descr}</td>
      <td data-label="Released at">
        <time dateTime={hold.expires_at}>{row.expires}</time>
        {row.expired && <span className="hint"> (expired, being released)</span>}
      </td>
      <td>
        <div className="hold-actions">
          <input
            name="capture-amount"
            inputMode="decimal"
            aria-label={`Amount to capture in euros of ${name}`}
            aria-invalid={problem ? true : undefined}
            aria-describedby={problem ? problemId : undefined}
            value={amount}
            onChange={(event) => {
              setAmount(event.target.value);
              setProblem(null);
            }}
          />
          <button
            type="button"
            disabled={busy !== null}
            aria-label={`Capture hold of ${name}`}
            onClick={() => void captureIt()}
          >
            {busy === 'capture' ? 'Capturing…' : 'Capture'}
          </button>
          <button
            type="button"
            className="secondary"
            disabled={busy !== null}
            aria-label={`Void hold of ${name}`}
            onClick={() => void voidIt()}
          >
            {busy === 'void' ? 'Voiding…' : 'Void'}
          </button>
        </div>
        {problem && (
          <p id={problemId} className="field-problem" role="alert">
            {problem}
          </p>
        )}
      </td>
    </tr>
  );
}
