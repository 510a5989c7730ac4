import { useId, useState, type FormEvent } from 'react';
import {
  ALERT_KINDS,
  kindChoice,
  parseThreshold,
  showsRule,
  takesThreshold,
  type AlertKind,
  type RulesExpectation,
} from '../../alerts';
import { Notice, type Outcome } from '../../components/Notice';
import { TextField } from '../../components/TextField';
import { useAlertCommands } from '../../hooks/alertRules';

interface Props {
  iban: string;
  /** After every answer, so the list is loaded again (until it shows the rule, when set). */
  onSet: (until?: RulesExpectation) => void;
}

function isKind(value: string): value is AlertKind {
  return (ALERT_KINDS as readonly string[]).includes(value);
}

/** Sets one kind of alert; setting a kind that is set already replaces its amount. */
export function AlertRuleForm({ iban, onSet }: Props) {
  const { setAlert } = useAlertCommands();
  const id = useId();
  const [kind, setKind] = useState<AlertKind>('BALANCE_BELOW');
  const [amount, setAmount] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const parsed = parseThreshold(kind, amount);
    setProblem(parsed.ok ? null : parsed.error);
    if (!parsed.ok) return;
    setBusy(true);
    setOutcome(null);
    const answer = await setAlert(iban, { kind, threshold: parsed.threshold });
    setBusy(false);
    setOutcome(answer);
    if (answer?.kind === 'success') {
      setAmount('');
      onSet(showsRule(kind, parsed.threshold));
    } else {
      onSet();
    }
  }

  return (
    <form className="subform" onSubmit={submit} aria-labelledby={`${id}-title`} noValidate>
      <h3 id={`${id}-title`}>Set an alert</h3>
      <p id={`${id}-hint`} className="hint">
        One alert of each kind per account; setting a kind again replaces its amount.
      </p>
      <div className="form">
        <label htmlFor={`${id}-kind`}>Alert me when</label>
        <select
          id={`${id}-kind`}
          value={kind}
          aria-describedby={`${id}-hint`}
          onChange={(event) => {
            if (isKind(event.target.value)) setKind(event.target.value);
            setProblem(null);
          }}
        >
          {ALERT_KINDS.map((choice) => (
            <option key={choice} value={choice}>
              {kindChoice(choice)}
            </option>
          ))}
        </select>
        {takesThreshold(kind) && (
          <TextField
            label="Threshold in euros"
            name="threshold"
            inputMode="decimal"
            placeholder="100,00"
            value={amount}
            onChange={setAmount}
            problem={problem}
          />
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Setting…' : 'Set alert'}
        </button>
      </div>
      {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
    </form>
  );
}
