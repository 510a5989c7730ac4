import { useId, useState, type FormEvent } from 'react';
import { describeError } from '../../api/errors';
import { EMPLOYEE_LOGIN } from '../../api/sessionOperations';
import { Notice } from '../../components/Notice';
import { TextField } from '../../components/TextField';
import { useApi } from '../../hooks/api';
import { useFocusOnAppear } from '../../hooks/focus';
import { explainCredentialRefusal, refusalMessage } from '../../refusals';
import { sessionFromAnswer, type Session, type SessionEnd } from '../../sessions';

interface Props {
  /** Why the form is back, if a session just ended. */
  ended: SessionEnd;
  focusHeading: boolean;
  onLogIn: (session: Session) => void;
  /** What is behind the login, above the fields. */
  hint?: string;
}

const ACCOUNTS_HINT =
  'Every account, with its owners and balance, is for bank employees only. A session lasts for a limited time; after it, log in again.';

export function EmployeeLoginForm({ ended, focusHeading, onLogIn, hint = ACCOUNTS_HINT }: Props) {
  const { client, endpoint } = useApi();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const heading = useFocusOnAppear<HTMLHeadingElement>(focusHeading);

  async function logIn(event: FormEvent) {
    event.preventDefault();
    if (username.trim() === '' || password === '') {
      setProblem('enter the employee username and password');
      return;
    }
    setBusy(true);
    setProblem(null);
    const result = await client.mutation(EMPLOYEE_LOGIN, { username, password }).toPromise();
    setBusy(false);
    const answer = sessionFromAnswer(username, result.data?.employee_login);
    if (result.error) {
      setProblem(describeError(result.error, endpoint.http));
    } else if ('session' in answer) {
      // The form goes away with the password in it; nothing else ever held it.
      onLogIn(answer.session);
    } else {
      setProblem(refusalMessage('Could not log in', answer.reason, explainCredentialRefusal));
    }
  }

  return (
    <form className="panel form" onSubmit={logIn} aria-labelledby={`${id}-title`} noValidate>
      <h2 id={`${id}-title`} ref={heading} tabIndex={-1}>
        Employee login
      </h2>
      {ended && <Notice kind={ended.kind === 'expired' ? 'error' : 'success'}>{ended.text}</Notice>}
      <p id={`${id}-hint`} className="hint">
        {hint}
      </p>
      <TextField
        label="Employee username"
        name="employee-username"
        autoComplete="username"
        spellCheck={false}
        value={username}
        onChange={setUsername}
        aria-describedby={`${id}-hint`}
        invalid={problem !== null}
      />
      <TextField
        label="Employee password"
        name="employee-password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={setPassword}
        aria-describedby={`${id}-hint`}
        invalid={problem !== null}
      />
      {problem && <Notice kind="error">{problem}</Notice>}
      <button type="submit" disabled={busy}>
        {busy ? 'Logging in…' : 'Log in as employee'}
      </button>
    </form>
  );
}
