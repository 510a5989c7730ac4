import { useCallback, useEffect, useState } from 'react';
import { currentNotificationState, type NotificationState } from '../notifications';

export interface NotificationPermissionControl {
  state: NotificationState;
  /** Asks the browser for permission; only while it has not been given or refused. */
  request: () => Promise<void>;
}

/**
 * Whether this browser may show notifications, followed when the user changes it in the site
 * settings (where the Permissions API tells) or comes back to the tab.
 */
export function useNotificationPermission(): NotificationPermissionControl {
  const [state, setState] = useState(currentNotificationState);

  useEffect(() => {
    const check = () => setState(currentNotificationState());
    window.addEventListener('focus', check);
    let status: PermissionStatus | null = null;
    let stopped = false;
    navigator.permissions
      ?.query({ name: 'notifications' })
      .then((found) => {
        if (stopped) return;
        status = found;
        status.addEventListener('change', check);
      })
      .catch(() => {
        // Browsers without this permission name: the focus check still applies.
      });
    return () => {
      stopped = true;
      window.removeEventListener('focus', check);
      status?.removeEventListener('change', check);
    };
  }, []);

  const request = useCallback(async () => {
    if (currentNotificationState() !== 'default') return;
    try {
      await window.Notification.requestPermission();
    } catch {
      // An old browser that only takes a callback; the permission is read below either way.
    }
    setState(currentNotificationState());
  }, []);

  return { state, request };
}
