import { clockTime, type EmployeeSession } from '../../employeeSession';

/** Who is logged in as employee, until when, and a way out. */
export function SessionBar({
  session,
  onLogOut,
}: {
  session: EmployeeSession;
  onLogOut: () => void;
}) {
  return (
    <section className="panel session-bar" aria-label="Employee session">
      <p>
        Logged in as <strong data-testid="employee-username">{session.username}</strong> until{' '}
        <time dateTime={session.expiresAt}>
          {clockTime(new Date(session.expiresAt), new Date())}
        </time>
        .
      </p>
      <button type="button" className="secondary" onClick={onLogOut}>
        Log out
      </button>
    </section>
  );
}
