import { useEffect, useId, useState } from 'react';
import { positionOf } from '../accounts';
import { ConnectionBadge } from '../components/ConnectionBadge';
import { Notice } from '../components/Notice';
import { RoleApi } from '../components/RoleApi';
import { TransactionsPanel } from '../components/TransactionsPanel';
import { useAccounts } from '../hooks/accounts';
import { useSession } from '../hooks/api';
import { useFocusOnAppear, useLoginChangedHere } from '../hooks/focus';
import { useLiveTransactions } from '../hooks/liveTransactions';
import { usePreferences } from '../hooks/preferences';
import { AccountAsOf } from './employee/AccountAsOf';
import { EmployeeLoginForm } from './employee/EmployeeLoginForm';
import { SessionBar } from './employee/SessionBar';

export const ACCOUNTS_PER_PAGE = 10;

/** `value`, once it has not changed for `delayMs`: one request per pause in typing. */
function useSettled(value: string, delayMs: number): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delayMs);
    return () => clearTimeout(timer);
  }, [value, delayMs]);
  return settled;
}

/**
 * Every account is for employees only: a login first, then the accounts while it lasts. All of it
 * talks to the endpoint with the employee's session (RoleApi), whoever is logged in as customer.
 */
export function EmployeeView() {
  return (
    <>
      <h1 tabIndex={-1}>Employee</h1>
      <RoleApi role="employee">
        <EmployeeDesk />
      </RoleApi>
    </>
  );
}

function EmployeeDesk() {
  const { session, ended, store } = useSession('employee');
  const changedHere = useLoginChangedHere(session !== null);
  return session ? (
    <>
      <SessionBar session={session} />
      <AllAccounts focusHeading={changedHere} />
    </>
  ) : (
    <EmployeeLoginForm
      ended={ended}
      focusHeading={changedHere}
      onLogIn={(started) => store.start(started)}
    />
  );
}

function AllAccounts({ focusHeading }: { focusHeading: boolean }) {
  const [search, setSearch] = useState('');
  const [pageNumber, setPageNumber] = useState(1);
  const settledSearch = useSettled(search, 300);
  const { page, loading, error, reload } = useAccounts(
    settledSearch,
    pageNumber,
    ACCOUNTS_PER_PAGE,
  );
  const heading = useFocusOnAppear<HTMLHeadingElement>(focusHeading);
  const [followed, setFollowed] = useState<string | null>(null);
  const searchId = useId();
  const shown = positionOf(page, ACCOUNTS_PER_PAGE);
  // Accounts can only be added, but a search narrows them: stay within the pages that exist.
  useEffect(() => {
    if (!loading && page.accounts.length === 0 && pageNumber > shown.pageCount) {
      setPageNumber(shown.pageCount);
    }
  }, [loading, page.accounts.length, pageNumber, shown.pageCount]);

  return (
    <>
      <section className="panel" aria-labelledby="accounts-title">
        <div className="panel-heading">
          <h2 id="accounts-title" ref={heading} tabIndex={-1}>
            All accounts
          </h2>
          <ConnectionBadge />
        </div>
        <p className="hint">
          Every account with its owners and balance; balances change live. Follow one to watch its
          transactions come in.
        </p>
        <div className="toolbar">
          <label htmlFor={searchId}>Find IBAN or owner</label>
          <input
            id={searchId}
            type="search"
            spellCheck={false}
            value={search}
            onChange={(event) => {
              setSearch(event.target.value);
              setPageNumber(1);
            }}
          />
          <button type="button" className="secondary" onClick={reload}>
            Reload
          </button>
        </div>
        {error && <Notice kind="error">{error}</Notice>}
        {loading && page.accounts.length === 0 ? (
          <p className="empty">Loading accounts…</p>
        ) : page.accounts.length === 0 ? (
          <p className="empty">No accounts found.</p>
        ) : (
          <div className="table-scroll" tabIndex={0} role="region" aria-label="Accounts">
            <table className="accounts">
              <caption className="visually-hidden">
                Accounts {shown.first} to {shown.last} of {page.total}, sorted by IBAN
              </caption>
              <thead>
                <tr>
                  <th scope="col">IBAN</th>
                  <th scope="col">Owners</th>
                  <th scope="col" className="col-new_balance">
                    Balance
                  </th>
                  <th scope="col">
                    <span className="visually-hidden">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.accounts.map((account) => {
                  const iban = account.iban;
                  const isFollowed = followed === iban;
                  return (
                    <tr key={iban} data-iban={iban} className={isFollowed ? 'followed' : ''}>
                      <td className="iban" data-label="IBAN">
                        {iban}
                      </td>
                      <td data-label="Owners">{account.owners.join(', ')}</td>
                      <td data-label="Balance" className="col-new_balance">
                        {account.balance}
                      </td>
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
            onClick={() => setPageNumber(shown.page - 1)}
          >
            Previous
          </button>
          <span aria-live="polite">
            {shown.first}–{shown.last} of {page.total} · page {shown.page} of {shown.pageCount}
          </span>
          <button
            type="button"
            className="secondary"
            disabled={shown.page >= shown.pageCount}
            onClick={() => setPageNumber(shown.page + 1)}
          >
            Next
          </button>
        </nav>
      </section>
      <AccountAsOf followed={followed} />
      {followed && <FollowedAccount iban={followed} />}
    </>
  );
}

function FollowedAccount({ iban }: { iban: string }) {
  const { preferences } = usePreferences();
  const live = useLiveTransactions(iban, preferences.count);
  return <TransactionsPanel title={`Following ${iban}`} iban={iban} live={live} />;
}
