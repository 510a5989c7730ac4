import { useEffect } from 'react';
import { Notice } from '../components/Notice';
import type { EmployeeSession } from '../employeeSession';
import { useEmployeeSession } from '../hooks/employeeSession';
import { useFocusOnAppear } from '../hooks/focus';
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
  const { session, ended, changedHere, logIn, logOut, refused } = useEmployeeSession();
  return (
    <>
      <h1 tabIndex={-1}>Operations</h1>
      {session ? (
        <>
          <SessionBar session={session} onLogOut={logOut} />
          <LiveOperations session={session} focusHeading={changedHere} onRefused={refused} />
        </>
      ) : (
        <EmployeeLoginForm
          ended={ended}
          focusHeading={changedHere}
          onLogIn={logIn}
          hint={LOGIN_HINT}
        />
      )}
    </>
  );
}

interface LiveOperationsProps {
  session: EmployeeSession;
  focusHeading: boolean;
  /** The endpoint no longer accepts the session. */
  onRefused: (message: string) => void;
}

function LiveOperations({ session, focusHeading, onRefused }: LiveOperationsProps) {
  const { operations, receivedAt, error, stale, refusedSession } = useOperations(session.token);
  const heading = useFocusOnAppear<HTMLHeadingElement>(focusHeading);
  useEffect(() => {
    if (refusedSession !== null) onRefused(refusedSession);
  }, [refusedSession, onRefused]);

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

/** Whether the numbers are live: announced when that changes, not at every poll. */
function Freshness({ loaded, stale }: { loaded: boolean; stale: boolean }) {
  const [state, text] = !loaded
    ? ['connecting', 'Loading…']
    : stale
      ? ['offline', 'Stale']
      : ['live', 'Live'];
  return (
    <span className={`badge badge-${state}`} role="status">
      {text}
    </span>
  );
}
