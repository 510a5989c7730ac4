import { useNotificationPermission } from '../hooks/notificationPermission';
import { describeNotificationState } from '../notifications';

/** Asks for browser notifications while the browser has not been told; otherwise says how it is. */
export function NotificationSwitch() {
  const { state, request } = useNotificationPermission();
  return (
    <div className="notification-switch">
      {state === 'default' && (
        <button type="button" className="secondary" onClick={() => void request()}>
          Enable browser notifications
        </button>
      )}
      <p className="hint" role="status" data-testid="notification-state">
        {describeNotificationState(state)}
      </p>
    </div>
  );
}
