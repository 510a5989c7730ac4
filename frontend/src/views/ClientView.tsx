import { useCallback, useEffect, useState } from 'react';
import type { Outcome } from '../components/Notice';
import { TransactionsPanel } from '../components/TransactionsPanel';
import { useClient } from '../hooks/clientSession';
import { useFocusOnAppear } from '../hooks/focus';
import { useLiveTransactions } from '../hooks/liveTransactions';
import { usePreferences } from '../hooks/preferences';
import { doesNotList, otherAccounts, pickAccount, type OwnedAccount } from '../ownedAccounts';
import type { AccountAccess, Session } from '../session';
import { balanceOf } from '../transactions';
import { AccountsPanel } from './client/AccountsPanel';
import { AlertsPanel } from './client/AlertsPanel';
import { BalanceChart } from './client/BalanceChart';
import { Deposits } from './client/Deposits';
import { LoginForm } from './client/LoginForm';
import { SelectedAccount } from './client/SelectedAccount';
import { TransferForm } from './client/TransferForm';

export function ClientView() {
  const { session, setSession } = useClient();
  // Focus follows logging in and out, not a page load.
  const [changedHere, setChangedHere] = useState(false);
  const change = (next: Session | null) => {
    setSession(next);
    setChangedHere(true);
  };
  return (
    <>
      <h1 tabIndex={-1}>Client</h1>
      {session ? (
        <ClientDesk
          session={session}
          focusHeading={changedHere}
          onSessionChange={setSession}
          onLogout={() => change(null)}
        />
      ) : (
        <LoginForm focusHeading={changedHere} onLogin={change} />
      )}
    </>
  );
}

interface DeskProps {
  session: Session;
  focusHeading: boolean;
  onSessionChange: (session: Session) => void;
  onLogout: () => void;
}

/**
 * Every account of the user, and the one they work with: the session remembers which (with the
 * user's token for it), so deposits, transfers, sharing and leaving act on it.
 */
function ClientDesk({ session, focusHeading, onSessionChange, onLogout }: DeskProps) {
  const { preferences } = usePreferences();
  const { owned } = useClient();
  const [notice, setNotice] = useState<Outcome>(null);
  const heading = useFocusOnAppear<HTMLHeadingElement>(focusHeading);

  const select = useCallback(
    (account: OwnedAccount) =>
      onSessionChange({ ...session, iban: account.iban, token: account.token }),
    [session, onSessionChange],
  );

  // Until the list is loaded, the account from the login is the one; once it is, an account the
  // user no longer owns (they left it) gives way to their oldest.
  const listed = owned.accounts ? pickAccount(owned.accounts, session.iban) : null;
  const { username } = session;
  const access: AccountAccess | null =
    owned.accounts === null
      ? { username, iban: session.iban, token: session.token }
      : listed && { username, iban: listed.iban, token: listed.token };
  useEffect(() => {
    if (listed && (listed.iban !== session.iban || listed.token !== session.token)) select(listed);
  }, [listed, session.iban, session.token, select]);

  const live = useLiveTransactions(access?.iban ?? null, preferences.count);
  const balance = listed?.balance ?? (live.loading ? '…' : balanceOf(live.transactions));

  const left = (outcome: Outcome) => {
    setNotice(outcome);
    const next =
      owned.accounts && access ? otherAccounts(owned.accounts, access.iban)[0] : undefined;
    if (next) select(next);
    if (access) owned.reload(doesNotList(access.iban));
    heading.current?.focus();
  };

  return (
    <>
      <AccountsPanel
        session={session}
        accounts={owned.accounts}
        error={owned.error}
        selected={access?.iban ?? null}
        notice={notice}
        heading={heading}
        onSelect={(account) => {
          setNotice(null);
          select(account);
        }}
        onChanged={owned.reload}
        onLogout={onLogout}
      />
      {access && (
        <>
          <SelectedAccount
            key={`account-${access.iban}`}
            account={access}
            balance={balance}
            owners={listed?.owners ?? null}
            onShared={owned.reload}
            onLeft={left}
          />
          <Deposits key={`deposits-${access.iban}`} account={access} onDone={owned.reload} />
          <TransferForm
            key={`transfer-${access.iban}`}
            account={access}
            ownAccounts={owned.accounts ? otherAccounts(owned.accounts, access.iban) : []}
            onDone={owned.reload}
          />
          <BalanceChart
            key={`chart-${access.iban}`}
            iban={access.iban}
            newestArrivedId={Math.max(0, ...live.arrived)}
          />
          <AlertsPanel key={`alerts-${access.iban}`} account={access} />
          <TransactionsPanel title="Your transactions" iban={access.iban} live={live} />
        </>
      )}
    </>
  );
}
