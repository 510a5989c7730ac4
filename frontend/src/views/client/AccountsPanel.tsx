import { useState, type RefObject } from 'react';
import { ConnectionBadge } from '../../components/ConnectionBadge';
import { Notice, type Outcome } from '../../components/Notice';
import { useAccountCommands } from '../../hooks/accountCommands';
import { coOwnersOf, lists, type Expectation, type OwnedAccount } from '../../ownedAccounts';
import { clockTime, type Session } from '../../sessions';

interface Props {
  session: Session;
  /** Null while loading. */
  accounts: readonly OwnedAccount[] | null;
  error: string | null;
  selected: string | null;
  /** What happened to an account that is no longer listed (leaving it), shown here. */
  notice: Outcome;
  heading: RefObject<HTMLHeadingElement | null>;
  /** The logout is on its way to the endpoint. */
  loggingOut: boolean;
  onSelect: (account: OwnedAccount) => void;
  onChanged: (until?: Expectation) => void;
  onLogout: () => void;
}

/** Every account the user owns, which one they work with, and opening one more. */
export function AccountsPanel(props: Props) {
  const { session, accounts, error, selected, notice, heading, loggingOut } = props;
  const { onSelect, onChanged, onLogout } = props;
  const { openAccount } = useAccountCommands();
  const [busy, setBusy] = useState(false);
  const [opened, setOpened] = useState<Outcome>(null);

  async function open() {
    setBusy(true);
    setOpened(null);
    const { outcome, iban } = await openAccount();
    setOpened(outcome);
    setBusy(false);
    onChanged(iban === null ? undefined : lists(iban));
  }

  return (
    <section className="panel" aria-labelledby="accounts-title">
      <div className="panel-heading">
        <h2 id="accounts-title" ref={heading} tabIndex={-1}>
          Your accounts
        </h2>
        <div className="button-row">
          <ConnectionBadge />
          <button type="button" className="secondary" disabled={loggingOut} onClick={onLogout}>
            {loggingOut ? 'Logging out…' : 'Log out'}
          </button>
        </div>
      </div>
      <dl className="facts">
        <dt>Logged in as</dt>
        <dd data-testid="username">{session.username}</dd>
        <dt>Session</dt>
        <dd>
          until{' '}
          <time data-testid="session-expires" dateTime={session.expiresAt}>
            {clockTime(new Date(session.expiresAt), new Date())}
          </time>
          , longer while you use the app
        </dd>
      </dl>
      {notice && <Notice kind={notice.kind}>{notice.text}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      {accounts === null ? (
        !error && <p className="empty">Loading your accounts…</p>
      ) : accounts.length === 0 ? (
        <p className="empty">You own no accounts. Open one below.</p>
      ) : (
        <div className="table-scroll" tabIndex={0} role="region" aria-label="List of your accounts">
          <table className="accounts own-accounts">
            <caption className="visually-hidden">
              Your {accounts.length} accounts, oldest first; balances change live
            </caption>
            <thead>
              <tr>
                <th scope="col">IBAN</th>
                <th scope="col" className="col-new_balance">
                  Balance
                </th>
                <th scope="col">Shared with</th>
                <th scope="col">
                  <span className="visually-hidden">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {accounts.map((account) => {
                const isSelected = account.iban === selected;
                const others = coOwnersOf(account, session.username);
                return (
                  <tr
                    key={account.iban}
                    data-iban={account.iban}
                    className={isSelected ? 'selected' : ''}
                  >
                    <td className="iban" data-label="IBAN">
                      {account.iban}
                    </td>
                    <td data-label="Balance" className="col-new_balance">
                      {account.balance}
                    </td>
                    <td data-label="Shared with">
                      {others.length > 0 ? others.join(', ') : <span className="hint">nobody</span>}
                    </td>
                    <td>
                      <button
                        type="button"
                        className="secondary"
                        aria-pressed={isSelected}
                        aria-label={`Work with ${account.iban}`}
                        onClick={() => onSelect(account)}
                      >
                        {isSelected ? 'Selected' : 'Select'}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <div className="button-row actions">
        <button type="button" disabled={busy} onClick={() => void open()}>
          {busy ? 'Opening…' : 'Open another account'}
        </button>
      </div>
      {opened && <Notice kind={opened.kind}>{opened.text}</Notice>}
    </section>
  );
}
