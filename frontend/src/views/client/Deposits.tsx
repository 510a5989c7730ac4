import { useState } from 'react';
import { Notice, type Outcome } from '../../components/Notice';
import { useMoneyTransfer } from '../../hooks/moneyTransfer';
import { newTransferId } from '../../ids';
import { formatCents } from '../../money';
import { explainTransferRefusal, refusalMessage } from '../../refusals';

const DEPOSITS_IN_CENTS = [1_000, 10_000, 100_000];

interface Props {
  iban: string;
  /** Called after every answer, so the list of accounts is loaded again. */
  onDone: () => void;
}

export function Deposits({ iban, onDone }: Props) {
  const send = useMoneyTransfer();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);

  async function deposit(cents: number) {
    setBusy(true);
    setOutcome(null);
    const answer = await send({
      uuid: newTransferId(),
      amount: cents,
      from: 'cash',
      to: iban,
      descr: 'deposit',
    });
    setBusy(false);
    setOutcome(
      answer.kind === 'done'
        ? { kind: 'success', text: `${formatCents(cents)} deposited.` }
        : {
            kind: 'error',
            text: refusalMessage('Deposit failed', answer.reason, explainTransferRefusal),
          },
    );
    onDone();
  }

  return (
    <section className="panel" aria-labelledby="deposit-title">
      <h2 id="deposit-title">Deposit cash</h2>
      <div className="button-row">
        {DEPOSITS_IN_CENTS.map((cents) => (
          <button key={cents} type="button" disabled={busy} onClick={() => void deposit(cents)}>
            Deposit {formatCents(cents)}
          </button>
        ))}
      </div>
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
    </section>
  );
}
