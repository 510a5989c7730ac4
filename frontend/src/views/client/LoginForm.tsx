import { useId, useState, type FormEvent } from 'react';
import { Notice } from '../../components/Notice';
import { TextField } from '../../components/TextField';
import { credentialProblems, MIN_CREDENTIAL_CHARS } from '../../credentials';
import { useCustomerLogin } from '../../hooks/customerLogin';
import { useFocusOnAppear } from '../../hooks/focus';
import type { Session, SessionEnd } from '../../sessions';

interface Props {
  /** Why the form is back, if a session just ended. */
  ended: SessionEnd;
  focusHeading: boolean;
  onLogin: (session: Session, iban: string | null) => void;
}

type Action = 'log-in' | 'sign-up';

/** The button that sent the form: Enter in a field sends it with the first, “Log in”. */
function actionOf(event: FormEvent<HTMLFormElement>): Action {
  const submitter = (event.nativeEvent as SubmitEvent).submitter;
  return submitter instanceof HTMLButtonElement && submitter.value === 'sign-up'
    ? 'sign-up'
    : 'log-in';
}

/** Logging in, or opening a first account (which creates the user) and then logging in. */
export function LoginForm({ ended, focusHeading, onLogin }: Props) {
  const { logIn, signUp } = useCustomerLogin();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState<Action | null>(null);
  const id = useId();
  const heading = useFocusOnAppear<HTMLHeadingElement>(focusHeading);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const action = actionOf(event);
    const found = credentialProblems(username, password);
    setProblems(found);
    if (found.length > 0) return;
    setBusy(action);
    const outcome = await (action === 'sign-up' ? signUp : logIn)(username, password);
    setBusy(null);
    if ('problem' in outcome) {
      setProblems([outcome.problem]);
    } else {
      // The form goes away with the password in it; nothing else ever held it.
      onLogin(outcome.session, outcome.iban);
    }
  }

  return (
    <form className="panel form" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
      <h2 id={`${id}-title`} ref={heading} tabIndex={-1}>
        Log in
      </h2>
      {ended && <Notice kind={ended.kind === 'expired' ? 'error' : 'success'}>{ended.text}</Notice>}
      <p id={`${id}-hint`} className="hint">
        Username and password need at least {MIN_CREDENTIAL_CHARS} characters each. New here? Pick a
        username and a password that is hard to guess (a phrase of a few uncommon words), then{' '}
        <em>Open an account</em>.
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
      <div className="button-row actions">
        <button type="submit" name="action" value="log-in" disabled={busy !== null}>
          {busy === 'log-in' ? 'Logging in…' : 'Log in'}
        </button>
        <button
          type="submit"
          name="action"
          value="sign-up"
          className="secondary"
          disabled={busy !== null}
        >
          {busy === 'sign-up' ? 'Opening…' : 'Open an account'}
        </button>
      </div>
    </form>
  );
}
