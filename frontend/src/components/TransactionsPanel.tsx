import type { LiveTransactions } from '../hooks/liveTransactions';
import { ConnectionBadge } from './ConnectionBadge';
import { DisplayOptions } from './DisplayOptions';
import { Notice } from './Notice';
import { TransactionTable } from './TransactionTable';

interface Props {
  title: string;
  iban: string;
  live: LiveTransactions;
}

/** An account's newest transactions, live, with the display options. */
export function TransactionsPanel({ title, iban, live }: Props) {
  return (
    <section className="panel" aria-labelledby={`transactions-${iban}`}>
      <div className="panel-heading">
        <h2 id={`transactions-${iban}`}>{title}</h2>
        <ConnectionBadge />
      </div>
      <DisplayOptions />
      {live.error && <Notice kind="error">{live.error}</Notice>}
      {live.loading && live.transactions.length === 0 ? (
        <p className="empty">Loading transactions…</p>
      ) : (
        <TransactionTable
          caption={`${title} of ${iban}, newest first`}
          transactions={live.transactions}
          arrived={live.arrived}
          emptyText="No transactions yet. New ones appear here as they happen."
        />
      )}
    </section>
  );
}
