import { useCallback, useEffect, useState } from 'react';
import type { Outcome } from '../components/Notice';
import { TransactionsPanel } from '../components/TransactionsPanel';
import { useClient } from '../hooks/clientSession';
import { useFocusOnAppear, useLoginChangedHere } from '../hooks/focus';
import { useLiveTransactions } from '../hooks/liveTransactions';
import { usePreferences } from '../hooks/preferences';
import { doesNotList, otherAccounts, pickAccount, type OwnedAccount } from '../ownedAccounts';
import type { Session } from '../sessions';
import { balanceOf } from '../transactions';
import { AccountsPanel } from './client/AccountsPanel';
import { AlertsPanel } from './client/AlertsPanel';
import { BalanceChart } from './client/BalanceChart';
import { ChangePasswordForm } from './client/ChangePasswordForm';
import { Deposits } from './client/Deposits';
import { HoldsPanel } from './client/HoldsPanel';
import { LoginForm } from './client/LoginForm';
import { SelectedAccount } from './client/SelectedAccount';
import { StandingOrdersPanel } from './client/StandingOrdersPanel';
import { StatementPanel } from './client/StatementPanel';
import { TransferForm } from './client/TransferForm';

export function ClientView() {
  const { session, ended, logIn } = useClient();
  // Focus follows logging in and out (and a session ending), not arriving at the view.
  const changedHere = useLoginChangedHere(session !== null);
  return (
    <>
      <h1 tabIndex={-1}>Client</h1>
      {session ? (
        <ClientDesk session={session} focusHeading={changedHere} />
      ) : (
        <LoginForm ended={ended} focusHeading={changedHere} onLogin={logIn} />
      )}
    </>
  );
}

interface DeskProps {
  session: Session;
  focusHeading: boolean;
}

/**
 * Every account of the user, and the one they work with: deposits, transfers, holds, standing
 * orders, sharing, leaving and alerts act on it. The session that goes with every request says
 * who the user is.
 */
function ClientDesk({ session, focusHeading }: DeskProps) {
  const { preferences } = usePreferences();
  const { owned, store, selected, select } = useClient();
  const [notice, setNotice] = useState<Outcome>(null);
  const [loggingOut, setLoggingOut] = useState(false);
  const heading = useFocusOnAppear<HTMLHeadingElement>(focusHeading);

  // Until the list is loaded, the account from the sign-up (if any) is the one; once it is, an
  // account the user no longer owns (they left it) gives way to their oldest.
  const listed = owned.accounts ? pickAccount(owned.accounts, selected) : null;
  const iban = owned.accounts === null ? selected : (listed?.iban ?? null);
  useEffect(() => {
    if (listed && listed.iban !== selected) select(listed.iban);
  }, [listed, selected, select]);

  const live = useLiveTransactions(iban, preferences.count);
  const balance = listed?.balance ?? (live.loading ? '…' : balanceOf(live.transactions));

  const left = (outcome: Outcome) => {
    setNotice(outcome);
    const next = owned.accounts && iban ? otherAccounts(owned.accounts, iban)[0] : undefined;
    if (next) select(next.iban);
    if (iban) owned.reload(doesNotList(iban));
    heading.current?.focus();
  };

  const logOut = useCallback(() => {
    setLoggingOut(true);
    void store.logOut();
  }, [store]);

  return (
    <>
      <AccountsPanel
        session={session}
        accounts={owned.accounts}
        error={owned.error}
        selected={iban}
        notice={notice}
        heading={heading}
        loggingOut={loggingOut}
        onSelect={(account: OwnedAccount) => {
          setNotice(null);
          select(account.iban);
        }}
        onChanged={owned.reload}
        onLogout={logOut}
      />
      {iban && (
        <>
          <SelectedAccount
            key={`account-${iban}`}
            iban={iban}
            balance={balance}
            available={listed?.available_balance ?? null}
            owners={listed?.owners ?? null}
            onShared={owned.reload}
            onLeft={left}
          />
          <Deposits key={`deposits-${iban}`} iban={iban} onDone={owned.reload} />
          <TransferForm
            key={`transfer-${iban}`}
            iban={iban}
            ownAccounts={owned.accounts ? otherAccounts(owned.accounts, iban) : []}
            onDone={owned.reload}
          />
          <HoldsPanel
            key={`holds-${iban}`}
            iban={iban}
            holds={listed?.holds ?? null}
            onChanged={owned.reload}
          />
          <StandingOrdersPanel
            key={`standing-orders-${iban}`}
            iban={iban}
            orders={listed?.standing_orders ?? null}
            failedRuns={listed?.failed_standing_order_runs ?? []}
            onChanged={owned.reload}
          />
          <BalanceChart
            key={`chart-${iban}`}
            iban={iban}
            newestArrivedId={Math.max(0, ...live.arrived)}
          />
          <AlertsPanel key={`alerts-${iban}`} iban={iban} />
          <StatementPanel
            key={`statement-${iban}`}
            iban={iban}
            newestArrivedId={Math.max(0, ...live.arrived)}
          />
          <TransactionsPanel title="Your transactions" iban={iban} live={live} />
        </>
      )}
      <ChangePasswordForm />
    </>
  );
}
