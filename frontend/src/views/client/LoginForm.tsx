import { useId, useState, type FormEvent } from 'react';
import { describeError } from '../../api/errors';
import { GET_ACCOUNT } from '../../api/operations';
import { Notice } from '../../components/Notice';
import { TextField } from '../../components/TextField';
import { credentialProblems, MIN_CREDENTIAL_CHARS } from '../../credentials';
import { useApi } from '../../hooks/api';
import { useFocusOnAppear } from '../../hooks/focus';
import type { Session } from '../../session';

interface Props {
  focusHeading: boolean;
  onLogin: (session: Session) => void;
}

/** get_account logs the user in, or signs them up with their first account. */
export function LoginForm({ focusHeading, onLogin }: Props) {
  const { client, endpoint } = useApi();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const id = useId();
  const heading = useFocusOnAppear<HTMLHeadingElement>(focusHeading);

  async function logIn(event: FormEvent) {
    event.preventDefault();
    const found = credentialProblems(username, password);
    setProblems(found);
    if (found.length > 0) return;
    setBusy(true);
    const result = await client.mutation(GET_ACCOUNT, { username, password }).toPromise();
    setBusy(false);
    const account = result.data?.get_account;
    if (result.error) {
      setProblems([describeError(result.error, endpoint.http)]);
    } else if (account?.iban && account.token) {
      onLogin({ username, password, token: account.token, iban: account.iban });
    } else {
      setProblems([account?.reason ?? 'the endpoint gave no answer']);
    }
  }

  return (
    <form className="panel form" onSubmit={logIn} aria-labelledby={`${id}-title`} noValidate>
      <h2 id={`${id}-title`} ref={heading} tabIndex={-1}>
        Log in
      </h2>
      <p id={`${id}-hint`} className="hint">
        Username and password need at least {MIN_CREDENTIAL_CHARS} characters each. The first login
        with a new username opens a bank account.
      </p>
      <TextField
        label="Username"
        name="username"
        autoComplete="username"
        value={username}
        onChange={setUsername}
        aria-describedby={`${id}-hint`}
        invalid={problems.some((p) => p.startsWith('username'))}
      />
      <TextField
        label="Password"
        name="password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={setPassword}
        aria-describedby={`${id}-hint`}
        invalid={problems.some((p) => p.startsWith('password'))}
      />
      {problems.length > 0 && <Notice kind="error">{problems.join('; ')}</Notice>}
      <button type="submit" disabled={busy}>
        {busy ? 'Logging in…' : 'Log in'}
      </button>
    </form>
  );
}
