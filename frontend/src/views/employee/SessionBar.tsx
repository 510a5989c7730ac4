import { useState } from 'react';
import { useSessionStore } from '../../hooks/api';
import { clockTime, type Session } from '../../sessions';

/** Who is logged in as employee, until when (longer while they use the app), and a way out. */
export function SessionBar({ session }: { session: Session }) {
  const store = useSessionStore('employee');
  const [loggingOut, setLoggingOut] = useState(false);
  return (
    <section className="panel session-bar" aria-label="Employee session">
      <p>
        Logged in as <strong data-testid="employee-username">{session.username}</strong> until{' '}
        <time data-testid="employee-session-expires" dateTime={session.expiresAt}>
          {clockTime(new Date(session.expiresAt), new Date())}
        </time>
        , longer while you use the app.
      </p>
      <button
        type="button"
        className="secondary"
        disabled={loggingOut}
        onClick={() => {
          setLoggingOut(true);
          void store.logOut();
        }}
      >
        {loggingOut ? 'Logging out…' : 'Log out'}
      </button>
    </section>
  );
}
