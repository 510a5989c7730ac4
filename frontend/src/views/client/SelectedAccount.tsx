import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { Notice, type Outcome } from '../../components/Notice';
import { TextField } from '../../components/TextField';
import { useAccountCommands } from '../../hooks/accountCommands';
import { listsOwner, type Expectation } from '../../ownedAccounts';

interface Props {
  iban: string;
  /** The booked balance. */
  balance: string;
  /** The booked balance less the open holds; null while the list of accounts is not loaded. */
  available: string | null;
  /** Null while the list of accounts is not loaded. */
  owners: readonly string[] | null;
  /** After sharing, so the list shows the new owner. */
  onShared: (until?: Expectation) => void;
  /** After leaving, with what to tell the user: this panel goes away with the account. */
  onLeft: (outcome: Outcome) => void;
}

/** The account the user works with: its facts, sharing it and leaving it. */
export function SelectedAccount({ iban, balance, available, owners, onShared, onLeft }: Props) {
  return (
    <section className="panel account" aria-labelledby="account-title">
      <h2 id="account-title">Selected account</h2>
      <dl className="facts">
        <dt>IBAN</dt>
        <dd className="iban" data-testid="own-iban">
          {iban}
        </dd>
        <dt>Balance</dt>
        <dd className="balance" data-testid="balance" aria-live="polite">
          {balance}
        </dd>
        {available !== null && available !== balance && (
          <>
            <dt>Available</dt>
            <dd data-testid="available-balance" aria-live="polite">
              {available} <span className="hint">(less the money held)</span>
            </dd>
          </>
        )}
        <dt>Owners</dt>
        <dd data-testid="owners">{owners ? owners.join(', ') : '…'}</dd>
      </dl>
      <ShareForm iban={iban} onShared={onShared} />
      <LeaveControl iban={iban} onLeft={onLeft} />
    </section>
  );
}

interface ShareFormProps {
  iban: string;
  onShared: (until?: Expectation) => void;
}

function ShareForm({ iban, onShared }: ShareFormProps) {
  const { share } = useAccountCommands();
  const id = useId();
  const [userToAdd, setUserToAdd] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const name = userToAdd.trim();
    if (name === '') {
      setOutcome({ kind: 'error', text: 'Enter the username of whom to share the account with.' });
      return;
    }
    setBusy(true);
    setOutcome(null);
    const answer = await share(iban, name);
    setBusy(false);
    setOutcome(answer);
    if (answer?.kind === 'success') {
      setUserToAdd('');
      onShared(listsOwner(iban, name));
    } else {
      onShared();
    }
  }

  return (
    <form className="subform" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
      <h3 id={`${id}-title`}>Share with…</h3>
      <p id={`${id}-hint`} className="hint">
        Another user who owns it too can see it and move its money, logged in as themselves.
      </p>
      <div className="toolbar">
        <TextField
          label="Username to share with"
          name="user-to-add"
          autoComplete="off"
          spellCheck={false}
          value={userToAdd}
          onChange={setUserToAdd}
          aria-describedby={`${id}-hint`}
          invalid={outcome?.kind === 'error'}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Sharing…' : 'Share'}
        </button>
      </div>
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
    </form>
  );
}

/** Leaving asks once more first: another owner would have to share the account again. */
function LeaveControl({ iban, onLeft }: { iban: string; onLeft: (outcome: Outcome) => void }) {
  const { leave } = useAccountCommands();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<Outcome>(null);
  // The button that appears takes the focus from the one that went away.
  const [focusOn, setFocusOn] = useState<'confirm' | 'leave' | null>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  const leaveButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (focusOn === null) return;
    (focusOn === 'confirm' ? confirmButton : leaveButton).current?.focus();
    setFocusOn(null);
  }, [focusOn]);

  function showConfirmation(shown: boolean) {
    setConfirming(shown);
    setFocusOn(shown ? 'confirm' : 'leave');
  }

  async function confirm() {
    setBusy(true);
    const answer = await leave(iban);
    setBusy(false);
    if (answer?.kind === 'success') {
      onLeft(answer);
    } else {
      setRefusal(answer);
      showConfirmation(false);
    }
  }

  return (
    <div className="subform">
      <p className="hint">
        Leaving takes the account off your list; its other owners keep it. The last owner can only
        leave an empty account.
      </p>
      {confirming ? (
        <div className="confirm" role="group" aria-label="Confirm leaving">
          <p>
            Leave <span className="iban">{iban}</span>? You will no longer see it or move its money.
          </p>
          <div className="button-row">
            <button
              ref={confirmButton}
              type="button"
              disabled={busy}
              onClick={() => void confirm()}
            >
              {busy ? 'Leaving…' : 'Yes, leave it'}
            </button>
            <button
              type="button"
              className="secondary"
              disabled={busy}
              onClick={() => showConfirmation(false)}
            >
              Cancel
            </button>
          </div>
        </div>
      ) : (
        <button
          ref={leaveButton}
          type="button"
          className="secondary"
          onClick={() => {
            setRefusal(null);
            showConfirmation(true);
          }}
        >
          Leave this account
        </button>
      )}
      {refusal && <Notice kind={refusal.kind}>{refusal.text}</Notice>}
    </div>
  );
}
