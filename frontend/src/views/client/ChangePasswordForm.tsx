import { useId, useState, type FormEvent } from 'react';
import { describeError } from '../../api/errors';
import { CHANGE_PASSWORD } from '../../api/sessionOperations';
import { Notice, type Outcome } from '../../components/Notice';
import { TextField } from '../../components/TextField';
import { newPasswordProblems } from '../../credentials';
import { useApi } from '../../hooks/api';
import { explainPasswordChangeRefusal, refusalMessage } from '../../refusals';

/**
 * The user's password, changed with the current one (the session alone is not enough: whoever
 * finds a tab left open must not lock its owner out). The user's other sessions end; this one
 * stays. Both fields are emptied once the endpoint answered, so neither password stays around.
 */
export function ChangePasswordForm() {
  const { client, endpoint } = useApi();
  const id = useId();
  const [oldPassword, setOldPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found = newPasswordProblems(oldPassword, newPassword);
    setProblems(found);
    setOutcome(null);
    if (found.length > 0) return;
    setBusy(true);
    const variables = { old_password: oldPassword, new_password: newPassword };
    const result = await client.mutation(CHANGE_PASSWORD, variables).toPromise();
    setBusy(false);
    const what = 'Could not change your password';
    const answer = result.data?.change_password;
    if (result.error) {
      setOutcome({ kind: 'error', text: `${what}: ${describeError(result.error, endpoint.http)}` });
    } else if (answer?.success) {
      setOutcome({
        kind: 'success',
        text: 'Your password is changed. Your other sessions have ended; this one goes on.',
      });
    } else {
      const reason = answer?.reason ?? 'no answer';
      setOutcome({
        kind: 'error',
        text: refusalMessage(what, reason, explainPasswordChangeRefusal),
      });
    }
    setOldPassword('');
    setNewPassword('');
  }

  return (
    <form className="panel form" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
      <h2 id={`${id}-title`}>Change password</h2>
      <p id={`${id}-hint`} className="hint">
        Your current password, then a new one that is hard to guess: a phrase of a few uncommon
        words. Everywhere else you are logged in, you are logged out.
      </p>
      <TextField
        label="Current password"
        name="current-password"
        type="password"
        autoComplete="current-password"
        value={oldPassword}
        onChange={setOldPassword}
        aria-describedby={`${id}-hint`}
        invalid={problems.some((p) => p.includes('current'))}
      />
      <TextField
        label="New password"
        name="new-password"
        type="password"
        autoComplete="new-password"
        value={newPassword}
        onChange={setNewPassword}
        aria-describedby={`${id}-hint`}
        invalid={problems.some((p) => p.includes('new password'))}
      />
      {problems.length > 0 && <Notice kind="error">{problems.join('; ')}</Notice>}
      <button type="submit" disabled={busy}>
        {busy ? 'Changing…' : 'Change password'}
      </button>
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
    </form>
  );
}
