import { useEffect, useState } from 'react';
import { Notice, type Outcome } from '../../components/Notice';
import { useStandingOrderCommands } from '../../hooks/standingOrderCommands';
import type { Expectation } from '../../ownedAccounts';
import { explainCancelOrderRefusal, refusalMessage } from '../../refusals';
import {
  failedRunText,
  lacksOrder,
  nextRun,
  orderName,
  orderRow,
  ranSince,
  type FailedRun,
  type StandingOrder,
} from '../../standingOrders';
import { StandingOrderForm } from './StandingOrderForm';

interface Props {
  iban: string;
  /** The account's standing orders under way, oldest first; null while the list is not loaded. */
  orders: readonly StandingOrder[] | null;
  /** The latest runs that failed, newest first (the bank keeps ten). */
  failedRuns: readonly FailedRun[];
  /** Loads the list of accounts again (until it meets the expectation, when given). */
  onChanged: (until?: Expectation) => void;
}

/**
 * The standing orders of the selected account, each to cancel, and setting a new one. The bank
 * makes each run by itself: the list is loaded again a moment after the soonest run is due, so
 * its count moves on and an order whose last run was made goes away; Reload loads it at once.
 */
export function StandingOrdersPanel({ iban, orders, failedRuns, onChanged }: Props) {
  const [outcome, setOutcome] = useState<Outcome>(null);
  useReloadOnRun(iban, orders, onChanged);

  const now = new Date();
  return (
    <section className="panel" aria-labelledby="standing-orders-title">
      <div className="panel-heading">
        <h2 id="standing-orders-title">Standing orders</h2>
        <button type="button" className="secondary" onClick={() => onChanged()}>
          Reload
        </button>
      </div>
      {orders === null ? (
        <p className="empty">Loading your standing orders…</p>
      ) : orders.length === 0 ? (
        <p className="empty">No standing orders on this account.</p>
      ) : (
        <div
          className="table-scroll"
          tabIndex={0}
          role="region"
          aria-label="Standing orders under way"
        >
          <table className="standing-orders">
            <caption className="visually-hidden">
              {orders.length} standing orders of {iban}, oldest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Payee</th>
                <th scope="col" className="number">
                  Amount
                </th>
                <th scope="col">Note</th>
                <th scope="col">Schedule</th>
                <th scope="col">Next payment</th>
                <th scope="col">Payments made</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {orders.map((order) => (
                <OrderItem
                  key={order.uuid}
                  iban={iban}
                  order={order}
                  now={now}
                  onDone={(shown, until) => {
                    setOutcome(shown);
                    onChanged(until);
                  }}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {failedRuns.length > 0 && (
        <div className="failed-runs">
          <h3>Payments that failed</h3>
          <p>A failed payment is not tried again; the order goes on with its next one.</p>
          <ul aria-label="Standing-order payments that failed">
            {failedRuns.map((run) => (
              <li key={run.transfer_uuid} data-transfer={run.transfer_uuid}>
                {failedRunText(run)}
              </li>
            ))}
          </ul>
        </div>
      )}
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
      <StandingOrderForm
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
 * Loads the list again a moment after the soonest run is due, until it shows that run made.
 * Each answer is a new list, which sets the timer again: a run the bank has not made yet is
 * looked for again.
 */
function useReloadOnRun(
  iban: string,
  orders: readonly StandingOrder[] | null,
  onChanged: (until?: Expectation) => void,
): void {
  useEffect(() => {
    const next = nextRun(orders ?? [], Date.now());
    const order = orders?.find((listed) => listed.uuid === next?.uuid);
    if (next === null || order === undefined) return;
    const timer = setTimeout(() => onChanged(ranSince(iban, order)), next.inMs);
    return () => clearTimeout(timer);
  }, [iban, orders, onChanged]);
}

interface ItemProps {
  iban: string;
  order: StandingOrder;
  now: Date;
  onDone: (outcome: Outcome, until?: Expectation) => void;
}

function OrderItem({ iban, order, now, onDone }: ItemProps) {
  const { cancel } = useStandingOrderCommands();
  const [busy, setBusy] = useState(false);
  const row = orderRow(order, now);
  const name = orderName(order);

  async function cancelIt() {
    setBusy(true);
    const answer = await cancel({ uuid: order.uuid, iban });
    setBusy(false);
    if (answer.kind === 'done') {
      onDone(
        { kind: 'success', text: `Standing order of ${name} cancelled.` },
        lacksOrder(iban, order.uuid),
      );
    } else {
      const text = refusalMessage('Cancel failed', answer.reason, explainCancelOrderRefusal);
      onDone({ kind: 'error', text });
    }
  }

  return (
    <tr data-uuid={order.uuid}>
      <td className="iban" data-label="Payee">
        {row.payee}
      </td>
      <td className="number" data-label="Amount">
        {row.amount}
      </td>
      <td data-label="Note">{row.descr}</td>
      <td data-label="Schedule">{row.schedule}</td>
      <td data-label="Next payment" data-testid="next-run">
        {order.next_run === null ? (
          row.nextRun
        ) : (
          <time dateTime={order.next_run}>{row.nextRun}</time>
        )}
        {row.due && <span className="hint"> (due, being made)</span>}
      </td>
      <td data-label="Payments made">{row.runs}</td>
      <td>
        <button
          type="button"
          className="secondary"
          disabled={busy}
          aria-label={`Cancel standing order of ${name}`}
          onClick={() => void cancelIt()}
        >
          {busy ? 'Cancelling…' : 'Cancel'}
        </button>
      </td>
    </tr>
  );
}
