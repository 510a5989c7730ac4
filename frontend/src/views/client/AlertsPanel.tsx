import { useState } from 'react';
import { describeRule, lacksRule, type AlertRule } from '../../alerts';
import { Notice, type Outcome } from '../../components/Notice';
import { NotificationSwitch } from '../../components/NotificationSwitch';
import { useAlertCommands, useAlertRules } from '../../hooks/alertRules';
import { useAlerts } from '../../hooks/alertFeed';
import { AlertRuleForm } from './AlertRuleForm';

/** The alert rules of the selected account: which are set, setting one, removing one. */
export function AlertsPanel({ iban }: { iban: string }) {
  const { rules, error, reload } = useAlertRules(iban);
  const { removeAlert } = useAlertCommands();
  const { problems } = useAlerts();
  const [removing, setRemoving] = useState<string | null>(null);
  const [removed, setRemoved] = useState<Outcome>(null);

  async function remove(rule: AlertRule) {
    setRemoving(rule.kind);
    setRemoved(null);
    const outcome = await removeAlert(iban, rule);
    setRemoving(null);
    setRemoved(outcome);
    reload(outcome?.kind === 'success' ? lacksRule(rule.kind) : undefined);
  }

  const problem = problems.get(iban);
  return (
    <section className="panel" aria-labelledby="alerts-title">
      <h2 id="alerts-title">Alerts</h2>
      <p className="hint">
        Be told at once when something happens on <span className="iban">{iban}</span>: on every
        view of this app while you are logged in, and as a browser notification when you allow them.
      </p>
      <NotificationSwitch />
      {problem && <Notice kind="error">{problem}</Notice>}
      {error && <Notice kind="error">{error}</Notice>}
      {rules === null ? (
        !error && <p className="empty">Loading your alerts…</p>
      ) : rules.length === 0 ? (
        <p className="empty">No alerts set on this account.</p>
      ) : (
        <ul className="rules" aria-label="Alerts set on this account">
          {rules.map((rule) => {
            const text = describeRule(rule);
            return (
              <li key={rule.kind} data-kind={rule.kind}>
                <span>{text}</span>
                <button
                  type="button"
                  className="secondary"
                  disabled={removing === rule.kind}
                  aria-label={`Remove alert: ${text}`}
                  onClick={() => void remove(rule)}
                >
                  {removing === rule.kind ? 'Removing…' : 'Remove'}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {removed && <Notice kind={removed.kind}>{removed.text}</Notice>}
      <AlertRuleForm
        iban={iban}
        onSet={(until) => {
          setRemoved(null);
          reload(until);
        }}
      />
    </section>
  );
}
