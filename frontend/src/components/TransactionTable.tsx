import { usePreferences } from '../hooks/preferences';
import {
  TRANSACTION_FIELDS,
  formatTransactionTime,
  signedAmount,
  type Transaction,
} from '../transactions';

interface Props {
  caption: string;
  transactions: readonly Transaction[];
  /** Ids that arrived live: highlighted when they appear. */
  arrived?: ReadonlySet<number>;
  emptyText: string;
  /** The table's class: `transactions` for the lists of recent ones. */
  className?: string;
}

function cell(transaction: Transaction, key: keyof Transaction, now: Date): string {
  switch (key) {
    case 'at':
      return formatTransactionTime(transaction.at, now);
    case 'changed_by':
      return signedAmount(transaction);
    case 'direction':
      return transaction.direction === 'CREDIT'
        ? 'in'
        : transaction.direction === 'DEBIT'
          ? 'out'
          : '';
    default:
      return String(transaction[key] ?? '');
  }
}

/** Transactions in the order given, with the fields the user chose to see. */
export function TransactionTable({
  caption,
  transactions,
  arrived,
  emptyText,
  className = 'transactions',
}: Props) {
  const { preferences } = usePreferences();
  const columns = TRANSACTION_FIELDS.filter((field) => preferences.fields.includes(field.key));
  const now = new Date();
  if (transactions.length === 0) {
    return <p className="empty">{emptyText}</p>;
  }
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label={caption}>
      <table className={className}>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column.key} scope="col" className={`col-${column.key}`}>
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {transactions.map((transaction) => (
            <tr
              key={transaction.id}
              data-transaction-id={transaction.id}
              className={[
                transaction.direction === 'CREDIT' ? 'credit' : 'debit',
                arrived?.has(transaction.id) ? 'arrived' : '',
              ].join(' ')}
            >
              {columns.map((column) => (
                <td key={column.key} className={`col-${column.key}`} data-label={column.label}>
                  {column.key === 'at' && transaction.at ? (
                    <time dateTime={transaction.at}>{cell(transaction, column.key, now)}</time>
                  ) : (
                    cell(transaction, column.key, now)
                  )}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
