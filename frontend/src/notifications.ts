// Browser notifications of alerts (the Notification API): whether the browser can show them and
// the user allowed it, and what one says. The alert is shown on the page in any case.

import { alertKey, alertTitle, type Alert } from './alerts';

/**
 * The browser's permission, or why there is none to ask for: no Notification API at all, or a
 * page not served over HTTPS (nor from localhost), where browsers refuse notifications.
 */
export type NotificationState = 'unsupported' | 'insecure' | 'default' | 'granted' | 'denied';

export function notificationState(
  api: { permission: string } | undefined,
  secureContext: boolean,
): NotificationState {
  if (api === undefined) return 'unsupported';
  if (!secureContext) return 'insecure';
  const { permission } = api;
  return permission === 'granted' || permission === 'denied' ? permission : 'default';
}

/** The permission of this page's browser, read now. */
export function currentNotificationState(): NotificationState {
  const api =
    typeof window !== 'undefined' && 'Notification' in window ? window.Notification : undefined;
  return notificationState(api, typeof window !== 'undefined' && window.isSecureContext);
}

const STATE_TEXT: Record<Exclude<NotificationState, 'default'>, string> = {
  granted: 'Browser notifications are on: alerts also show outside this page.',
  denied:
    'Browser notifications are blocked for this site. Allow them in the browser’s site settings to see alerts outside this page.',
  unsupported: 'This browser cannot show notifications; alerts show on this page only.',
  insecure: 'Browser notifications need the app served over HTTPS; alerts show on this page only.',
};

/** What the user is told about notifications when there is nothing to ask. */
export function describeNotificationState(state: NotificationState): string {
  return state === 'default'
    ? 'Alerts show on this page; the browser can also show them outside it.'
    : STATE_TEXT[state];
}

/**
 * What a notification of `alert` says. The tag is the alert's own, so the same alert seen by
 * several tabs of the app is one notification.
 */
export function notificationContent(alert: Alert): { title: string; body: string; tag: string } {
  return {
    title: `Open Bank: ${alertTitle(alert.kind)}`,
    body: `${alert.message}\n${alert.iban}`,
    tag: alertKey(alert),
  };
}
