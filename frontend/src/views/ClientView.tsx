import { useCallback, useId, useState, type FormEvent } from 'react';
import { Notice } from '../components/Notice';
import { TextField } from '../components/TextField';
import { TransactionsPanel } from '../components/TransactionsPanel';
import { describeError } from '../api/errors';
import { GET_ACCOUNT } from '../api/operations';
import { credentialProblems, MIN_CREDENTIAL_CHARS } from '../credentials';
import { useApi } from '../hooks/api';
import { useLiveTransactions } from '../hooks/liveTransactions';
import { useMoneyTransfer } from '../hooks/moneyTransfer';
import { usePreferences } from '../hooks/preferences';
import { newTransferId } from '../ids';
import { formatCents, parseEuros } from '../money';
import { parseSession, SESSION_KEY, type Session } from '../session';
import { balanceOf } from '../transactions';

const DEPOSITS_IN_CENTS = [1_000, 10_000, 100_000];

function useSession(): [Session | null, (session: Session | null) => void] {
  const [session, setSession] = useState(() => parseSession(sessionStorage.getItem(SESSION_KEY)));
  const save = useCallback((next: Session | null) => {
    if (next === null) sessionStorage.removeItem(SESSION_KEY);
    else sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
    setSession(next);
  }, []);
  return [session, save];
}

export function ClientView() {
  const [session, setSession] = useSession();
  return (
    <>
      <h1 tabIndex={-1}>Client</h1>
      {session ? (
        <Account session={session} onLogout={() => setSession(null)} />
      ) : (
        <LoginForm onLogin={setSession} />
      )}
    </>
  );
}

function LoginForm({ onLogin }: { onLogin: (session: Session) => void }) {
  const { client, endpoint } = useApi();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const id = useId();

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
      onLogin({ username, token: account.token, iban: account.iban });
    } else {
      setProblems([account?.reason ?? 'the endpoint gave no answer']);
    }
  }

  return (
    <form className="panel form" onSubmit={logIn} aria-labelledby={`${id}-title`} noValidate>
      <h2 id={`${id}-title`}>Log in</h2>
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

function Account({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const { preferences } = usePreferences();
  const live = useLiveTransactions(session.iban, preferences.count);
  return (
    <>
      <section className="panel account" aria-labelledby="account-title">
        <div className="panel-heading">
          <h2 id="account-title">Your account</h2>
          <button type="button" className="secondary" onClick={onLogout}>
            Log out
          </button>
        </div>
        <dl className="facts">
          <dt>Logged in as</dt>
          <dd data-testid="username">{session.username}</dd>
          <dt>IBAN</dt>
          <dd className="iban" data-testid="own-iban">
            {session.iban}
          </dd>
          <dt>Balance</dt>
          <dd className="balance" data-testid="balance" aria-live="polite">
            {live.loading ? '…' : balanceOf(live.transactions)}
          </dd>
        </dl>
      </section>
      <Deposits session={session} />
      <TransferForm session={session} />
      <TransactionsPanel title="Your transactions" iban={session.iban} live={live} />
    </>
  );
}

type Outcome = { kind: 'success' | 'error'; text: string } | null;

function Deposits({ session }: { session: Session }) {
  const send = useMoneyTransfer();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);

  async function deposit(cents: number) {
    setBusy(true);
    setOutcome(null);
    const answer = await send({
      uuid: newTransferId(),
      username: session.username,
      token: session.token,
      amount: cents,
      from: 'cash',
      to: session.iban,
      descr: 'deposit',
    });
    setBusy(false);
    setOutcome(
      answer.kind === 'done'
        ? { kind: 'success', text: `${formatCents(cents)} deposited.` }
        : { kind: 'error', text: `Deposit failed: ${answer.reason}` },
    );
  }

  return (
    <section className="panel" aria-labelledby="deposit-title">
      <h2 id="deposit-title">Deposit cash</h2>
      <div className="button-row">
        {DEPOSITS_IN_CENTS.map((cents) => (
          <button key={cents} type="button" disabled={busy} onClick={() => void deposit(cents)}>
            Deposit {formatCents(cents)}
          </button>
        ))}
      </div>
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
    </section>
  );
}

function TransferForm({ session }: { session: Session }) {
  const send = useMoneyTransfer();
  const id = useId();
  const [to, setTo] = useState('');
  const [amount, setAmount] = useState('');
  const [descr, setDescr] = useState('');
  const [busy, setBusy] = useState(false);
  const [amountProblem, setAmountProblem] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  // Kept while the outcome of a try is unknown, so trying again cannot move the money twice.
  const [uuid, setUuid] = useState(() => newTransferId());

  function edit(set: (value: string) => void) {
    return (value: string) => {
      set(value);
      setUuid(newTransferId());
    };
  }

  async function transfer(event: FormEvent) {
    event.preventDefault();
    const parsed = parseEuros(amount);
    setAmountProblem(parsed.ok ? null : parsed.error);
    if (!parsed.ok) return;
    const iban = to.replace(/\s/g, '').toUpperCase();
    setBusy(true);
    setOutcome(null);
    const answer = await send({
      uuid,
      username: session.username,
      token: session.token,
      amount: parsed.cents,
      from: session.iban,
      to: iban,
      descr: descr.trim(),
    });
    setBusy(false);
    if (answer.kind === 'done') {
      setOutcome({ kind: 'success', text: `${formatCents(parsed.cents)} transferred to ${iban}.` });
      setTo('');
      setAmount('');
      setDescr('');
    } else {
      setOutcome({ kind: 'error', text: `Transfer failed: ${answer.reason}` });
    }
    if (answer.kind !== 'unknown') setUuid(newTransferId());
  }

  return (
    <form className="panel form" onSubmit={transfer} aria-labelledby={`${id}-title`} noValidate>
      <h2 id={`${id}-title`}>Transfer money</h2>
      <TextField
        label="To (IBAN)"
        name="to"
        autoComplete="off"
        spellCheck={false}
        placeholder="NL66OPEN0000000000"
        value={to}
        onChange={edit(setTo)}
      />
      <TextField
        label="Amount in euros"
        name="amount"
        inputMode="decimal"
        placeholder="12,50"
        value={amount}
        onChange={edit(setAmount)}
        problem={amountProblem}
      />
      <TextField
        label="Description"
        name="descr"
        maxLength={1000}
        value={descr}
        onChange={edit(setDescr)}
      />
      <button type="submit" disabled={busy}>
        {busy ? 'Transferring…' : 'Transfer'}
      </button>
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
    </form>
  );
}
