import { useId, useState } from 'react';
import { filterByIban, paginate } from '../accounts';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { Notice } from '../components/Notice';
import { TransactionsPanel } from '../components/TransactionsPanel';
import { useAccounts } from '../hooks/accounts';
import { useLiveTransactions } from '../hooks/liveTransactions';
import { usePreferences } from '../hooks/preferences';
import { signedAmount } from '../transactions';

export const ACCOUNTS_PER_PAGE = 10;

export function EmployeeView() {
  const { accounts, loading, error, reload } = useAccounts();
  const [filter, setFilter] = useState('');
  const [page, setPage] = useState(1);
  const [followed, setFollowed] = useState<string | null>(null);
  const filterId = useId();
  const shown = paginate(filterByIban(accounts, filter), page, ACCOUNTS_PER_PAGE);

  return (
    <>
      <h1 tabIndex={-1}>Employee</h1>
      <section className="panel" aria-labelledby="accounts-title">
        <div className="panel-heading">
          <h2 id="accounts-title">All accounts</h2>
          <ConnectionBadge />
        </div>
        <p className="hint">
          Every account that has had a transaction, with its balance, updated live. Follow one to
          watch its transactions come in.
        </p>
        <div className="toolbar">
          <label htmlFor={filterId}>Find IBAN</label>
          <input
            id={filterId}
            type="search"
            spellCheck={false}
            value={filter}
            onChange={(event) => {
              setFilter(event.target.value);
              setPage(1);
            }}
          />
          <button type="button" className="secondary" onClick={reload}>
            Reload
          </button>
        </div>
        {error && <Notice kind="error">{error}</Notice>}
        {loading && accounts.length === 0 ? (
          <p className="empty">Loading accounts…</p>
        ) : shown.total === 0 ? (
          <p className="empty">No accounts found.</p>
        ) : (
          <div className="table-scroll" tabIndex={0} role="region" aria-label="Accounts">
            <table className="accounts">
              <caption className="visually-hidden">
                Accounts {shown.first} to {shown.last} of {shown.total}, sorted by IBAN
              </caption>
              <thead>
                <tr>
                  <th scope="col">IBAN</th>
                  <th scope="col">Balance</th>
                  <th scope="col">Last change</th>
                  <th scope="col">
                    <span className="visually-hidden">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {shown.items.map((account) => {
                  const iban = account.iban ?? '';
                  const isFollowed = followed === iban;
                  return (
                    <tr key={iban} data-iban={iban} className={isFollowed ? 'followed' : ''}>
                      <td className="iban" data-label="IBAN">
                        {iban}
                      </td>
                      <td data-label="Balance">{account.new_balance}</td>
                      <td data-label="Last change">{signedAmount(account)}</td>
                      <td>
                        <button
                          type="button"
                          className="secondary"
                          aria-pressed={isFollowed}
                          aria-label={`${isFollowed ? 'Stop following' : 'Follow'} ${iban}`}
                          onClick={() => setFollowed(isFollowed ? null : iban)}
                        >
                          {isFollowed ? 'Following' : 'Follow'}
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        <nav className="pagination" aria-label="Pages of accounts">
          <button
            type="button"
            className="secondary"
            disabled={shown.page <= 1}
            onClick={() => setPage(shown.page - 1)}
          >
            Previous
          </button>
          <span aria-live="polite">
            {shown.first}–{shown.last} of {shown.total} · page {shown.page} of {shown.pageCount}
          </span>
          <button
            type="button"
            className="secondary"
            disabled={shown.page >= shown.pageCount}
            onClick={() => setPage(shown.page + 1)}
          >
            Next
          </button>
        </nav>
      </section>
      {followed && <FollowedAccount iban={followed} />}
    </>
  );
}

function FollowedAccount({ iban }: { iban: string }) {
  const { preferences } = usePreferences();
  const live = useLiveTransactions(iban, preferences.count);
  return <TransactionsPanel title={`Following ${iban}`} iban={iban} live={live} />;
}
