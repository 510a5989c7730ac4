import { alertTitle } from '../alerts';
import { useAlerts } from '../hooks/alertFeed';
import { timeOf } from '../operations';

/**
 * The alerts that fired, on top of whatever view is shown, until dismissed: each is read out at
 * once (role="alert"); the newest is on top and only the last few are kept.
 */
export function AlertToasts() {
  const { shown, dismiss } = useAlerts();
  if (shown.length === 0) return null;
  return (
    <section className="toasts" aria-label="New alerts">
      {shown.map(({ key, alert }) => (
        <div key={key} className="toast" role="alert" data-kind={alert.kind}>
          <div className="toast-heading">
            <strong>{alertTitle(alert.kind)}</strong>
            <time dateTime={alert.at}>{timeOf(alert.at)}</time>
          </div>
          <p data-testid="alert-message">{alert.message}</p>
          <p>
            Account <span className="iban">{alert.iban}</span>
          </p>
          <button
            type="button"
            className="secondary"
            aria-label={`Dismiss alert: ${alertTitle(alert.kind)} on ${alert.iban}`}
            onClick={() => dismiss(key)}
          >
            Dismiss
          </button>
        </div>
      ))}
    </section>
  );
}
