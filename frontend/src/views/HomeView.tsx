import { TransactionsPanel } from '../components/TransactionsPanel';
import { useLiveTransactions } from '../hooks/liveTransactions';
import { usePreferences } from '../hooks/preferences';

export const COMPANY_IBAN = 'NL66OPEN0000000000';

export function HomeView() {
  const { preferences } = usePreferences();
  const live = useLiveTransactions(COMPANY_IBAN, preferences.count);
  return (
    <>
      <h1 tabIndex={-1}>Open Bank on Kafka</h1>
      <section className="panel about" aria-labelledby="about">
        <h2 id="about">What this is</h2>
        <p>
          A demo bank whose only source of truth is Apache Kafka. Every login, deposit and transfer
          is a command on a Kafka topic; a command handler checks it against accounts rebuilt from
          earlier events and records what happened as new events; a projector turns those events
          into the transactions you see here, and streams them to this page as they happen.
        </p>
        <p>
          As a <a href="#/client">client</a> you log in (the first login opens an account), deposit
          money and transfer it. As an <a href="#/employee">employee</a> you see every account and
          follow one live. Below are the transactions of the bank's own account,{' '}
          <span className="iban">{COMPANY_IBAN}</span>, which funds the demo.
        </p>
      </section>
      <TransactionsPanel title="Company account transactions" iban={COMPANY_IBAN} live={live} />
    </>
  );
}
