import { Freshness } from '../components/Freshness';
import { Notice } from '../components/Notice';
import { RoleApi } from '../components/RoleApi';
import { useSession } from '../hooks/api';
import { useFocusOnAppear, useLoginChangedHere } from '../hooks/focus';
import { useOperations } from '../hooks/operations';
import { clockSeconds, POLL_INTERVAL_MS } from '../operations';
import { EmployeeLoginForm } from './employee/EmployeeLoginForm';
import { CommandsPanel } from './operations/CommandsPanel';
import { Headline } from './operations/Headline';
import { LatencyPanel } from './operations/LatencyPanel';
import { ServicesPanel } from './operations/ServicesPanel';
import { SessionBar } from './employee/SessionBar';

const LOGIN_HINT =
  'How the bank runs (transfers, latency, services and their lag, the last commands) is for bank employees only. A session lasts for a limited time; after it, log in again.';

/** How the bank runs, live, for employees: the same login and session as the Employee view. */
export function OperationsView() {
  return (
    <>
      <h1 tabIndex={-1}>Operations</h1>
      <RoleApi role="employee">
        <OperationsDesk />
      </RoleApi>
    </>
  );
}

function OperationsDesk() {
  const { session, ended, store } = useSession('employee');
  const changedHere = useLoginChangedHere(session !== null);
  return session ? (
    <>
      <SessionBar session={session} />
      <LiveOperations focusHeading={changedHere} />
    </>
  ) : (
    <EmployeeLoginForm
      ended={ended}
      focusHeading={changedHere}
      onLogIn={(started) => store.start(started)}
      hint={LOGIN_HINT}
    />
  );
}

function LiveOperations({ focusHeading }: { focusHeading: boolean }) {
  const { operations, receivedAt, error, stale } = useOperations();
  const heading = useFocusOnAppear<HTMLHeadingElement>(focusHeading);

  return (
    <>
      <section className="panel" aria-labelledby="now-title">
        <div className="panel-heading">
          <h2 id="now-title" ref={heading} tabIndex={-1}>
            Now
          </h2>
          <Freshness loaded={operations !== null} stale={stale} />
        </div>
        {operations ? (
          <Headline operations={operations} />
        ) : (
          !error && <p className="empty">Loading…</p>
        )}
        {receivedAt !== null && (
          <p className="hint">
            Updated at <time dateTime={operations?.at}>{clockSeconds(new Date(receivedAt))}</time>,
            every {POLL_INTERVAL_MS / 1000} seconds.
          </p>
        )}
        {error && <Notice kind="error">{error}</Notice>}
        {stale && !error && (
          <Notice kind="error">No fresh numbers for a while; still trying.</Notice>
        )}
      </section>
      {operations && (
        <>
          <LatencyPanel windows={operations.transfer_latency} />
          <ServicesPanel services={operations.services} />
          <CommandsPanel commands={operations.recent_commands} />
        </>
      )}
    </>
  );
}
